"""The bins drawn once per fixed camera view and merged into each frame by a depth test.

Why: a fixed camera sees the same static bodies in every frame, and PyBullet's CPU renderer
pays for every pixel they cover (the two bins are about a quarter of the Panda scene camera's
frame time: 1,014 against 759 frames/s in `benchmarks/bench_sim.py`). So the static bodies
are built again in a private client, rendered there once per view (colour and depth), and each
frame rasterises only what moves, with the static bodies hidden; a per-pixel depth test then
keeps whichever is nearer, which is what the renderer's z-buffer would have done. Images stay
bit-identical (tested). A camera that moves (the wrist, the humanoid's head) rasterises
everything as before: it would miss the cache.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from pybullet_utils.bullet_client import BulletClient

from sim.cameras import pixel_words, rasterise
from sim.client import Client

# Views whose static render is kept (the scene camera's, and a jittered one per episode with
# domain randomisation).
_CACHED_VIEWS = 8
_HIDDEN = [0.0, 0.0, 0.0, 0.0]  # fully transparent: the CPU renderer skips the shape


class StaticLayer:
    """Static bodies built by `build(client)` in a private client, and their twins in a world's client."""

    def __init__(self, build: Callable[[BulletClient], object]) -> None:
        self._private: BulletClient | None = Client()
        build(self._private)
        self._renders: collections.OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = (
            collections.OrderedDict()
        )
        self._twins: tuple[BulletClient, list[tuple[int, list[float]]]] | None = None

    def attach(self, client: BulletClient, bodies: Sequence[tuple[int, Sequence[float]]]) -> None:
        """The same bodies in `client`, each (body id, its one RGBA colour): hidden while `hidden()` runs."""
        self._twins = (client, [(body, list(rgba)) for body, rgba in bodies])

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """Hide the attached bodies from the rasteriser for the duration."""
        if self._twins is None:
            raise RuntimeError("StaticLayer.hidden() before attach(): nothing to hide")
        client, bodies = self._twins
        for body, _ in bodies:
            client.changeVisualShape(body, -1, rgbaColor=_HIDDEN)
        try:
            yield
        finally:
            for body, rgba in bodies:
                client.changeVisualShape(body, -1, rgbaColor=rgba)

    def merge(
        self, rgba: np.ndarray, depth: np.ndarray, view: list[float], projection: list[float], light: dict[str, Any]
    ) -> None:
        """Draw the static bodies into `rgba` and `depth` (a frame rendered without them), in place,
        wherever they are nearer than what the frame holds."""
        static_pixels, static_depth = self._render(rgba.shape[0], view, projection, light)
        front = static_depth < depth
        np.copyto(pixel_words(rgba), static_pixels, where=front)
        np.copyto(depth, static_depth, where=front)

    def close(self) -> None:
        self._twins = None
        if self._private is not None:
            self._private.disconnect()
            self._private = None

    def _render(
        self, size: int, view: list[float], projection: list[float], light: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The static bodies alone in this view: pixels (HxW uint32 RGBA words) and depth (cached)."""
        if self._private is None:
            raise RuntimeError("StaticLayer is closed")
        key = (size, tuple(view), tuple(projection), repr(sorted(light.items())) if light else "")
        cached = self._renders.get(key)
        if cached is not None:
            self._renders.move_to_end(key)
            return cached
        rgba, depth = rasterise(self._private, size, view, projection, light)
        pixels = pixel_words(rgba)
        for array in (pixels, depth):
            array.setflags(write=False)
        self._renders[key] = (pixels, depth)
        if len(self._renders) > _CACHED_VIEWS:
            self._renders.popitem(last=False)
        return pixels, depth
