"""One evaluation episode, run inside a worker (a pool process, a Ray task, or in-process).

The environment and the policy are built inside the worker on first use and kept
for the worker's later episodes: a simulator never crosses a process boundary.
A result carries only plain data (a JSON-ready record and, for chosen episodes,
encoded video bytes), so any backend can ship it back.

Environment contract (what `sim/` provides): ``gym.make(env_id, robot=...)``;
``reset(seed=...)`` fully determines the episode; observations are dicts with
``instruction`` and ``scene_rgb``; ``info["success"]`` at the last step is the
outcome; ``info["safety_interventions"]`` is the list of the safety filter's
interventions in that step (their kinds), summed over the episode (a mapping
``{kind: count}`` is taken as the episode's running total instead); simulated time
is ``info["sim_time"]`` if given, else steps x ``env.unwrapped.control_period_s``
(or ``.dt``).
"""

from __future__ import annotations

import collections
import importlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.evaluation.stats import latency_bin, percentile

# Used only when neither the job nor the env's TimeLimit bounds an episode.
FALLBACK_MAX_STEPS = 1000


@dataclass(frozen=True)
class EpisodeJob:
    """Everything a worker needs to run one episode; small and picklable."""

    task: str
    robot: str
    seed: int
    index: int  # the episode's index within its task; the seed derives from it
    policy: str
    plugins: tuple[str, ...] = ()
    record_video: bool = False
    video_format: str = "gif"
    video_fps: int = 10
    max_steps: int | None = None


@dataclass
class EpisodeResult:
    record: dict[str, Any]
    video: bytes | None = None


def env_id(task: str) -> str:
    """"PickPlace" -> "robocell/PickPlace-v0"; a full gymnasium id ("ns/Name-v1") passes through."""
    return task if "/" in task or "-v" in task else f"robocell/{task}-v0"


_ENVS: dict[tuple[str, str], Any] = {}
_POLICIES: dict[str, Any] = {}


def rollout_episode(job: EpisodeJob) -> EpisodeResult:
    """Run one episode of `job` and return its record (see `policies.evaluation` for the fields)."""
    for module in job.plugins:
        importlib.import_module(module)
    env = _env(job.task, job.robot)
    policy = _policy(job.policy)
    started, started_cpu = time.perf_counter(), time.process_time()
    observation, info = env.reset(seed=job.seed)
    instruction = str(observation["instruction"])
    policy.reset(instruction)
    frames = [_scene_frame(observation)] if job.record_video else []
    limit = job.max_steps or getattr(env.spec, "max_episode_steps", None) or FALLBACK_MAX_STEPS
    pending: collections.deque[np.ndarray] = collections.deque()
    safety: collections.Counter[str] = collections.Counter()
    wall_ms: list[float] = []
    cpu_ns = 0
    steps = 0
    while steps < limit:
        if not pending:  # a chunk (T, 7) plays one row per step, as the robot node does
            cpu0, wall0 = time.process_time_ns(), time.perf_counter_ns()
            action = np.asarray(policy.act(observation), dtype=np.float32)
            wall_ms.append((time.perf_counter_ns() - wall0) / 1e6)
            cpu_ns += time.process_time_ns() - cpu0
            pending.extend(action if action.ndim == 2 else [action])
        observation, _reward, terminated, truncated, info = env.step(pending.popleft())
        steps += 1
        _count_interventions(safety, info)
        if job.record_video:
            frames.append(_scene_frame(observation))
        if terminated or truncated:
            break
    record = {
        "task": job.task,
        "robot": job.robot,
        "seed": job.seed,
        "index": job.index,
        "instruction": instruction,
        "success": bool(info.get("success", False)),
        "steps": steps,
        "sim_time_s": _sim_time(env, info, steps),
        "safety_interventions": sum(safety.values()),
        "safety_by_kind": dict(sorted(safety.items())),
        "policy_calls": len(wall_ms),
        "video": video_name(job) if job.record_video else None,
        "timing": {
            "wall_s": round(time.perf_counter() - started, 6),
            "cpu_s": round(time.process_time() - started_cpu, 6),  # the whole episode: simulator + policy
            "policy_ms_p50": _rounded(percentile(wall_ms, 50)),
            "policy_ms_p99": _rounded(percentile(wall_ms, 99)),
            "policy_cpu_ms": round(cpu_ns / 1e6, 6),
            "policy_ms_hist": _sparse_histogram(wall_ms),
        },
    }
    video = encode_video(frames, job.video_format, job.video_fps) if job.record_video else None
    return EpisodeResult(record, video)


