"""End to end: robot node (sim, lockstep) and policy node as real processes over ZeroMQ."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import zmq

from robot import transport, wire
from robot.launcher import Launch, LaunchSpec, NodeSpec


def _spec(endpoints: dict[str, str], episodes: int | None, grace_s: float = 0.5) -> LaunchSpec:
    robot = {"backend": "sim", "backend_args": {"task": "PickPlace", "image_size": 32},
             "mode": "lockstep", "episodes": episodes, "seed": 7, "watchdog_period_s": 0.1, **endpoints}
    policy = {"policy": "expert:PickPlace", **endpoints}
    return LaunchSpec("e2e", [NodeSpec("robot", "robot", robot, exit_when_done=True),
                              NodeSpec("policy", "policy", policy)], shutdown_grace_s=grace_s)


def _subscriber(endpoint: str) -> tuple[zmq.Context, zmq.Socket]:
    ctx = zmq.Context()
    sub = transport.open_socket(ctx, zmq.SUB, endpoint, bind=False)
    for topic in (b"obs", b"episode", b"status"):
        sub.setsockopt(zmq.SUBSCRIBE, topic)
    return ctx, sub


def test_demo_episodes_complete_and_launch_exits_cleanly(endpoints) -> None:
    out = io.StringIO()
    launch = Launch(_spec(endpoints, episodes=2), out=out).start()
    try:
        code = launch.wait()
    finally:
        launch.stop()
    text = out.getvalue()
    assert code == 0, text
    assert text.count("[robot] episode ") == 2, text
    assert "[robot] summary: success" in text and "latency p50" in text, text
    assert all(p.poll() is not None for p in launch.procs.values())


def _realtime_mock_spec(endpoints: dict[str, str], grace_s: float) -> LaunchSpec:
    robot = {"backend": "mock", "mode": "realtime", "control_hz": 20, "loop_hz": 250, "cameras": False,
             "watchdog_period_s": 0.1, **endpoints}
    policy = {"policy": "wave", "policy_loader": "tests.bad_policies:make", "mode": "joint_position", **endpoints}
    return LaunchSpec("e2e-rt", [NodeSpec("robot", "robot", robot), NodeSpec("policy", "policy", policy)],
                      shutdown_grace_s=grace_s)


@pytest.mark.parametrize("setup", ["sim_lockstep", "mock_realtime"])
def test_kill_policy_robot_holds_then_launch_stops(endpoints, setup) -> None:
    out = io.StringIO()
    spec = (_spec(endpoints, episodes=None, grace_s=2.0) if setup == "sim_lockstep"
            else _realtime_mock_spec(endpoints, grace_s=1.0))
    launch = Launch(spec, out=out).start()
    ctx, sub = _subscriber(endpoints["obs_endpoint"])
    result: dict[str, int] = {}
    waiter = threading.Thread(target=lambda: result.setdefault("code", launch.wait()))
    waiter.start()
    rejects = transport.RejectCounter("test")
    try:
        # Complete one episode, then let the next one start moving.
        deadline = time.monotonic() + 120
        episodes_done = 0
        moving_obs = 0
        while time.monotonic() < deadline and moving_obs < 15:
            if not sub.poll(1000):
                continue
            msg = transport.recv(sub, rejects)
            if msg is None:
                continue
            if msg.schema == "episode":
                episodes_done += 1
            elif msg.schema == "observation" and (episodes_done >= 1 or setup == "mock_realtime"):
                moving_obs += 1
        assert moving_obs >= 15, out.getvalue()
        launch.procs["policy"].kill()  # kill -9 mid-motion
        killed_ns = time.time_ns()
        after: list[tuple[int, np.ndarray]] = []
        while launch.procs["robot"].poll() is None and sub.poll(1000):
            msg = transport.recv(sub, rejects)
            if msg is not None and msg.schema == "observation":
                after.append((msg.t_ns, np.array(msg.arrays["joint_positions"])))
        waiter.join(timeout=30)
    finally:
        launch.stop()
        sub.close()
        ctx.term()
    assert result.get("code", 0) != 0, "the launcher must report the killed node"
    assert all(p.poll() is not None for p in launch.procs.values()), "no node may outlive the launch"
    settled = [q for t_ns, q in after if t_ns - killed_ns > 0.1e9]  # after the watchdog period
    assert len(settled) >= 5, f"robot stopped publishing too early: {len(after)} obs after the kill"
    motion = np.abs(np.array(settled) - settled[0]).max()
    assert motion < 0.01, f"joints moved {motion:.4f} rad after the watchdog period"
    assert "watchdog" in out.getvalue(), out.getvalue()


@pytest.mark.parametrize(
    ("kind", "mode", "evidence"),
    [("nan", "ee_delta", "non_finite"), ("huge_joints", "joint_position", "position_limit"),
     ("wrong_shape", "ee_delta", "bad_action_shape")],
)
def test_robot_node_rejects_bad_policies_and_keeps_running(endpoints, kind, mode, evidence) -> None:
    spec = _spec(endpoints, episodes=1)
    spec.nodes[0].params["max_episode_steps"] = 20
    spec.nodes[1].params.update(policy=kind, policy_loader="tests.bad_policies:make", mode=mode)
    out = io.StringIO()
    launch = Launch(spec, out=out).start()
    try:
        code = launch.wait()
    finally:
        launch.stop()
    text = out.getvalue()
    assert code == 0, text
    assert "episode 1/1" in text and "success=False" in text, text
    assert evidence in text, text


def test_robot_node_counts_wrong_version_messages(endpoints) -> None:
    import msgpack

    spec = _spec(endpoints, episodes=1)
    spec.nodes[0].params["max_episode_steps"] = 40
    out = io.StringIO()
    launch = Launch(spec, out=out).start()
    ctx = zmq.Context()
    push = transport.open_socket(ctx, zmq.PUSH, endpoints["cmd_endpoint"], bind=False)
    try:
        frames = [bytes(f) for f in wire.encode(wire.Message(
            "action", {"obs_seq": 1, "mode": "ee_delta"}, {"action": np.zeros(7, np.float32)}))]
        header = msgpack.unpackb(frames[1])
        header["v"] = 2
        frames[1] = msgpack.packb(header)
        for _ in range(10):
            push.send_multipart(frames)
            time.sleep(0.02)
        code = launch.wait()
    finally:
        launch.stop()
        push.close()
        ctx.term()
    text = out.getvalue()
    assert code == 0, text
    assert "version_mismatch" in text and "episode 1/1" in text, text
