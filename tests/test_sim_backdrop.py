"""The table drawn by `sim.backdrop` matches rasterising it: bit for bit without domain randomisation."""

from __future__ import annotations

import numpy as np
import pytest

from sim import cameras as cams
from sim.backend import SimRobot
from sim.envs import ManufacturingEnv
from sim.experts import make_expert


def _rasterised(robot: SimRobot, camera: str) -> np.ndarray:
    """What the camera showed before the backdrop: the table rasterised with everything else."""
    world = robot._world
    backdrop = world.backdrop
    with backdrop.rasterised():
        world.backdrop = None
        try:
            return robot.render(camera)
        finally:
            world.backdrop = backdrop


def _differing_pixels(robot_kind: str, seed: int, domain_randomization: bool) -> list[int]:
    """Pixels that differ between the two ways, per camera image, over an expert episode."""
    expert = make_expert(f"PickPlace?robot={robot_kind}")
    env = ManufacturingEnv(task="PickPlace", robot=robot_kind, domain_randomization=domain_randomization)
    try:
        obs, info = env.reset(seed=seed)
        expert.reset(info["instruction"])
        differing = []
        for step in range(200):
            if step % 4 == 0:
                for camera in ("scene", "wrist"):
                    drawn = env.sim.render(camera)
                    assert np.array_equal(drawn, obs[f"{camera}_rgb"])
                    differing.append(int(np.any(drawn != _rasterised(env.sim, camera), axis=-1).sum()))
            obs, _, terminated, truncated, _ = env.step(expert.act(obs))
            if terminated or truncated:
                break
        return differing
    finally:
        env.close()


@pytest.mark.parametrize("robot_kind", ["panda", "humanoid"])
def test_backdrop_images_are_bit_identical_to_rasterising_the_table(robot_kind: str) -> None:
    differing = _differing_pixels(robot_kind, seed=0, domain_randomization=False)
    assert len(differing) >= 20
    assert max(differing) == 0


def test_with_random_lighting_and_camera_jitter_at_most_a_few_edge_pixels_differ() -> None:
    differing = _differing_pixels("panda", seed=1, domain_randomization=True)
    assert len(differing) >= 20
    assert max(differing) <= 10  # of 9216: depth ties where a part or bin meets the table


def test_a_view_that_does_not_look_down_rasterises_the_table() -> None:
    robot = SimRobot(task="PickPlace", image_size=48)
    robot.connect()
    try:
        world = robot._world
        level = cams.SceneCamera(eye=(-0.3, 0.0, 0.05), target=(1.0, 0.0, 0.05))  # level with the table top
        image = cams.render_scene(world.client, 48, level, backdrop=world.backdrop)
        with world.backdrop.rasterised():
            truth = cams.render_scene(world.client, 48, level)
        without_table = cams.render_scene(world.client, 48, level)
        assert np.array_equal(image, truth)
        assert not np.array_equal(truth, without_table)  # the table is in view, and hidden outside the context
    finally:
        robot.disconnect()
