"""Fault handling of the robot node (realtime mode, mock backend): every bad command is
rejected and counted, the robot holds, and the node survives restarts and bus failures."""

from __future__ import annotations

import threading
import time

import msgpack
import numpy as np
import pytest
import zmq

from robot import transport, wire
from robot.nodes.policy_node import PolicyNode, PolicyNodeConfig
from robot.nodes.robot_node import RobotNode, RobotNodeConfig


def _node(endpoints: dict[str, str], duration_s: float = 1.5, **overrides) -> RobotNode:
    config = RobotNodeConfig(backend="mock", backend_args={}, mode="realtime", control_hz=20, loop_hz=200,
                             duration_s=duration_s, cameras=False, **endpoints, **overrides)
    return RobotNode(config)


class FakePolicy:
    """A policy end played by the test with raw sockets, so it can send anything."""

    def __init__(self, endpoints: dict[str, str]) -> None:
        self.ctx = zmq.Context()
        self.sub = transport.open_socket(self.ctx, zmq.SUB, endpoints["obs_endpoint"], bind=False)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"obs")
        self.push = transport.open_socket(self.ctx, zmq.PUSH, endpoints["cmd_endpoint"], bind=False)
        self.rejects = transport.RejectCounter("fake")

    def next_obs(self, timeout_s: float = 5.0) -> wire.Message:
        """The newest observation (older queued ones are skipped, as the policy node does)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sub.poll(100):
                msg = transport.recv(self.sub, self.rejects)
                while self.sub.poll(0):
                    msg = transport.recv(self.sub, self.rejects) or msg
                if msg is not None:
                    return msg
        raise TimeoutError("no observation from the robot node")

    def send(self, action: np.ndarray, obs_seq: int, mode: str = "joint_position", t_ns: int = 0,
             version: int | None = None) -> None:
        frames = [bytes(f) for f in wire.encode(wire.Message(
            "action", {"obs_seq": obs_seq, "mode": mode}, {"action": np.asarray(action, np.float32)}, t_ns=t_ns))]
        if version is not None:
            header = msgpack.unpackb(frames[1])
            header["v"] = version
            frames[1] = msgpack.packb(header)
        self.push.send_multipart(frames)

    def close(self) -> None:
        self.sub.close()
        self.push.close()
        self.ctx.term()


def _run_in_thread(node: RobotNode) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", node.run()), daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("fault", ["nan", "out_of_limits", "stale", "out_of_order", "version"])
def test_bad_commands_are_rejected_counted_and_robot_holds(endpoints, fault) -> None:
    node = _node(endpoints, duration_s=1.5)
    policy = FakePolicy(endpoints)
    thread, result = _run_in_thread(node)
    try:
        obs = policy.next_obs()
        start = np.array(obs.arrays["joint_positions"], dtype=np.float64)
        good = np.append(start + 0.05, -1.0)  # a small valid joint move, gripper open
        policy.send(good, obs.seq)
        time.sleep(0.3)
        seen = []
        for _ in range(10):
            obs = policy.next_obs()
            seen.append(np.array(obs.arrays["joint_positions"]))
            bad = {
                "nan": lambda o: policy.send(np.full(7, np.nan), o.seq),
                "out_of_limits": lambda o: policy.send(np.append(np.full(6, 1e6), -1.0), o.seq),
                "stale": lambda o: policy.send(good + 0.3, o.seq, t_ns=time.time_ns() - 10**9),
                "out_of_order": lambda o: policy.send(good + 0.3, 1),
                "version": lambda o: policy.send(good + 0.3, o.seq, version=99),
            }[fault]
            bad(obs)
        thread.join(timeout=10)
    finally:
        policy.close()
    assert result.get("code") == 0
    stats = node.stats()
    evidence = {"nan": stats["safety"].get("non_finite", 0),
                "out_of_limits": stats["safety"].get("position_limit", 0),
                "stale": stats["commands"].get("stale", 0),
                "out_of_order": stats["commands"].get("out_of_order", 0),
                "version": stats["rejected"].get("version_mismatch", 0)}[fault]
    assert evidence >= 5, stats
    if fault != "out_of_limits":  # bad commands never move the robot: it held after the last good one
        assert stats["safety"].get("watchdog", 0) >= 1, stats
        final = node.robot.read().joint_positions
        assert np.all(final <= good[:-1] + 1e-6), "the robot moved toward a rejected target"
        np.testing.assert_allclose(seen[-1], final, atol=1e-3, err_msg="the robot did not hold still")
    else:  # clamped into the limits and rate-limited, never beyond
        assert np.all(node.robot.read().joint_positions <= node.robot.limits.upper + 1e-9)


def test_policy_node_reconnects_after_robot_node_restart(endpoints) -> None:
    policy = PolicyNode(PolicyNodeConfig(policy="zero:7", **endpoints))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            policy.step(50)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        for _ in range(2):  # the second robot node binds the same ports; nobody restarts the policy
            node = _node(endpoints, duration_s=1.5)
            assert node.run() == 0
            assert node.latency.summary_ms()["n"] >= 10, node.stats()
    finally:
        stop.set()
        server.join(timeout=5)


def test_bus_failure_faults_holds_and_exits_nonzero(endpoints) -> None:
    node = _node(endpoints, duration_s=5.0)
    thread, result = _run_in_thread(node)
    time.sleep(0.5)
    node.robot.inject_fault("bus stopped answering (test)")
    thread.join(timeout=5)
    assert result.get("code") == 2
    assert "bus stopped answering" in node.stats()["fault"]
    assert node.safety.estopped


def test_estop_message_latches_until_explicit_reset(endpoints) -> None:
    from robot.estop import send_estop

    node = _node(endpoints, duration_s=2.0)
    policy = FakePolicy(endpoints)
    thread, _ = _run_in_thread(node)
    try:
        policy.next_obs()
        send_estop(endpoints["cmd_endpoint"], engage=True, reason="operator test")
        held = None
        for _ in range(8):  # valid commands keep coming, the robot stays held
            obs = policy.next_obs()
            q = np.array(obs.arrays["joint_positions"], dtype=np.float64)
            held = q if held is None else held
            policy.send(np.append(q + 0.2, -1.0), obs.seq)
        assert node.safety.estopped
        np.testing.assert_allclose(node.robot.read().joint_positions, held, atol=1e-3)
        send_estop(endpoints["cmd_endpoint"], engage=False, reason="operator reset")
        time.sleep(0.2)
        assert not node.safety.estopped
        thread.join(timeout=5)
    finally:
        policy.close()
