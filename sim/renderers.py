"""Which rasteriser draws camera images: PyBullet's CPU TinyRenderer or its EGL (OpenGL) plugin.

    tiny   the CPU renderer, with the table composited by `sim.backdrop` (the default: images are
           bit-identical on every machine, and the shipped student was trained on them)
    egl    PyBullet's EGL plugin: OpenGL on a GPU, headless. Without a GPU it runs on Mesa's
           llvmpipe, which is slower than `tiny` at policy image sizes (it works, for checks)
    auto   `egl` where a GPU device node is present and the plugin loads, else `tiny`

The EGL plugin keeps one OpenGL context per process: a second client that loads it breaks the
first one's images. So one world per process may use EGL; another asking for `egl` gets a clear
error, and one asking for `auto` falls back to `tiny` with a log line.
"""

from __future__ import annotations

import glob
import importlib.util
import logging

import pybullet as p
from pybullet_utils.bullet_client import BulletClient

log = logging.getLogger(__name__)

RENDERERS = ("tiny", "egl", "auto")
GPU_DEVICE_PATTERNS = ("/dev/nvidia[0-9]*", "/dev/dri/renderD*")

_egl_owner: BulletClient | None = None  # the client holding this process's EGL context


def gpu_present() -> bool:
    """Whether this machine exposes a GPU render device (NVIDIA, or a DRM render node)."""
    return any(glob.glob(pattern) for pattern in GPU_DEVICE_PATTERNS)


def check_renderer(renderer: str) -> str:
    if renderer not in RENDERERS:
        raise ValueError(f"renderer {renderer!r}, expected one of {RENDERERS}")
    return renderer


def attach_renderer(client: BulletClient, renderer: str) -> str:
    """Set `client` up for `renderer` ("tiny", "egl" or "auto"); returns the one in use."""
    check_renderer(renderer)
    if renderer == "tiny" or (renderer == "auto" and not gpu_present()):
        return "tiny"
    problem = _load_egl(client)
    if problem is None:
        return "egl"
    if renderer == "egl":
        raise RuntimeError(f"renderer 'egl' is unavailable: {problem}")
    log.warning("renderer auto: EGL unavailable (%s); using the CPU renderer", problem)
    return "tiny"


def detach_renderer(client: BulletClient) -> None:
    """Release the EGL context if `client` holds it (call before disconnecting the client)."""
    global _egl_owner
    if _egl_owner is client:
        _egl_owner = None


def warm_up(client: BulletClient) -> None:
    """Two throwaway frames: the EGL plugin's first two differ from every later one (its
    lighting state settles), which would break same-seed, same-images determinism."""
    for _ in range(2):
        client.getCameraImage(8, 8, renderer=p.ER_BULLET_HARDWARE_OPENGL, flags=p.ER_NO_SEGMENTATION_MASK)


def renderer_flag(renderer: str) -> int:
    return p.ER_BULLET_HARDWARE_OPENGL if renderer == "egl" else p.ER_TINY_RENDERER


def _load_egl(client: BulletClient) -> str | None:
    """Load the EGL plugin into `client`; None on success, else why not."""
    global _egl_owner
    if _egl_owner is not None:
        return "another world in this process holds the EGL context (the plugin allows one per process)"
    spec = importlib.util.find_spec("eglRenderer")
    if spec is None or spec.origin is None:
        return "this pybullet build has no eglRenderer plugin"
    plugin = client.loadPlugin(spec.origin, "_eglRendererPlugin")
    if plugin < 0:
        return "the plugin did not load (no EGL driver: install libegl1 and a GPU driver)"
    _egl_owner = client
    return None