def close_workers_state() -> None:
    """Close the simulators and drop the policies this process cached (after an in-process run)."""
    for env in _ENVS.values():
        env.close()
    _ENVS.clear()
    _POLICIES.clear()


def video_name(job: EpisodeJob) -> str:
    safe_task = job.task.replace("/", "_").replace(":", "_")
    return f"videos/{safe_task}_{job.robot}_seed{job.seed}.{job.video_format}"


def encode_video(frames: list[np.ndarray], video_format: str, fps: int) -> bytes:
    """Encode HxWx3 uint8 frames as GIF (Pillow) or MP4 (imageio-ffmpeg) bytes."""
    import imageio.v3 as iio

    if not frames:
        raise ValueError("no frames to encode: the observation has no 'scene_rgb' camera image")
    stack = np.stack(frames)
    if video_format == "gif":
        return iio.imwrite("<bytes>", stack, extension=".gif", duration=1000.0 / fps, loop=0)
    if video_format == "mp4":
        # H.264 needs even sizes; pad by one pixel rather than resample.
        pad_h, pad_w = stack.shape[1] % 2, stack.shape[2] % 2
        stack = np.pad(stack, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return _mp4_with_ffmpeg(stack, fps)
    raise ValueError(f"video format {video_format!r}, expected 'gif' or 'mp4'")


def _mp4_with_ffmpeg(stack: np.ndarray, fps: int) -> bytes:
    import os
    import tempfile

    import imageio.v2 as imageio

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "episode.mp4")
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
            for frame in stack:
                writer.append_data(frame)
        with open(path, "rb") as f:
            return f.read()


def _env(task: str, robot: str) -> Any:
    key = (task, robot)
    if key not in _ENVS:
        import gymnasium as gym

        name = env_id(task)
        if name.startswith("robocell/"):
            importlib.import_module("sim")  # registers the robocell/* environments
        _ENVS[key] = gym.make(name, robot=robot)
    return _ENVS[key]


def _policy(spec: str) -> Any:
    if spec not in _POLICIES:
        from policies.registry import load_policy

        _POLICIES[spec] = load_policy(spec)
    return _POLICIES[spec]


def _scene_frame(observation: Mapping[str, Any]) -> np.ndarray:
    if "scene_rgb" not in observation:
        raise KeyError("recording video needs observation['scene_rgb'] (the scene camera)")
    return np.array(observation["scene_rgb"], dtype=np.uint8, copy=True)


def _count_interventions(counts: collections.Counter[str], info: Mapping[str, Any]) -> None:
    value = info.get("safety_interventions")
    if isinstance(value, Mapping):  # a running total for the episode: the latest one wins
        counts.clear()
        counts.update({str(k): int(v) for k, v in value.items() if int(v)})
    elif isinstance(value, (list, tuple)):  # this step's interventions, by kind
        counts.update(str(kind) for kind in value)
    elif value:
        counts["unspecified"] += int(value)


def _sim_time(env: Any, info: Mapping[str, Any], steps: int) -> float | None:
    if "sim_time" in info:
        return round(float(info["sim_time"]), 9)
    dt = getattr(env.unwrapped, "control_period_s", None) or getattr(env.unwrapped, "dt", None)
    return round(steps * float(dt), 9) if isinstance(dt, (int, float)) and math.isfinite(dt) else None


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def _sparse_histogram(wall_ms: list[float]) -> list[list[int]]:
    counts = collections.Counter(latency_bin(ms) for ms in wall_ms)
    return [[b, c] for b, c in sorted(counts.items())]
