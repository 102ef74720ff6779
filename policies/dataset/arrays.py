"""Episode files -> in-memory training arrays for the student (images stay uint8).

Each sample t of an episode gets the action chunk `actions[t : t + T]` as its label; steps
past the episode's end repeat its last action and are masked out of the loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from policies.dataset.hdf5 import episode_files, read_episode


@dataclass
class Samples:
    scene: np.ndarray  # (N, S, S, 3) uint8
    wrist: np.ndarray  # (N, S, S, 3) uint8 (zeros when the student has one camera)
    proprio: np.ndarray  # (N, P) float32
    instruction_ids: np.ndarray  # (N,) int64 index into `instructions`
    instructions: list[str]
    chunks: np.ndarray  # (N, T, A) float32 teacher labels
    mask: np.ndarray  # (N, T) float32, 0 past the episode end
    episodes: int

    def __len__(self) -> int:
        return len(self.proprio)


def resize_nearest(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) -> (N, size, size, 3) by nearest neighbour (what the runtime does too)."""
    if images.shape[1:3] == (size, size):
        return images
    rows = np.arange(size) * images.shape[1] // size
    cols = np.arange(size) * images.shape[2] // size
    return np.ascontiguousarray(images[:, rows][:, :, cols])


def chunk_labels(actions: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, A) -> ((N, T, A) labels, (N, T) mask)."""
    n = len(actions)
    idx = np.arange(n)[:, None] + np.arange(chunk)[None]
    mask = (idx < n).astype(np.float32)
    return actions[np.minimum(idx, n - 1)], mask


def load_samples(
    roots: Iterable[Path], cameras: tuple[str, ...], image_size: int, chunk: int, only_success: bool = False
) -> Samples:
    """All samples of all episodes under `roots` (each a dataset directory of `robocell collect`)."""
    roots = [Path(r) for r in roots]
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("scene", "wrist", "proprio", "ids", "chunks", "mask")
    }
    instructions: dict[str, int] = {}
    episodes = 0
    for root in roots:
        for path in episode_files(root):
            ep = read_episode(path, keys=(*cameras, "proprio"))
            if (only_success and not ep.success) or ep.num_samples == 0:
                continue
            n = ep.num_samples
            scene = resize_nearest(ep.obs[cameras[0]], image_size)
            wrist = (
                resize_nearest(ep.obs[cameras[1]], image_size) if len(cameras) > 1 else np.zeros_like(scene)
            )
            chunks, mask = chunk_labels(ep.actions, chunk)
            parts["scene"].append(scene)
            parts["wrist"].append(wrist)
            parts["proprio"].append(ep.obs["proprio"].astype(np.float32))
            parts["ids"].append(np.full(n, instructions.setdefault(ep.instruction, len(instructions))))
            parts["chunks"].append(chunks)
            parts["mask"].append(mask)
            episodes += 1
    if not episodes:
        raise FileNotFoundError(f"no usable episodes under {[str(r) for r in roots]}")
    return Samples(
        scene=np.concatenate(parts["scene"]),
        wrist=np.concatenate(parts["wrist"]),
        proprio=np.concatenate(parts["proprio"]),
        instruction_ids=np.concatenate(parts["ids"]).astype(np.int64),
        instructions=list(instructions),
        chunks=np.concatenate(parts["chunks"]).astype(np.float32),
        mask=np.concatenate(parts["mask"]),
        episodes=episodes,
    )


def concat_samples(a: Samples, b: Samples) -> Samples:
    """`a` followed by `b` (instruction ids of `b` remapped into one shared list)."""
    names = list(a.instructions) + [s for s in b.instructions if s not in a.instructions]
    remap = np.array([names.index(s) for s in b.instructions])
    return Samples(
        scene=np.concatenate([a.scene, b.scene]),
        wrist=np.concatenate([a.wrist, b.wrist]),
        proprio=np.concatenate([a.proprio, b.proprio]),
        instruction_ids=np.concatenate([a.instruction_ids, remap[b.instruction_ids]]),
        instructions=names,
        chunks=np.concatenate([a.chunks, b.chunks]),
        mask=np.concatenate([a.mask, b.mask]),
        episodes=a.episodes + b.episodes,
    )
