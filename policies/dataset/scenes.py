"""Scenes without episodes: the first frame of many resets, with auxiliary labels and no action labels.

A demonstration costs an episode of simulation per scene; an auxiliary label (where the named parts
are) needs only a reset and a rendered frame, about 25 a second per core for Kitting. The
distilled Kitting students located the named parts in their 1,000 training scenes but not in new
ones (docs/experiments/README.md), so `DistillConfig.grounding_scenes` adds such frames to the
training set: their action mask is zero, so only the auxiliary loss learns from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from policies.dataset.arrays import Samples, resize_nearest
from policies.dataset.collect import cached_env, run_jobs

SEEDS_PER_JOB = 250  # a job's frames travel back in one message: 250 x 2 x 96 x 96 x 3 bytes = 14 MB


@dataclass(frozen=True)
class SceneJob:
    """Render the first frame of each seed in `seeds`; small and picklable."""

    task: str
    seeds: tuple[int, ...]
    cameras: tuple[str, ...]
    image_size: int
    columns: tuple[int, ...]  # auxiliary label: these columns of the privileged state
    env_kwargs: dict[str, Any] = field(default_factory=dict)


def render_scenes(job: SceneJob) -> dict[str, Any]:
    """Reset once per seed and keep what the student sees, with the auxiliary label."""
    env = cached_env(job.task, job.env_kwargs)
    images: dict[str, list[np.ndarray]] = {camera: [] for camera in job.cameras}
    proprio, aux, instructions = [], [], []
    for seed in job.seeds:
        obs, _ = env.reset(seed=seed)
        for camera in job.cameras:
            images[camera].append(obs[camera])
        proprio.append(obs["proprio"])
        aux.append(np.asarray(obs["privileged"], np.float32)[list(job.columns)])
        instructions.append(str(obs["instruction"]))
    return {
        "seeds": job.seeds,
        "images": {c: resize_nearest(np.stack(v), job.image_size) for c, v in images.items()},
        "proprio": np.stack(proprio).astype(np.float32),
        "aux": np.stack(aux),
        "instructions": instructions,
    }


def first_frames(
    task: str,
    seeds: Sequence[int],
    cameras: tuple[str, ...],
    image_size: int,
    columns: Sequence[int],
    chunk: int,
    action_dim: int,
    env_kwargs: dict[str, Any] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> Samples:
    """The first frames of `seeds` as `Samples` whose action mask is zero (auxiliary loss only)."""
    if not seeds:
        raise ValueError("first_frames needs at least one seed")
    seeds = list(seeds)
    jobs = [
        SceneJob(task, tuple(seeds[i : i + SEEDS_PER_JOB]), tuple(cameras), image_size, tuple(columns),
                 dict(env_kwargs or {}))
        for i in range(0, len(seeds), SEEDS_PER_JOB)
    ]  # fmt: skip
    parts: dict[tuple[int, ...], dict[str, Any]] = {}
    bar = tqdm(total=len(seeds), desc=f"scenes {task}", unit="scene", disable=not progress, dynamic_ncols=True)
    for part in run_jobs(jobs, workers, render_scenes):  # in completion order; each names its seeds
        parts[part["seeds"]] = part
        bar.update(len(part["seeds"]))
    bar.close()
    ordered = [parts[job.seeds] for job in jobs]  # seed order, whatever order the workers finished in
    n = len(seeds)
    scene = np.concatenate([p["images"][cameras[0]] for p in ordered])
    wrist = np.concatenate([p["images"][cameras[1]] for p in ordered]) if len(cameras) > 1 else np.zeros_like(scene)
    instructions = [s for p in ordered for s in p["instructions"]]
    names = list(dict.fromkeys(instructions))
    index = {s: i for i, s in enumerate(names)}
    return Samples(
        scene=scene,
        wrist=wrist,
        proprio=np.concatenate([p["proprio"] for p in ordered]),
        instruction_ids=np.array([index[s] for s in instructions], np.int64),
        instructions=names,
        chunks=np.zeros((n, chunk, action_dim), np.float32),
        mask=np.zeros((n, chunk), np.float32),
        episodes=0,
        aux=np.concatenate([p["aux"] for p in ordered]),
    )
