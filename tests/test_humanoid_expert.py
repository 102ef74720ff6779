"""PickPlace with `robot="humanoid"`: the env takes 8-entry actions and the humanoid expert succeeds with either arm."""

from __future__ import annotations

import numpy as np
import pytest

from robot.interface import EE_ACTION_DIM, EE_ACTION_DIM_WITH_ARM
from sim.envs import ManufacturingEnv
from sim.experts.humanoid_arms import arm_for_y
from sim.experts.humanoid_pick_place import HumanoidPickPlaceExpert
from sim.robots.humanoid import ARMS


@pytest.fixture(scope="module")
def env():
    env = ManufacturingEnv(task="PickPlace", robot="humanoid", cameras=())
    yield env
    env.close()


def run_episode(env: ManufacturingEnv, seed: int) -> tuple[bool, int, int]:
    """(success, steps, arm used) for one expert episode."""
    expert = HumanoidPickPlaceExpert()
    obs, _ = env.reset(seed=seed)
    expert.reset(obs["instruction"])
    for step in range(1, 1000):
        action = expert.act(obs)
        assert action.shape == (EE_ACTION_DIM_WITH_ARM,) and env.action_space.contains(action)
        obs, _, terminated, truncated, info = env.step(action)
        assert "position_limit" not in info["safety_interventions"]
        if terminated or truncated:
            return terminated, step, expert.arm
    raise AssertionError("episode never ended")


def test_env_has_two_arms_and_31_joints(env):
    assert env.sim.arms == ARMS
    assert env.action_space.shape == (EE_ACTION_DIM_WITH_ARM,)
    assert env.observation_space["joint_positions"].shape == (31,)


def test_arm_is_chosen_by_the_bin_side():
    assert arm_for_y(0.25) == 0 and arm_for_y(-0.25) == 1


def test_switching_to_the_right_arm_first_moves_nothing(env):
    expert = HumanoidPickPlaceExpert()
    obs, _ = env.reset(seed=0)  # seed 0: the right bin
    expert.reset(obs["instruction"])
    first = expert.act(obs)
    assert first[EE_ACTION_DIM] > 0 and np.all(first[:6] == 0) and first[6] < 0
    left_before = obs["proprio"][:3].copy()
    obs, *_ = env.step(first)
    assert env.sim.active_arm == 1 and obs["proprio"][1] < -0.1
    env.sim.select_arm(0)
    np.testing.assert_allclose(env.sim.read(with_cameras=False).ee_pose[:3], left_before, atol=2e-3)


@pytest.mark.parametrize("seed", [0, 1])  # 0: right bin and arm, 1: left
def test_expert_succeeds_with_each_arm(env, seed):
    success, steps, arm = run_episode(env, seed)
    assert success, f"seed {seed} failed after {steps} steps"
    assert arm == (1 if seed == 0 else 0)


@pytest.mark.slow
def test_expert_success_rate_over_20_seeds(env):
    results = [run_episode(env, seed)[0] for seed in range(20)]
    print(f"humanoid PickPlace expert: {sum(results)}/20")
    assert sum(results) >= 18
