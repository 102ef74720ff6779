"""A tiny stand-in for `sim/` that evaluation tests (and the benchmark) run against.

Importing this module registers gymnasium envs ``robocelltest/ToyReach-v0`` and
``robocelltest/ToyReachShort-v0`` (fast; 30 and 20 steps), ``robocelltest/ToyReachSlow-v0``
(10 ms per step, for kill tests), ``robocelltest/ToyReachHeavy-v0`` (about 2 ms of CPU
work per step, for benchmarks) and a policy kind ``evaltoy:GAIN`` (``evaltoy:1.0`` is good,
``evaltoy:0.3`` weaker). The env keeps
the observation layout of `policies.base` (a dict with ``instruction``,
``scene_rgb`` ...) and reports ``info["success"]``, ``info["safety_interventions"]``
(as `sim.envs`: this step's interventions, here a clipped action) and ``info["sim_time"]``. Whether an episode succeeds
depends on its seed (reach goal, slipperiness), so campaigns mix successes and
failures deterministically. Pass ``--plugin tests.test_eval_fixtures`` to the CLI.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from policies.registry import register_policy_kind

SIZE = 32
COLORS = ("red", "green", "blue", "yellow")


class ToyReachEnv(gym.Env):
    """Move a point (ee delta actions, first 3 of 7) to a goal; success within 3 cm."""

    metadata = {"render_modes": ["rgb_array"]}
    dt = 0.05

    def __init__(self, robot: str = "panda", step_cost: int = 0, step_sleep_s: float = 0.0) -> None:
        if robot not in ("panda", "humanoid"):
            raise ValueError(f"robot {robot!r}, expected 'panda' or 'humanoid'")
        self.robot = robot
        self.step_cost = step_cost
        self.step_sleep_s = step_sleep_s
        self.action_space = gym.spaces.Box(-1.0, 1.0, (7,), np.float32)
        self.observation_space = gym.spaces.Dict({
            "scene_rgb": gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8),
            "wrist_rgb": gym.spaces.Box(0, 255, (8, 8, 3), np.uint8),
            "proprio": gym.spaces.Box(-np.inf, np.inf, (8,), np.float32),
            "joint_positions": gym.spaces.Box(-np.inf, np.inf, (7,), np.float32),
            "instruction": gym.spaces.Text(64, charset="abcdefghijklmnopqrstuvwxyz "),
            "privileged": gym.spaces.Box(-np.inf, np.inf, (7,), np.float32),
        })
        self._work = np.eye(32) * 0.5

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        rng = self.np_random
        self.pos = np.zeros(3)
        self.goal = rng.uniform(-0.8, 0.8, 3)
        self.grip = float(rng.uniform(0.15, 1.0))  # slippery episodes move slowly and may time out
        self.color = COLORS[int(rng.integers(len(COLORS)))]
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float64)
        clipped = bool(np.any(np.abs(action) > 1.0))
        self.pos = self.pos + 0.05 * self.grip * np.clip(action[:3], -1.0, 1.0)
        self.steps += 1
        x = np.ones(32)
        for _ in range(self.step_cost):  # stands in for physics: deterministic CPU work
            x = np.tanh(self._work @ x)
        if self.step_sleep_s:
            time.sleep(self.step_sleep_s)
        success = self._distance() < 0.03
        info = {**self._info(), "safety_interventions": ["position_limit"] if clipped else []}
        return self._obs(), -self._distance(), success, False, info

    def _distance(self) -> float:
        return float(np.linalg.norm(self.pos - self.goal))

    def _info(self) -> dict[str, Any]:
        return {"success": self._distance() < 0.03, "sim_time": self.steps * self.dt}

    def _obs(self) -> dict[str, Any]:
        image = np.full((SIZE, SIZE, 3), 40, np.uint8)
        for point, color in ((self.goal, (0, 200, 0)), (self.pos, (230, 60, 60))):
            col, row = (np.clip((point[:2] + 1.0) / 2.0 * SIZE, 0, SIZE - 2)).astype(int)
            image[row:row + 2, col:col + 2] = color
        proprio = np.concatenate([self.pos, [0, 0, 0, 1], [1.0]]).astype(np.float32)
        return {
            "scene_rgb": image,
            "wrist_rgb": np.zeros((8, 8, 3), np.uint8),
            "proprio": proprio,
            "joint_positions": np.zeros(7, np.float32),
            "instruction": f"reach the {self.color} target",
            "privileged": np.concatenate([self.goal, self.pos, [self.grip]]).astype(np.float32),
        }


class ToyPolicy:
    """Proportional control on the privileged goal; `gain` < 1 undershoots on slippery episodes."""

    def __init__(self, gain: float) -> None:
        self.gain = gain

    def reset(self, instruction: str) -> None:
        self.instruction = instruction

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        privileged = observation["privileged"]
        delta = (privileged[:3] - privileged[3:6]) / 0.05
        return np.concatenate([self.gain * delta, np.zeros(4)]).astype(np.float32)


def make_toy_policy(arg: str) -> ToyPolicy:
    return ToyPolicy(float(arg))


# name: (max_episode_steps, env kwargs)
ENVS = {"ToyReach": (30, {}), "ToyReachShort": (20, {}), "ToyReachSlow": (30, {"step_sleep_s": 0.01}),
        "ToyReachHeavy": (30, {"step_cost": 2000})}
for _name, (_steps, _kwargs) in ENVS.items():
    if f"robocelltest/{_name}-v0" not in gym.registry:
        gym.register(f"robocelltest/{_name}-v0", entry_point=ToyReachEnv, max_episode_steps=_steps,
                     kwargs=_kwargs)
register_policy_kind("evaltoy", make_toy_policy)
