"""A tiny stand-in task with the robocell observation layout, for tests and smoke runs (no PyBullet).

`robocell-toy/Reach-v0`: a point end effector on a plane must reach the target whose colour
the instruction names, among three coloured targets. Observations have the same keys, dtypes
and shapes as the simulator's (`scene_rgb`, `wrist_rgb`, `proprio` (8,), `joint_positions`,
`instruction`, `privileged`), so collection, distillation and export run end to end on it in
seconds. `toy:Reach` is its privileged expert (a policy kind registered on import).

Importing this module registers both; nothing else in robocell depends on it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from policies.registry import register_policy_kind

COLOURS = {"red": (220, 30, 30), "green": (40, 180, 50), "blue": (30, 80, 225)}
TRAIN_TEMPLATES = ("move to the {c} target", "reach the {c} marker", "go to the {c} square")
HELDOUT_TEMPLATES = ("head over to the {c} one", "touch the {c} spot")
STEP = 0.15  # metres per unit action
SUCCESS_RADIUS = 0.12


class ToyReachEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, image_size: int = 96, instructions: str = "train", max_steps: int = 30) -> None:
        if instructions not in ("train", "heldout"):
            raise ValueError(f"instructions={instructions!r}, expected 'train' or 'heldout'")
        self.image_size, self.templates = (
            image_size,
            TRAIN_TEMPLATES if instructions == "train" else HELDOUT_TEMPLATES,
        )
        self.max_steps = max_steps
        img = spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        self.observation_space = spaces.Dict(
            {
                "scene_rgb": img,
                "wrist_rgb": img,
                "proprio": spaces.Box(-np.inf, np.inf, (8,), np.float32),
                "joint_positions": spaces.Box(-np.inf, np.inf, (2,), np.float32),
                "instruction": spaces.Text(max_length=100, charset="abcdefghijklmnopqrstuvwxyz "),
                "privileged": spaces.Box(-np.inf, np.inf, (8,), np.float32),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, (7,), np.float32)
        self.dt = 0.1

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        rng = self.np_random
        while True:  # targets well apart so the instruction matters
            self.targets = rng.uniform(-0.8, 0.8, (3, 2))
            gaps = np.linalg.norm(self.targets[:, None] - self.targets[None], axis=-1) + np.eye(3)
            if gaps.min() > 0.5:
                break
        self.goal = int(rng.integers(3))
        colour = list(COLOURS)[self.goal]
        self.instruction = self.templates[int(rng.integers(len(self.templates)))].format(c=colour)
        self.ee = rng.uniform(-0.8, 0.8, 2)
        self.steps = 0
        return self._obs(), {"success": False}

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        action = np.clip(np.asarray(action, dtype=np.float64), -1, 1)
        self.ee = np.clip(self.ee + STEP * action[:2], -1, 1)
        self.steps += 1
        dist = float(np.linalg.norm(self.ee - self.targets[self.goal]))
        success = dist < SUCCESS_RADIUS
        truncated = self.steps >= self.max_steps and not success
        return self._obs(), float(success) - 0.01 * dist, success, truncated, {"success": success}

    def _obs(self) -> dict:
        s = self.image_size
        scene = np.full((s, s, 3), 90, np.uint8)
        for (x, y), rgb in zip(self.targets, COLOURS.values(), strict=True):
            self._square(scene, x, y, max(s // 12, 1), rgb)
        self._square(scene, *self.ee, max(s // 24, 1), (255, 255, 255))
        cx, cy = self._pixel(*self.ee)
        padded = np.pad(scene, ((s // 4, s // 4), (s // 4, s // 4), (0, 0)))
        crop = padded[cy : cy + s // 2, cx : cx + s // 2]
        wrist = np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)[:s, :s]
        proprio = np.array([*self.ee, 0.1, 0, 0, 0, 1, 1], dtype=np.float32)
        privileged = np.array([*self.targets[self.goal], *self.targets.reshape(-1)], dtype=np.float32)
        return {
            "scene_rgb": scene,
            "wrist_rgb": np.ascontiguousarray(wrist),
            "proprio": proprio,
            "joint_positions": self.ee.astype(np.float32),
            "instruction": self.instruction,
            "privileged": privileged,
        }

    def _pixel(self, x: float, y: float) -> tuple[int, int]:
        s = self.image_size
        return int((x + 1) / 2 * (s - 1)), int((1 - (y + 1) / 2) * (s - 1))

    def _square(self, img: np.ndarray, x: float, y: float, half: int, rgb: tuple[int, int, int]) -> None:
        px, py = self._pixel(x, y)
        img[max(py - half, 0) : py + half + 1, max(px - half, 0) : px + half + 1] = rgb


class ToyReachExpert:
    """Privileged expert: head straight for the goal (read from `privileged`)."""

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: dict) -> np.ndarray:
        goal = np.asarray(observation["privileged"][:2])
        delta = (goal - np.asarray(observation["proprio"][:2])) / STEP
        action = np.zeros(7, np.float32)
        action[:2] = np.clip(delta, -1, 1)
        return action


def make_toy_expert(task: str) -> ToyReachExpert:
    if task != "Reach":
        raise ValueError(f"toy expert {task!r}, expected 'Reach'")
    return ToyReachExpert()


if "robocell-toy/Reach-v0" not in gym.registry:
    gym.register("robocell-toy/Reach-v0", entry_point=ToyReachEnv, max_episode_steps=30)
register_policy_kind("toy", make_toy_expert)
