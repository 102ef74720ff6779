"""Episodes on disk in the robomimic / LIBERO HDF5 layout, written so a crash never corrupts them.

One episode per file, `episodes/ep_<seed>.hdf5`, itself a complete robomimic file:

    data                      attrs: env_args (JSON), total, task
    data/demo_0               attrs: num_samples, instruction, seed, task, success, teacher, driver, beta
    data/demo_0/obs/<key>     scene_rgb, wrist_rgb (N,H,W,3) uint8; proprio, joint_positions, privileged float32
    data/demo_0/actions       (N, 7) float32: the TEACHER's action at every visited state (the label)
    data/demo_0/executed_actions  (N, 7) what was actually executed (differs under DAgger mixing)
    data/demo_0/rewards, dones    (N,)

Crash safety: a file is written under a temporary name, flushed, fsynced and atomically
renamed, so a reader sees either a whole episode or nothing; killing a writer loses at most
the episode in progress. `dataset.hdf5` beside `episodes/` is a merged view (`data/demo_N`
are external links into the episode files) rebuilt from whatever episodes exist, so it can
always be regenerated (`build_index`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

EPISODE_DIR = "episodes"
INDEX_FILE = "dataset.hdf5"
IMAGE_KEYS = ("scene_rgb", "wrist_rgb")


@dataclass
class Episode:
    """One recorded episode. `obs` maps observation keys to stacked (N, ...) arrays."""

    task: str
    seed: int
    instruction: str
    obs: dict[str, np.ndarray]
    actions: np.ndarray
    executed_actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    success: bool
    attrs: dict = field(default_factory=dict)  # teacher, driver, beta, env_args ...

    @property
    def num_samples(self) -> int:
        return int(len(self.actions))


def episode_path(root: Path, seed: int) -> Path:
    return root / EPISODE_DIR / f"ep_{seed:07d}.hdf5"


def write_episode(root: Path, episode: Episode) -> Path:
    """Write `episode` atomically to `episode_path(root, seed)`; returns the final path."""
    final = episode_path(root, episode.seed)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            data = f.create_group("data")
            env_args = episode.attrs.get("env_args", {"env_name": episode.task, "type": "gymnasium"})
            data.attrs["env_args"] = json.dumps(env_args)
            data.attrs["total"] = episode.num_samples
            data.attrs["task"] = episode.task
            demo = data.create_group("demo_0")
            demo.attrs.update(
                num_samples=episode.num_samples,
                instruction=episode.instruction,
                seed=episode.seed,
                task=episode.task,
                success=bool(episode.success),
            )
            for key, value in episode.attrs.items():
                if key != "env_args":
                    demo.attrs[key] = (
                        value if isinstance(value, (int, float, str, bool)) else json.dumps(value)
                    )
            obs = demo.create_group("obs")
            for key, value in episode.obs.items():
                if key in IMAGE_KEYS:
                    obs.create_dataset(key, data=value, chunks=(1, *value.shape[1:]), compression="lzf")
                else:
                    obs.create_dataset(key, data=value)
            demo.create_dataset("actions", data=episode.actions.astype(np.float32))
            demo.create_dataset("executed_actions", data=episode.executed_actions.astype(np.float32))
            demo.create_dataset("rewards", data=episode.rewards.astype(np.float32))
            demo.create_dataset("dones", data=episode.dones.astype(np.uint8))
            f.flush()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def episode_files(root: Path) -> list[Path]:
    """Finished episode files under `root` (temporary files of interrupted writes are ignored)."""
    return sorted((root / EPISODE_DIR).glob("ep_*.hdf5"))


def remove_stale_temporaries(root: Path) -> int:
    stale = list((root / EPISODE_DIR).glob(".ep_*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def build_index(root: Path) -> Path:
    """(Re)build `root/dataset.hdf5`, the merged robomimic view over all finished episodes."""
    files = episode_files(root)
    index = root / INDEX_FILE
    tmp = root / f".{INDEX_FILE}.{os.getpid()}.tmp"
    total, env_args, tasks = 0, None, set()
    with h5py.File(tmp, "w") as f:
        data = f.create_group("data")
        for n, path in enumerate(files):
            with h5py.File(path, "r") as ep:
                total += int(ep["data/demo_0"].attrs["num_samples"])
                env_args = env_args or ep["data"].attrs["env_args"]
                tasks.add(str(ep["data/demo_0"].attrs["task"]))
            data[f"demo_{n}"] = h5py.ExternalLink(os.path.relpath(path, root), "/data/demo_0")
        data.attrs["total"] = total
        data.attrs["env_args"] = env_args or "{}"
        data.attrs["tasks"] = json.dumps(sorted(tasks))
    os.replace(tmp, index)
    return index


def read_episode(path: Path, keys: Iterable[str] | None = None) -> Episode:
    """Load one episode file; `keys` limits which observation keys are read (None: all)."""
    with h5py.File(path, "r") as f:
        demo = f["data/demo_0"]
        wanted = list(demo["obs"].keys()) if keys is None else [k for k in keys if k in demo["obs"]]
        attrs = dict(demo.attrs)
        return Episode(
            task=str(attrs.pop("task")),
            seed=int(attrs.pop("seed")),
            instruction=str(attrs.pop("instruction")),
            obs={k: demo["obs"][k][()] for k in wanted},
            actions=demo["actions"][()],
            executed_actions=demo["executed_actions"][()],
            rewards=demo["rewards"][()],
            dones=demo["dones"][()],
            success=bool(attrs.pop("success")),
            attrs={
                k: (v.item() if hasattr(v, "item") else v) for k, v in attrs.items() if k != "num_samples"
            },
        )


def dataset_summary(root: Path) -> dict:
    """Episode count, sample count, success rate and size on disk of a dataset directory."""
    files = episode_files(root)
    samples, successes = 0, 0
    for path in files:
        with h5py.File(path, "r") as f:
            samples += int(f["data/demo_0"].attrs["num_samples"])
            successes += bool(f["data/demo_0"].attrs["success"])
    size = sum(p.stat().st_size for p in files)
    return {
        "episodes": len(files),
        "samples": samples,
        "success_rate": successes / max(len(files), 1),
        "megabytes": round(size / 1e6, 2),
    }
