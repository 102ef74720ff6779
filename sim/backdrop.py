"""The table top drawn in numpy instead of by PyBullet's CPU renderer.

Why: TinyRenderer shades every covered pixel (about 0.2 us each here), and the table covers
most of both camera images. A flat face under a directional light, without shadows, shades
to one colour per view, so the table can be composited instead of rasterised: its colour
comes from a 3x3 render of a large copy of the table in a private probe client (same view
rotation, same light, so the same specular term), its outline and depth from a ray-plane
intersection at TinyRenderer's own pixel sample points, and a depth test against the render
of everything else decides which is in front. The table stays in the physics scene unchanged;
only its drawing moves here. Images come out bit-identical to rasterising the table (with
domain randomisation, a few pixels may differ where a part or bin meets it); its thin side
faces are not drawn.
"""

from __future__ import annotations

import collections
import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

from sim.cameras import pixel_words
from sim.client import Client

# The probe camera sits this high above the probe table.
_PROBE_HEIGHT_M = 0.2
# A view whose axis does not point down at least this much gets the table rasterised instead.
_MIN_DOWNWARD = 0.05
_MAX_CACHED_COLOURS = 4096
# Views whose table depth is kept: the scene camera's stays, wrist views pass through.
_CACHED_VIEWS = 4


class TableBackdrop:
    """Paints an axis-aligned table top (`center_xy`, `half_xy`, top face at `top_z`) into renders."""

    def __init__(
        self,
        center_xy: tuple[float, float],
        half_xy: tuple[float, float],
        top_z: float,
        rgba: tuple[float, float, float, float],
    ) -> None:
        self.center_xy = np.asarray(center_xy, dtype=np.float64)
        self.half_xy = np.asarray(half_xy, dtype=np.float64)
        self.top_z = float(top_z)
        self._probe: BulletClient | None = Client()
        half = [10.0, 10.0, 0.02]
        visual = self._probe.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=list(rgba))
        self._probe.createMultiBody(0, -1, visual, [0.0, 0.0, -half[2]])
        self._colours: dict[tuple, np.ndarray] = {}
        self._depths: collections.OrderedDict[tuple, np.ndarray] = collections.OrderedDict()
        self._table: tuple[BulletClient, int, list[float]] | None = None

    def attach(self, client: BulletClient, body: int) -> None:
        """Take over drawing `body` (the table) in `client`: hide it from the rasteriser."""
        rgba = list(client.getVisualShapeData(body)[0][7])
        client.changeVisualShape(body, -1, rgbaColor=[0.0, 0.0, 0.0, 0.0])  # fully transparent: skipped
        self._table = (client, body, rgba)

    @contextlib.contextmanager
    def rasterised(self) -> Iterator[None]:
        """Show the attached table to the rasteriser for the duration (for views it cannot composite)."""
        if self._table is None:
            yield
            return
        client, body, rgba = self._table
        client.changeVisualShape(body, -1, rgbaColor=rgba)
        try:
            yield
        finally:
            client.changeVisualShape(body, -1, rgbaColor=[0.0, 0.0, 0.0, 0.0])

    def close(self) -> None:
        self._table = None
        if self._probe is not None:
            self._probe.disconnect()
            self._probe = None

    def colour(self, view: np.ndarray, projection: list[float], light: dict[str, Any]) -> np.ndarray | None:
        """The table top's shaded RGBA (4 uint8) seen through `view` (4x4 world->eye), or None if the
        view does not look down on it (the caller then rasterises the table)."""
        if self._probe is None:
            raise RuntimeError("TableBackdrop is closed")
        rotation = view[:3, :3]
        forward = -rotation[2]  # the eye looks along its -z axis
        if forward[2] > -_MIN_DOWNWARD:
            return None
        key = (rotation.tobytes(), tuple(projection), repr(sorted(light.items())) if light else "")
        cached = self._colours.get(key)
        if cached is not None:
            return cached
        eye = forward * (_PROBE_HEIGHT_M / forward[2])  # on the ray that ends at the probe's origin
        probe_view = np.eye(4)
        probe_view[:3, :3] = rotation
        probe_view[:3, 3] = -rotation @ eye
        _, _, rgba, _, _ = self._probe.getCameraImage(
            3, 3, viewMatrix=probe_view.T.reshape(-1).tolist(), projectionMatrix=projection, shadow=0,
            renderer=p.ER_TINY_RENDERER, flags=p.ER_NO_SEGMENTATION_MASK, **light,
        )
        pixel = np.asarray(rgba, dtype=np.uint8).reshape(3, 3, 4)[1, 1].copy()
        if len(self._colours) >= _MAX_CACHED_COLOURS:
            self._colours.clear()
        self._colours[key] = pixel
        return pixel

    def composite(
        self,
        rgba: np.ndarray,
        depth: np.ndarray,
        view: np.ndarray,
        fov_deg: float,
        near: float,
        far: float,
        colour: np.ndarray,
    ) -> np.ndarray:
        """Paint the table into `rgba` (HxWx4, in place) wherever it is nearer than what `depth` holds."""
        table = self._table_depth(view, rgba.shape[0], float(fov_deg), float(near))
        # Whole-image operations: a mask and one masked copy of 4-byte pixels cost less than
        # gathering and scattering the table's pixels, and each pixel gets the same arithmetic.
        drawn = far * near / (far - (far - near) * depth)  # view-axis depth of what was drawn
        np.copyto(pixel_words(rgba), colour.view(np.uint32)[0], where=table < drawn)
        return rgba

    def _table_depth(self, view: np.ndarray, size: int, fov_deg: float, near: float) -> np.ndarray:
        """The view-axis depth (HxW) at which each pixel's ray meets the table top beyond `near`,
        inf where it misses.

        Cached per view: the fixed scene camera computes this once, a moving wrist camera each frame."""
        key = (view.tobytes(), size, fov_deg, near)
        table = self._depths.get(key)
        if table is not None:
            self._depths.move_to_end(key)
            return table
        rotation = view[:3, :3]
        eye = -rotation.T @ view[:3, 3]
        # World direction per pixel (one row per axis), unit view-axis depth.
        ray_x, ray_y, ray_z = rotation.T @ _eye_rays(size, fov_deg)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (self.top_z - eye[2]) / ray_z  # view-axis depth of the table plane
            x = eye[0] + t * ray_x - self.center_xy[0]
            y = eye[1] + t * ray_y - self.center_xy[1]
        hit = (t > near) & (np.abs(x) <= self.half_xy[0]) & (np.abs(y) <= self.half_xy[1])
        table = np.where(hit, t, np.inf).reshape(size, size)
        table.setflags(write=False)
        self._depths[key] = table
        if len(self._depths) > _CACHED_VIEWS:
            self._depths.popitem(last=False)
        return table


@functools.lru_cache(maxsize=16)
def _eye_rays(size: int, fov_deg: float) -> np.ndarray:
    """Eye-space ray through each pixel's sample point, scaled to unit depth along -z (3 x H*W).

    TinyRenderer samples pixel (column j, row i from the top) at whole viewport coordinates
    (j, size - 1 - i), not at pixel centres; matching it makes the depths agree to 1e-6."""
    half = np.tan(np.radians(fov_deg) / 2.0)
    x = (2.0 * np.arange(size) / size - 1.0) * half
    y = (2.0 * (size - 1 - np.arange(size)) / size - 1.0) * half
    rays = np.stack(np.broadcast_arrays(x[None, :], y[:, None], -1.0)).reshape(3, -1)
    rays.setflags(write=False)
    return rays
