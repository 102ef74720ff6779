"""Renderer choice: the CPU renderer by default, EGL on request (here through Mesa when present)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sim import renderers
from sim.backend import SimRobot
from sim.envs import ManufacturingEnv


def test_default_is_the_cpu_renderer_with_the_table_composited() -> None:
    robot = SimRobot(image_size=16)
    robot.connect()
    try:
        assert robot._world.renderer == "tiny" and robot._world.backdrop is not None
    finally:
        robot.disconnect()


def test_an_unknown_renderer_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="renderer 'vulkan'"):
        ManufacturingEnv(renderer="vulkan")


def test_auto_without_a_gpu_device_uses_the_cpu_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renderers, "GPU_DEVICE_PATTERNS", ("/nonexistent/gpu*",))
    robot = SimRobot(image_size=16, renderer="auto")
    robot.connect()
    try:
        assert robot._world.renderer == "tiny"
    finally:
        robot.disconnect()


# In a fresh interpreter: the EGL plugin holds one OpenGL context per process.
_EGL_SCRIPT = textwrap.dedent("""
    import numpy as np
    from sim.backend import SimRobot
    from sim.world import World
    try:
        robot = SimRobot(seed=3, renderer="egl")
        robot.connect()
    except RuntimeError as error:
        print("UNAVAILABLE", error)
        raise SystemExit(0)
    assert robot._world.renderer == "egl" and robot._world.backdrop is None
    first = robot.read().cameras
    robot.reset_episode(3)
    again = robot.read().cameras
    for name in ("scene", "wrist"):
        image = first[name]
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8, name
        assert image.std() > 5, name  # a real picture, not a blank buffer
        assert np.array_equal(image, again[name]), name  # same seed, same pixels
    try:
        World(renderer="egl")
    except RuntimeError as error:
        assert "one per process" in str(error)
    else:
        raise AssertionError("a second EGL world in one process was allowed")
    robot.disconnect()
    print("OK")
""")


def test_egl_renders_deterministic_images_and_refuses_a_second_context() -> None:
    done = subprocess.run([sys.executable, "-c", _EGL_SCRIPT], capture_output=True, text=True, timeout=120,
                          env={"LP_NUM_THREADS": "1", **__import__("os").environ})
    assert done.returncode == 0, done.stderr[-2000:]
    if "UNAVAILABLE" in done.stdout:
        pytest.skip(done.stdout.strip().splitlines()[-1])
    assert done.stdout.strip().endswith("OK"), done.stdout[-2000:]
