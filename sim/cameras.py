"""Camera rendering with PyBullet's CPU renderer (ER_TINY_RENDERER, no shadows) or its EGL plugin.

Two views: a fixed `scene` camera looking at the table from in front of the robot, and a
`wrist` camera fixed to the hand, looking along the fingers. Images are HxWx3 uint8.
Rendering costs far more than physics, so callers render once per control step at most, and
the world's table is drawn by a `sim.backdrop.TableBackdrop` rather than rasterised (it covers
most of every image, and the CPU renderer pays per covered pixel), and a fixed camera's static
bodies (the bins) by a `sim.static_layer.StaticLayer`.
`lighting` (a `sim.randomization.Lighting`, for domain randomisation) sets the renderer's light;
without it no light setting is passed and the renderer uses its own defaults.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

if TYPE_CHECKING:
    from sim.backdrop import TableBackdrop
    from sim.randomization import Lighting
    from sim.static_layer import StaticLayer

CAMERA_NAMES = ("scene", "wrist")


@dataclass(frozen=True)
class SceneCamera:
    eye: tuple[float, float, float] = (0.8, 0.0, 0.75)
    target: tuple[float, float, float] = (0.4, 0.0, 0.0)
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov_deg: float = 48.0
    near_m: float = 0.05
    far_m: float = 3.0


@dataclass(frozen=True)
class WristCamera:
    """Mounted on the hand at `offset_m` (hand frame), aimed at the point `aim_m` ahead of the palm.

    Image "up" is `up_m` in the hand frame; None means the hand's x axis."""

    offset_m: tuple[float, float, float] = (0.05, 0.0, 0.065)
    aim_m: tuple[float, float, float] = (0.0, 0.0, 0.3)
    up_m: tuple[float, float, float] | None = None
    fov_deg: float = 75.0
    near_m: float = 0.01
    far_m: float = 2.0


def rasterise(
    client: BulletClient,
    size: int,
    view: list[float],
    projection: list[float],
    light: dict[str, Any],
    renderer: int = p.ER_TINY_RENDERER,
) -> tuple[np.ndarray, np.ndarray]:
    """RGBA (HxWx4 uint8, a fresh array) and the depth buffer (HxW, in [0, 1]) from PyBullet's `renderer`."""
    _, _, rgba, depth, _ = client.getCameraImage(
        size, size, viewMatrix=view, projectionMatrix=projection, shadow=0,
        renderer=renderer, flags=p.ER_NO_SEGMENTATION_MASK, **light,
    )
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)
    return rgba, np.asarray(depth, dtype=np.float32).reshape(size, size)


def pixel_words(rgba: np.ndarray) -> np.ndarray:
    """An HxWx4 uint8 image as HxW uint32, one word per pixel (a view): a masked copy of whole
    pixels is then one 4-byte move each, several times cheaper than moving 3 bytes."""
    return rgba.view(np.uint32)[..., 0]


def to_rgb(rgba: np.ndarray) -> np.ndarray:
    """HxWx3 from HxWx4: one gather through a cached index (a third of a strided copy's time)."""
    height, width = rgba.shape[:2]
    return np.take(rgba.reshape(-1), _rgb_index(height * width)).reshape(height, width, 3)


@functools.lru_cache(maxsize=8)
def _rgb_index(pixels: int) -> np.ndarray:
    keep = np.ones(4 * pixels, dtype=bool)
    keep[3::4] = False
    return np.flatnonzero(keep)


def _render(
    client: BulletClient,
    size: int,
    view: list[float],
    lens: SceneCamera | WristCamera,
    lighting: Lighting | None,
    backdrop: TableBackdrop | None,
    renderer: int,
    static: StaticLayer | None = None,
) -> np.ndarray:
    projection = client.computeProjectionMatrixFOV(fov=lens.fov_deg, aspect=1.0, nearVal=lens.near_m, farVal=lens.far_m)
    light = lighting.render_kwargs() if lighting is not None else {}
    if backdrop is None:
        return to_rgb(rasterise(client, size, view, projection, light, renderer)[0])
    view_matrix = np.asarray(view, dtype=np.float64).reshape(4, 4).T
    colour = backdrop.colour(view_matrix, projection, light)
    if colour is None:
        with backdrop.rasterised():
            return to_rgb(rasterise(client, size, view, projection, light)[0])
    if static is None:
        rgba, depth = rasterise(client, size, view, projection, light)
    else:
        with static.hidden():
            rgba, depth = rasterise(client, size, view, projection, light)
        static.merge(rgba, depth, view, projection, light)
    backdrop.composite(rgba, depth, view_matrix, lens.fov_deg, lens.near_m, lens.far_m, colour)
    return to_rgb(rgba)


def render_scene(
    client: BulletClient,
    size: int,
    camera: SceneCamera = SceneCamera(),
    lighting: Lighting | None = None,
    backdrop: TableBackdrop | None = None,
    renderer: int = p.ER_TINY_RENDERER,
    static: StaticLayer | None = None,
) -> np.ndarray:
    """Render the scene camera; pass the world's `backdrop` and `render_flag`, and its
    `static_layer` when the camera stays put (it is used with the backdrop only)."""
    view = client.computeViewMatrix(camera.eye, camera.target, camera.up)
    return _render(client, size, view, camera, lighting, backdrop, renderer, static)


def render_wrist(
    client: BulletClient,
    size: int,
    hand_pose: np.ndarray,
    camera: WristCamera = WristCamera(),
    lighting: Lighting | None = None,
    backdrop: TableBackdrop | None = None,
    renderer: int = p.ER_TINY_RENDERER,
) -> np.ndarray:
    """Render from the hand; `hand_pose` is the hand link's [x y z qx qy qz qw]."""
    rotation = np.array(client.getMatrixFromQuaternion(hand_pose[3:7])).reshape(3, 3)
    eye = hand_pose[:3] + rotation @ np.array(camera.offset_m)
    target = hand_pose[:3] + rotation @ np.array(camera.aim_m)
    # By default the hand's x axis: image "up" points away from the fingers' closing axis.
    up = rotation[:, 0] if camera.up_m is None else rotation @ np.array(camera.up_m)
    view = client.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist())
    return _render(client, size, view, camera, lighting, backdrop, renderer)
