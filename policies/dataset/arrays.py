"""Episode files -> in-memory training arrays for the student (images stay uint8).

Each sample t of an episode gets the action chunk `actions[t : t + T]` as its label; steps
past the episode's end repeat its last action and are masked out of the loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
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
    aux: np.ndarray | None = None  # (N, K) float32 slice of the privileged state (auxiliary labels), or None

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
    roots: Iterable[Path],
    cameras: tuple[str, ...],
    image_size: int,
    chunk: int,
    only_success: bool = False,
    aux: Sequence[int] | None = None,
) -> Samples:
    """All samples of all episodes under `roots` (each a dataset directory of `robocell collect`).

    `aux` picks columns (indices) of the recorded privileged state as auxiliary labels (`Samples.aux`).

    The arrays are allocated once, at their final size, from the episodes' headers, and filled
    episode by episode: memory peaks at the dataset's size, not twice it (1,600 PickPlace demos
    are 8 GB of images).
    """
    files = [path for root in roots for path in episode_files(Path(root))]
    lengths = [_usable_length(path, only_success) for path in files]
    total = sum(lengths)
    if not total:
        raise FileNotFoundError(f"no usable episodes under {[str(r) for r in roots]}")
    image = np.empty((total, image_size, image_size, 3), np.uint8)
    scene, wrist = image, np.empty_like(image) if len(cameras) > 1 else np.zeros_like(image)
    proprio = chunks = mask = aux_labels = None
    ids = np.empty(total, np.int64)
    instructions: dict[str, int] = {}
    at = episodes = 0
    for path, n in zip(files, lengths, strict=True):
        if not n:
            continue
        ep = read_episode(path, keys=(*cameras, "proprio", *(("privileged",) if aux is not None else ())))
        labels, valid = chunk_labels(ep.actions, chunk)
        if proprio is None:
            proprio = np.empty((total, ep.obs["proprio"].shape[1]), np.float32)
            chunks = np.empty((total, *labels.shape[1:]), np.float32)
            mask = np.empty((total, chunk), np.float32)
            if aux is not None:
                aux_labels = np.empty((total, len(aux)), np.float32)
        rows = slice(at, at + n)
        scene[rows] = resize_nearest(ep.obs[cameras[0]], image_size)
        if len(cameras) > 1:
            wrist[rows] = resize_nearest(ep.obs[cameras[1]], image_size)
        proprio[rows] = ep.obs["proprio"]
        ids[rows] = instructions.setdefault(ep.instruction, len(instructions))
        chunks[rows], mask[rows] = labels, valid
        if aux is not None:
            aux_labels[rows] = ep.obs["privileged"][:, list(aux)]
        at, episodes = at + n, episodes + 1
    return Samples(scene, wrist, proprio, ids, list(instructions), chunks, mask, episodes, aux_labels)


def _usable_length(path: Path, only_success: bool) -> int:
    """An episode's sample count from its header; 0 when it is skipped (failed, with only_success)."""
    with h5py.File(path, "r") as f:
        attrs = f["data/demo_0"].attrs
        return 0 if only_success and not bool(attrs["success"]) else int(attrs["num_samples"])


def append_samples(a: Samples, b: Samples) -> Samples:
    """`a` with `b` appended (instruction ids of `b` remapped into one shared list); returns `a`.

    `a` is extended in place, one array at a time, each old array dropped as soon as its joined
    copy exists: memory peaks at the joined size plus `a`'s largest array (its scene images), not
    at twice `a`. For 189 k Kitting demos (10.4 GB of images) and a DAgger round of about 30 k
    samples that is about 18 GB instead of 24 GB, which the 2-core machine's 23 GB could not hold.
    The caller must hold no other reference to `a`'s arrays, or they are not freed.
    """
    if (a.aux is None) != (b.aux is None):
        raise ValueError("cannot join samples with auxiliary labels to samples without them")
    names = list(a.instructions) + [s for s in b.instructions if s not in a.instructions]
    remap = np.array([names.index(s) for s in b.instructions], dtype=np.int64)
    for field, extra in (("scene", b.scene), ("wrist", b.wrist), ("proprio", b.proprio),
                         ("instruction_ids", remap[b.instruction_ids]), ("chunks", b.chunks), ("mask", b.mask),
                         ("aux", b.aux)):  # fmt: skip
        if extra is not None:
            setattr(a, field, np.concatenate([getattr(a, field), extra]))
    a.instructions, a.episodes = names, a.episodes + b.episodes
    return a
