"""The "launch" backend: episodes played by the robot and policy nodes of a launch file.

`robocell eval --via-launch launch/eval.yaml` checks a policy exactly as deployed:
lockstep simulation behind the robot node's safety filter and watchdog, the
policy in its own process, every observation and action over ZeroMQ. For each
(task, robot) and each contiguous run of seeds still to do, the launch file's
nodes are started with these parameters set (everything else is the file's):

    robot node:  backend_args.task, backend_args.robot, seed, episodes, obs/cmd endpoints
    policy node: policy, obs/cmd endpoints (and policy_loader when --plugin is given)

The endpoints are private ``ipc://`` sockets, so campaigns never collide on ports.
This process subscribes to the robot node's PUB socket and turns each ``episode``
message (wire schema ``episode``; the node numbers seeds ``seed + episode`` as
`run.episode_seed` does) into a record. Compared with rollout records:

* ``policy_calls`` and the policy's compute latency and CPU time are None: the nodes
  do not report them per episode. ``timing.obs_to_action_ms`` holds instead the
  robot node's running observation-to-action latency (transport + compute) from its
  latest ``status`` message;
* ``safety_by_kind`` is the change in the robot node's safety counters over the episode;
* ``sim_time_s`` is steps / control_hz (lockstep);
* videos are the ``scene_rgb`` of the observations the robot node published.
"""

from __future__ import annotations

import collections
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from policies.evaluation.rollout import EpisodeJob, EpisodeResult, encode_video, video_name

log = logging.getLogger(__name__)

PLUGINS_ENV = "ROBOCELL_EVAL_PLUGINS"
ATTEMPTS = 3  # launches per run of seeds before giving up on episodes whose message never came
DRAIN_S = 1.0  # after the robot node exits, keep reading this long for its last messages


def load_policy_with_plugins(spec: str) -> Any:
    """A policy-node `policy_loader` that imports the campaign's --plugin modules first."""
    import importlib

    from policies.registry import load_policy

    for module in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
        importlib.import_module(module)
    return load_policy(spec)


def run_launch_episodes(jobs: Sequence[EpisodeJob], launch_file: Path, log_dir: Path | None) -> Iterator[EpisodeResult]:
    """Yield a result per job, launching the nodes once per contiguous run of seeds (retrying lost ones)."""
    from robot.launcher import load_launch_file

    load_launch_file(launch_file)  # fail early on a bad file
    by_target: dict[tuple[str, str, str], list[EpisodeJob]] = collections.defaultdict(list)
    for job in jobs:
        by_target[(job.task, job.robot, job.policy)].append(job)
    for target_jobs in by_target.values():
        for run in _contiguous_runs(sorted(target_jobs, key=lambda j: j.seed)):
            remaining = {job.seed: job for job in run}
            for _attempt in range(ATTEMPTS):
                if not remaining:
                    break
                first, last = min(remaining), max(remaining)
                for result in _launch_once(launch_file, remaining, first, last - first + 1, log_dir):
                    del remaining[result.record["seed"]]
                    yield result
            if remaining:
                raise RuntimeError(f"via {launch_file}: no episode message for seeds {sorted(remaining)} "
                                   f"after {ATTEMPTS} launches; see {log_dir}/launch.log")


def _contiguous_runs(jobs: list[EpisodeJob]) -> list[list[EpisodeJob]]:
    runs: list[list[EpisodeJob]] = []
    for job in jobs:
        if runs and job.seed == runs[-1][-1].seed + 1:
            runs[-1].append(job)
        else:
            runs.append([job])
    return runs


