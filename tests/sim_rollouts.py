"""Shared helpers for the simulation tests: seeded random rollouts, bit-for-bit comparison, expert episodes."""

from __future__ import annotations

from typing import Any

import numpy as np

from policies.base import Policy
from sim.envs import ManufacturingEnv


def rollout(env: ManufacturingEnv, seed: int, steps: int) -> list[dict[str, Any]]:
    """Reset to episode `seed`, then `steps` uniform random actions drawn from `seed`; every observation,
    each after the first with its reward and success flag."""
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, env.action_space.shape[0])).astype(np.float32)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for action in actions:
        obs, reward, _, _, info = env.step(action)
        trace.append({**obs, "reward": reward, "success": info["success"]})
    return trace


def assert_identical(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    """Same keys, dtypes and values (arrays bit for bit) at every step."""
    assert len(a) == len(b)
    for step, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x.keys() == y.keys(), step
        for key in x:
            if isinstance(x[key], np.ndarray):
                assert x[key].dtype == y[key].dtype, (step, key)
                assert np.array_equal(x[key], y[key]), f"step {step}: {key} differs"
            else:
                assert x[key] == y[key], f"step {step}: {key} differs"


def play_expert(env: ManufacturingEnv, expert: Policy, seed: int) -> bool:
    """One episode of `expert` on episode `seed`, checking every action and reward; whether it succeeded."""
    obs, info = env.reset(seed=seed)
    expert.reset(info["instruction"])
    terminated = truncated = False
    while not (terminated or truncated):
        action = expert.act(obs)
        assert action.shape == env.action_space.shape and action.dtype == np.float32
        assert np.all(np.abs(action) <= 1.0)
        obs, reward, terminated, truncated, info = env.step(action)
        assert 0.0 <= reward <= 1.0
    assert terminated == info["success"] and (reward == 1.0) == info["success"]
    return bool(info["success"])
