"""Run one episode with a teacher labelling every state, optionally while another policy drives.

This is the one loop that both `robocell collect` (teacher drives) and DAgger (the student
drives with probability 1 - beta) use, so a DAgger label is produced exactly like a
demonstration label: `teacher.act(observation)` at every visited state, whoever acts.

Environment contract (what `sim/` provides): `gym.make("robocell/<Task>-v0", **kwargs)`
after `import sim`; `reset(seed=...)` determines the episode; dict observations with the
layout of `policies.base`; `info["success"]` at the last step is the outcome.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import policies.dataset.toy  # noqa: F401  (registers robocell-toy/* and the toy: policy kind)
from policies.base import Policy
from policies.dataset.hdf5 import Episode

RECORDED_KEYS = ("scene_rgb", "wrist_rgb", "proprio", "joint_positions", "privileged")


def env_id(task: str) -> str:
    """ "PickPlace" -> "robocell/PickPlace-v0"; a full gymnasium id passes through."""
    return task if "/" in task else f"robocell/{task}-v0"


def make_env(task: str, **kwargs: Any) -> gym.Env:
    """The gymnasium env of `task`, importing `sim` first for robocell/* ids."""
    name = env_id(task)
    if name.startswith("robocell/"):
        importlib.import_module("sim")
    return gym.make(name, **kwargs)


def first_row(action: np.ndarray) -> np.ndarray:
    """A policy may answer with a chunk (T, 7); a single step executes its first row."""
    action = np.asarray(action, dtype=np.float32)
    return action[0] if action.ndim == 2 else action


@dataclass
class RolloutResult:
    episode: Episode
    steps: int
    success: bool


def run_episode(
    env: gym.Env,
    teacher: Policy,
    seed: int,
    driver: Policy | None = None,
    beta: float = 1.0,
    record: bool = True,
    max_steps: int | None = None,
    task: str = "",
    action_noise: float = 0.0,
) -> RolloutResult:
    """One episode from `env.reset(seed=seed)`.

    At every step the teacher labels the observation. The executed action is the teacher's
    with probability `beta` (drawn per step from an RNG seeded by `seed`), else the driver's.
    With no driver the teacher always acts. `record=False` keeps no observations (evaluation).
    `action_noise` (DART): Gaussian noise of that std is added to the motion part (all but the
    last, gripper, component) of an executed teacher action, so demonstrations visit the small
    errors a student makes and show how the teacher corrects them; the label stays clean. A teacher
    whose `precise` attribute is true at a step (Insert's expert while it grasps the peg and while the
    peg is at the hole) gets no noise at that step: there one noisy step undoes an alignment of a
    millimetre that the teacher cannot redo in time.
    """
    if driver is None and beta != 1.0:
        raise ValueError(f"beta={beta} needs a driver policy to mix with the teacher")
    mix_rng = np.random.default_rng([seed, 0xDA66E2])
    observation, info = env.reset(seed=seed)
    instruction = str(observation["instruction"])
    teacher.reset(instruction)
    if driver is not None:
        driver.reset(instruction)
    limit = max_steps or getattr(env.spec, "max_episode_steps", None) or 1000
    frames: dict[str, list[np.ndarray]] = {k: [] for k in RECORDED_KEYS if k in observation}
    labels, executed, rewards, dones = [], [], [], []
    success, steps = False, 0
    while steps < limit:
        label = first_row(teacher.act(observation))
        action = label
        if action_noise and not getattr(teacher, "precise", False):
            noise = mix_rng.normal(0.0, action_noise, label.shape).astype(np.float32)
            noise[..., -1] = 0.0
            action = np.clip(label + noise, -1.0, 1.0)
        if driver is not None:
            student_action = first_row(driver.act(observation))
            if mix_rng.random() >= beta:
                action = student_action
        if record:
            for key, frame in frames.items():
                frame.append(np.array(observation[key], copy=True))
            labels.append(label)
            executed.append(action)
        observation, reward, terminated, truncated, info = env.step(action)
        steps += 1
        success = bool(info.get("success", False))
        if record:
            rewards.append(float(reward))
            dones.append(bool(terminated))
        if terminated or truncated:
            break
    episode = Episode(
        task=task,
        seed=seed,
        instruction=instruction,
        obs={k: np.stack(v) for k, v in frames.items()} if record else {},
        actions=np.array(labels, dtype=np.float32),
        executed_actions=np.array(executed, dtype=np.float32),
        rewards=np.array(rewards, dtype=np.float32),
        dones=np.array(dones, dtype=bool),
        success=success,
    )
    return RolloutResult(episode, steps, success)