def _launch_once(launch_file: Path, wanted: dict[int, EpisodeJob], first_seed: int, episodes: int,
                 log_dir: Path | None) -> Iterator[EpisodeResult]:
    import zmq

    from robot import transport
    from robot.launcher import Launch, load_launch_file

    job = next(iter(wanted.values()))
    spec = load_launch_file(launch_file)
    robot_node, policy_node = _node(spec, "robot", launch_file), _node(spec, "policy", launch_file)
    control_hz = float(robot_node.params.get("control_hz", 20.0))
    with tempfile.TemporaryDirectory(prefix="rc-eval-") as sockets:
        endpoints = {"obs_endpoint": f"ipc://{sockets}/obs", "cmd_endpoint": f"ipc://{sockets}/cmd"}
        robot_node.params.update(endpoints, seed=first_seed, episodes=episodes)
        robot_node.params["backend_args"] = {**robot_node.params.get("backend_args", {}),
                                             "task": job.task, "robot": job.robot}
        robot_node.exit_when_done = True
        policy_node.params.update(endpoints, policy=job.policy)
        if job.plugins:
            policy_node.params["policy_loader"] = f"{__name__}:load_policy_with_plugins"
        videos = {seed for seed, j in wanted.items() if j.record_video}
        context = zmq.Context()
        sub = transport.open_socket(context, zmq.SUB, endpoints["obs_endpoint"], bind=False)
        for topic in (b"episode", b"status", *([b"obs"] if videos else [])):
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        log_file = open(Path(log_dir or ".") / "launch.log", "a", buffering=1)  # noqa: SIM115 - closed below
        launch = _start(Launch(spec, out=log_file), job.plugins)
        rejects = transport.RejectCounter("eval")
        safety_before: dict[str, int] = {}
        latency: dict[str, float] = {}
        frames: dict[int, dict[int, np.ndarray]] = collections.defaultdict(dict)
        robot_exited_at: float | None = None
        try:
            while robot_exited_at is None or time.monotonic() - robot_exited_at < DRAIN_S:
                if robot_exited_at is None:
                    _raise_if_a_node_failed(launch, launch_file, log_dir)
                    if launch.procs[robot_node.name].poll() == 0:
                        robot_exited_at = time.monotonic()
                if not sub.poll(50):
                    continue
                msg = transport.recv(sub, rejects)
                if msg is None:
                    continue
                if msg.schema == "status":
                    latency = msg.meta["stats"].get("latency_ms", latency)
                elif msg.schema == "observation" and first_seed + msg.meta["episode"] in videos:
                    if "scene_rgb" in msg.arrays:
                        frames[first_seed + msg.meta["episode"]][msg.seq] = np.array(msg.arrays["scene_rgb"])
                elif msg.schema == "episode":
                    safety = {str(k): int(v) for k, v in msg.meta.get("safety", {}).items()}
                    seed = int(msg.meta.get("seed", first_seed + msg.meta["episode"]))
                    if seed in wanted:
                        recorded = frames.pop(seed, {})
                        shots = [recorded[k] for k in sorted(recorded)]
                        episode_latency = msg.meta.get("latency_ms") or latency  # per episode when sent
                        yield _result(wanted[seed], msg.meta, safety, safety_before, episode_latency, control_hz,
                                      shots)
                    safety_before = safety
        finally:
            launch.stop()
            sub.close(linger=0)
            context.term()
            log_file.close()
            if rejects.total:
                log.warning("via launch: %d malformed message(s) ignored: %s", rejects.total, rejects.counts)


def _start(launch: Any, plugins: tuple[str, ...]) -> Any:
    """Start the nodes; the policy node finds the --plugin modules in its environment."""
    previous = os.environ.get(PLUGINS_ENV)
    os.environ[PLUGINS_ENV] = ",".join(plugins)
    try:
        return launch.start()
    finally:
        if previous is None:
            os.environ.pop(PLUGINS_ENV, None)
        else:
            os.environ[PLUGINS_ENV] = previous


def _raise_if_a_node_failed(launch: Any, launch_file: Path, log_dir: Path | None) -> None:
    for name, proc in launch.procs.items():
        code = proc.poll()
        if code not in (None, 0):
            raise RuntimeError(f"via {launch_file}: node {name!r} exited with {code}; "
                               f"see {Path(log_dir or '.') / 'launch.log'}")


def _node(spec: Any, kind: str, launch_file: Path) -> Any:
    nodes = [n for n in spec.nodes if n.kind == kind]
    if len(nodes) != 1:
        raise ValueError(f"{launch_file}: expected exactly one node of kind {kind!r}, found {len(nodes)}")
    return nodes[0]


def _result(job: EpisodeJob, meta: dict[str, Any], safety: dict[str, int], before: dict[str, int],
            latency: dict[str, float], control_hz: float, frames: list[np.ndarray]) -> EpisodeResult:
    by_kind = {k: v - before.get(k, 0) for k, v in sorted(safety.items()) if v - before.get(k, 0)}
    steps = int(meta["steps"])
    video = encode_video(frames, job.video_format, job.video_fps) if job.record_video and frames else None
    record = {
        "task": job.task,
        "robot": job.robot,
        "seed": job.seed,
        "index": job.index,
        "instruction": str(meta["instruction"]),
        "success": bool(meta["success"]),
        "steps": steps,
        "sim_time_s": round(steps / control_hz, 9),
        "safety_interventions": sum(by_kind.values()),
        "safety_by_kind": by_kind,
        "policy_calls": steps,  # lockstep: one policy answer per control step
        "video": video_name(job) if video is not None else None,
        "timing": {
            "wall_s": round(float(meta.get("wall_s", 0.0)), 6),
            "policy_ms_p50": _finite(meta.get("policy_compute_ms", {}).get("p50")),
            "policy_ms_p99": _finite(meta.get("policy_compute_ms", {}).get("p99")),
            "policy_cpu_ms": _finite(meta.get("policy_cpu_ms")),
            "policy_ms_hist": [],
            "obs_to_action_ms": {k: _finite(latency.get(k)) for k in ("p50", "p99")},
        },
    }
    return EpisodeResult(record, video)


def _finite(value: float | None) -> float | None:
    return None if value is None or value != value else round(float(value), 4)
