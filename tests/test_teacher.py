"""The stable-baselines3 teacher: privileged-state observations, training artefacts, the Policy wrapper."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from policies.dataset.rollout import make_env
from policies.registry import load_policy
from policies.teachers.sb3_teacher import PrivilegedStateWrapper, state_vector, train_teacher

torch.set_num_threads(1)
TOY = "robocell-toy/Reach-v0"


def test_wrapper_exposes_privileged_state_and_proprio() -> None:
    env = PrivilegedStateWrapper(make_env(TOY, image_size=16))
    obs, _ = env.reset(seed=3)
    assert env.observation_space.shape == (16,) and obs.shape == (16,) and obs.dtype == np.float32
    raw = env.unwrapped._obs()
    np.testing.assert_array_equal(obs, np.concatenate([raw["privileged"], raw["proprio"]]))
    with pytest.raises(KeyError, match="privileged"):
        state_vector({"proprio": np.zeros(8)})


def test_train_save_plot_and_load_as_policy(tmp_path: Path) -> None:
    path = train_teacher(
        TOY,
        "ppo",
        128,
        tmp_path,
        env_kwargs={"image_size": 8},
        algo_kwargs={"n_steps": 64, "batch_size": 32, "n_epochs": 1},
        progress=False,
    )
    assert path.exists() and (tmp_path / "training_curve.png").stat().st_size > 1000
    assert json.loads((tmp_path / "teacher.json").read_text())["algo"] == "ppo"
    policy = load_policy(f"sb3:{path}")
    env = make_env(TOY, image_size=8)
    obs, _ = env.reset(seed=0)
    policy.reset(obs["instruction"])
    action = policy.act(obs)
    assert action.shape == (7,) and action.dtype == np.float32 and np.abs(action).max() <= 1.0
