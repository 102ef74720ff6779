"""The bins drawn by `sim.static_layer` for a fixed camera match rasterising them, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from sim import cameras as cams
from sim.backend import SimRobot
from sim.envs import ManufacturingEnv
from sim.experts import make_expert
from sim.world import BINS, World, add_bin


def _fully_rasterised(robot: SimRobot, camera: str) -> np.ndarray:
    """The image with everything, table and bins included, drawn by PyBullet's renderer."""
    world = robot._world
    backdrop = world.backdrop
    with backdrop.rasterised():
        world.backdrop = None  # no backdrop: no compositing and no static layer
        try:
            return robot.render(camera)
        finally:
            world.backdrop = backdrop


def test_scene_images_match_rasterising_the_bins_while_a_part_is_carried_in_front_of_them() -> None:
    expert = make_expert("PickPlace")
    env = ManufacturingEnv(task="PickPlace", robot="panda", image_size=64, cameras=("scene",))
    try:
        obs, info = env.reset(seed=3)
        expert.reset(info["instruction"])
        occluded = []
        for _ in range(120):
            image = obs["scene_rgb"]
            assert np.array_equal(image, _fully_rasterised(env.sim, "scene"))
            (bin_words, bin_depth), = env.sim._world.static_layer._renders.values()
            covered = bin_depth < bin_depth.max()  # elsewhere the layer's render holds the clear depth
            assert covered.sum() > 0.05 * 64 * 64  # the bins are in view, and drawn by the layer
            bin_rgb = bin_words.view(np.uint8).reshape(64, 64, 4)[..., :3]
            occluded.append(int(np.any(image[covered] != bin_rgb[covered], axis=-1).sum()))
            obs, _, terminated, truncated, _ = env.step(expert.act(obs))
            if terminated or truncated:
                break
        assert max(occluded) > 20  # the arm and the part passed in front of a bin: the depth test decided
    finally:
        env.close()


def test_only_a_fixed_scene_camera_uses_the_layer() -> None:
    for robot_kind, expected in (("panda", 1), ("humanoid", 0)):
        robot = SimRobot(task="PickPlace", robot=robot_kind, image_size=32)
        robot.connect()
        try:
            robot.read()  # scene and wrist images
            assert len(robot._world.static_layer._renders) == expected, robot_kind
        finally:
            robot.disconnect()


def test_the_bins_stay_visible_to_the_rasteriser_outside_hidden() -> None:
    world = World()
    try:
        world.rebuild()
        world.finish_loading()
        camera = cams.SceneCamera()
        with world.backdrop.rasterised():
            shown = cams.render_scene(world.client, 48, camera)
            with world.static_layer.hidden():
                hidden = cams.render_scene(world.client, 48, camera)
            again = cams.render_scene(world.client, 48, camera)
        assert not np.array_equal(shown, hidden)
        assert np.array_equal(shown, again)
        layered = cams.render_scene(world.client, 48, camera, backdrop=world.backdrop, static=world.static_layer)
        assert np.array_equal(layered, shown)
    finally:
        world.close()


def test_misuse_is_a_clear_error() -> None:
    from sim.static_layer import StaticLayer

    layer = StaticLayer(lambda client: [add_bin(client, spec) for spec in BINS.values()])
    with pytest.raises(RuntimeError, match="before attach"), layer.hidden():
        pass
    layer.close()
    image, depth = np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.float32)
    with pytest.raises(RuntimeError, match="closed"):
        layer.merge(image, depth, [0.0] * 16, [0.0] * 16, {})
