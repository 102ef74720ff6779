"""The privileged PickPlace experts, driven through the real controller and safety filter."""

from __future__ import annotations

import numpy as np
import pytest

from policies.base import Policy
from sim.envs import ManufacturingEnv
from sim.experts import make_expert


@pytest.mark.parametrize("spec", ["PickPlace", "PickPlace?style=reactive"])
def test_expert_succeeds_on_at_least_19_of_20_seeds(spec: str) -> None:
    env = ManufacturingEnv(cameras=())  # the expert reads proprio + privileged only
    expert = make_expert(spec)
    assert isinstance(expert, Policy)
    successes = []
    try:
        for seed in range(20):
            obs, info = env.reset(seed=seed)
            expert.reset(info["instruction"])
            terminated = truncated = False
            while not (terminated or truncated):
                action = expert.act(obs)
                assert action.shape == (7,) and action.dtype == np.float32
                assert np.all(np.abs(action) <= 1.0)
                obs, reward, terminated, truncated, info = env.step(action)
                assert 0.0 <= reward <= 1.0
            successes.append(info["success"])
            assert terminated == info["success"] and (reward == 1.0) == info["success"]
    finally:
        env.close()
    assert sum(successes) >= 19, f"expert succeeded on {sum(successes)}/20 seeds: {successes}"


def test_expert_reads_only_the_observation_dict() -> None:
    env = ManufacturingEnv(cameras=())
    try:
        obs, info = env.reset(seed=0)
        wire_obs = {"proprio": obs["proprio"].tolist(), "privileged": list(obs["privileged"])}  # as from a peer
        a = make_expert("PickPlace")
        b = make_expert("PickPlace")
        a.reset(info["instruction"])
        b.reset(info["instruction"])
        assert np.array_equal(a.act(obs), b.act(wire_obs))
    finally:
        env.close()


def test_reactive_expert_labels_a_state_the_same_whatever_came_before() -> None:
    """DAgger relies on it: the label of a visited state must not depend on the path there."""
    env = ManufacturingEnv(cameras=())
    try:
        obs, info = env.reset(seed=3)
        driven, fresh = make_expert("PickPlace?style=reactive"), make_expert("PickPlace?style=reactive")
        driven.reset(info["instruction"])
        phases = make_expert("PickPlace")  # the phase machine's answer may depend on its history
        phases.reset(info["instruction"])
        for _ in range(40):
            fresh.reset(info["instruction"])
            assert np.array_equal(driven.act(obs), fresh.act(obs))
            obs, *_ = env.step(phases.act(obs))
    finally:
        env.close()


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("PickPlace?robot=humanoid", "HumanoidPickPlaceExpert"), ("Sort?robot=humanoid", "HumanoidSortExpert"),
     ("Conveyor?robot=humanoid", "HumanoidConveyorExpert"), ("Insert?robot=humanoid", "HumanoidInsertExpert"),
     ("PickPlace?robot=panda", "PickPlaceExpert"), ("PickPlace?style=reactive", "ReactivePickPlaceExpert")],
)
def test_expert_specs_name_robot_and_style_variants(spec: str, cls: str) -> None:
    assert type(make_expert(spec)).__name__ == cls


@pytest.mark.parametrize("spec", ["Weld", "Stack?robot=humanoid", "PickPlace?robot=ur5", "PickPlace?robot"])
def test_unknown_expert_specs_say_what_exists(spec: str) -> None:
    with pytest.raises(ValueError, match="known|variants|bad query"):
        make_expert(spec)
