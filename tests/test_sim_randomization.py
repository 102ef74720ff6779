"""Domain randomisation: off by default (and then nothing changes), deterministic per seed, varied across seeds."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sim  # noqa: F401 - registers the robocell/*-v0 ids
from sim import cameras as cams
from sim.backend import SimRobot
from sim.envs import ManufacturingEnv
from sim.experts import make_expert
from sim.randomization import (
    LIGHT_AMBIENT,
    LIGHT_COLOUR,
    LIGHT_DIFFUSE,
    LIGHT_ELEVATION_RAD,
    LIGHT_SPECULAR,
    DomainRandomization,
    draw,
)
from sim.world import PART_FRICTION, PART_MASS_KG
from tests.sim_rollouts import assert_identical, play_expert, rollout

ALL_OFF = DomainRandomization(
    lighting=False, camera_jitter_m=0.0, camera_jitter_rad=0.0, mass_scale=(1.0, 1.0), friction_scale=(1.0, 1.0)
)


def _robot(**kwargs) -> SimRobot:
    robot = SimRobot(task="PickPlace", image_size=32, **kwargs)
    robot.connect()
    return robot


def _dynamics(robot: SimRobot) -> np.ndarray:
    """(mass, lateral friction) of every part, in spawn order."""
    client = robot._world.client
    return np.array([client.getDynamicsInfo(body, -1)[:2] for body in robot._world.part_ids])


def _images(robot: SimRobot) -> dict[str, np.ndarray]:
    return robot.read().cameras


# -- off ------------------------------------------------------------------------------------
def test_off_by_default_renders_and_simulates_as_without_the_option() -> None:
    robot = _robot(seed=3)
    try:
        assert robot.domain_randomization is None and robot.randomization is None
        images = _images(robot)
        # Exactly the calls of a build without randomisation: no light settings, cameras unmoved.
        client, model, backdrop = robot._world.client, robot._model, robot._world.backdrop
        assert np.array_equal(images["scene"], cams.render_scene(client, 32, model.scene_camera(), backdrop=backdrop))
        wrist = cams.render_wrist(client, 32, model.wrist_mount_pose(), backdrop=backdrop)
        assert np.array_equal(images["wrist"], wrist)
        assert np.allclose(_dynamics(robot), [PART_MASS_KG, PART_FRICTION])
    finally:
        robot.disconnect()


@pytest.mark.parametrize("off", [None, False, ALL_OFF])
def test_off_in_every_spelling_gives_bit_identical_observations(off: object) -> None:
    default, other = ManufacturingEnv(image_size=32), ManufacturingEnv(image_size=32, domain_randomization=off)
    try:
        assert_identical(rollout(default, seed=5, steps=8), rollout(other, seed=5, steps=8))
    finally:
        default.close()
        other.close()


# -- the option -----------------------------------------------------------------------------
def test_resolve_accepts_true_a_mapping_or_a_config_and_rejects_nonsense() -> None:
    assert DomainRandomization.resolve(True) == DomainRandomization()
    config = DomainRandomization.resolve({"lighting": False, "mass_scale": [0.5, 2.0]})  # as from a launch file
    assert config == DomainRandomization(lighting=False, mass_scale=(0.5, 2.0))
    assert DomainRandomization.resolve(config) is config
    with pytest.raises(ValueError, match="unknown"):
        DomainRandomization.resolve({"gravity": True})
    with pytest.raises(ValueError, match="mass_scale"):
        DomainRandomization(mass_scale=(1.5, 1.0))
    with pytest.raises(ValueError, match="jitter"):
        DomainRandomization(camera_jitter_m=-0.01)
    with pytest.raises(TypeError):
        DomainRandomization.resolve("yes")


def test_gym_make_passes_it_through_and_the_env_checker_passes() -> None:
    env = gym.make("robocell/Sort-v0", image_size=32, render_mode="rgb_array", domain_randomization=True)
    try:
        assert env.unwrapped.sim.domain_randomization == DomainRandomization()
        check_env(env.unwrapped)
    finally:
        env.close()


# -- on -------------------------------------------------------------------------------------
def test_same_seed_gives_bit_identical_observations_and_the_same_layout() -> None:
    first = ManufacturingEnv(image_size=32, domain_randomization=True)
    second = ManufacturingEnv(image_size=32, domain_randomization=True)
    plain = ManufacturingEnv(image_size=32, cameras=())
    try:
        reference = rollout(first, seed=7, steps=12)
        rollout(second, seed=3, steps=6)  # some unrelated history first
        assert_identical(reference, rollout(second, seed=7, steps=12))
        assert first.sim.randomization == second.sim.randomization
        # The randomisation has a generator of its own: the layout is the seed's layout without it.
        obs, info = plain.reset(seed=7)
        assert info["instruction"] == reference[0]["instruction"]
        assert np.allclose(obs["privileged"], reference[0]["privileged"], atol=1e-3)
    finally:
        first.close()
        second.close()
        plain.close()


def test_different_seeds_draw_different_lighting_cameras_and_dynamics() -> None:
    config = DomainRandomization()
    randomised, plain = _robot(domain_randomization=config), _robot()
    try:
        draws, dynamics = [], []
        for seed in (0, 1):
            randomised.reset_episode(seed)
            plain.reset_episode(seed)
            dr = randomised.randomization
            draws.append(dr)
            dynamics.append(_dynamics(randomised))
            # The drawn factors are what the simulator holds, within their ranges.
            factors = np.array([(m, f) for _, m, f in dr.part_scales])
            assert [body for body, _, _ in dr.part_scales] == randomised._world.part_ids
            assert np.allclose(dynamics[-1], factors * [PART_MASS_KG, PART_FRICTION])
            assert np.all(
                (factors >= [config.mass_scale[0], config.friction_scale[0]])
                & (factors <= [config.mass_scale[1], config.friction_scale[1]])
            )
            assert not np.allclose(factors, 1.0)
            light = dr.lighting
            assert np.linalg.norm(light.direction) == pytest.approx(1.0)
            assert LIGHT_ELEVATION_RAD[0] <= np.arcsin(light.direction[2]) <= LIGHT_ELEVATION_RAD[1]
            assert all(LIGHT_COLOUR[0] <= c <= LIGHT_COLOUR[1] for c in light.colour)
            for value, bounds in (
                (light.ambient, LIGHT_AMBIENT),
                (light.diffuse, LIGHT_DIFFUSE),
                (light.specular, LIGHT_SPECULAR),
            ):
                assert bounds[0] <= value <= bounds[1]
            for jitter in (dr.scene_jitter, dr.wrist_jitter):
                assert np.all(np.abs(jitter.offset_m) <= config.camera_jitter_m)
                assert np.all(np.abs(jitter.rotation_rad) <= config.camera_jitter_rad)
            # Same layout, other light and cameras: every image differs from the unrandomised one.
            unrandomised = _images(plain)
            for name, image in _images(randomised).items():
                assert not np.array_equal(image, unrandomised[name]), name
        assert draws[0].lighting != draws[1].lighting
        assert draws[0].scene_jitter != draws[1].scene_jitter and draws[0].wrist_jitter != draws[1].wrist_jitter
        n = min(len(dynamics[0]), len(dynamics[1]))
        assert not np.allclose(dynamics[0][:n], dynamics[1][:n])
    finally:
        randomised.disconnect()
        plain.disconnect()


def test_each_part_is_drawn_in_a_fixed_order_whatever_is_switched_on() -> None:
    full = draw(DomainRandomization(), 11, [5, 6, 7])
    lighting_off = draw(DomainRandomization(lighting=False), 11, [5, 6, 7])
    assert lighting_off.lighting is None
    assert lighting_off.scene_jitter == full.scene_jitter and lighting_off.part_scales == full.part_scales
    jitter_off = draw(DomainRandomization(camera_jitter_m=0.0, camera_jitter_rad=0.0), 11, [5, 6, 7])
    assert jitter_off.scene_jitter is None and jitter_off.wrist_jitter is None
    assert jitter_off.lighting == full.lighting
    assert draw(DomainRandomization(), 12, [5, 6, 7]) != full


@pytest.mark.parametrize("task", ["PickPlace", "Insert", "Conveyor", "Sort", "Stack", "Kitting"])
def test_expert_still_succeeds_with_randomization_on(task: str) -> None:
    env = ManufacturingEnv(task=task, cameras=(), domain_randomization=True)  # the expert reads state only
    expert = make_expert(task)
    try:
        successes = [play_expert(env, expert, seed) for seed in range(3)]
    finally:
        env.close()
    assert all(successes), successes
