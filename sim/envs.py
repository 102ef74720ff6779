"""`ManufacturingEnv`: the gymnasium view of a `SimRobot` driven through `robot.controller`.

Actions go through the same `ActionController` and `SafetyFilter` as on the real robot
node, so a policy trained here sees the robot behave as in deployment.

* action: float32 (7,) in [-1, 1], the end-effector delta of `robot.interface` (EE_STEP_M,
  EE_STEP_RAD, world frame, gripper > 0 closes); (8,) with the arm selector for two-arm robots.
* observation (a dict): ``scene_rgb`` / ``wrist_rgb`` uint8 HxWx3 (only the cameras asked
  for), ``proprio`` float32 (8,) ee pose + gripper opening, ``joint_positions`` float32 (7,),
  ``privileged`` float32 (k,) the task's privileged state, ``instruction`` str.
* reward: the task's dense progress in [0, 1]; terminated on success; truncated at the
  task's time limit (150 control steps at 20 Hz for PickPlace).
* `reset(seed=s)` plays simulator episode `s` (the same layout as `SimRobot.reset_episode(s)`);
  `reset()` draws the next episode seed from the env's seeded generator.
* `domain_randomization` (off by default; `True`, a dict of fields or a
  `sim.randomization.DomainRandomization`): lighting, camera pose jitter, part mass and
  friction drawn per episode from the episode seed, e.g.
  ``gym.make("robocell/PickPlace-v0", domain_randomization=True)``.
* `renderer`: "tiny" (the CPU renderer, default), "egl" (PyBullet's OpenGL plugin, for a
  GPU) or "auto" (EGL where a GPU is present, else the CPU renderer); see `sim.renderers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robot.controller import ActionController
from robot.interface import EE_ACTION_DIM, EE_ACTION_DIM_WITH_ARM, RobotState
from robot.safety import SafetyConfig, SafetyFilter
from sim.backend import SEED_BOUND, SimRobot
from sim.randomization import DomainRandomization
from sim.tasks.language import INSTRUCTION_CHARSET, MAX_INSTRUCTION_LENGTH

JOINT_MARGIN_RAD = 0.2
PRIVILEGED_BOUND = 10.0  # metres, radians, flags and time fractions all fit well inside
ControllerFactory = Callable[[SimRobot, float], ActionController]


def default_controller(robot: SimRobot, control_period_s: float) -> ActionController:
    """The deployment path: the default safety filter, its watchdog on simulated time."""
    return ActionController(robot, SafetyFilter(robot.limits, SafetyConfig()), control_period_s)


class ManufacturingEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        task: str = "PickPlace",
        robot: str = "panda",
        image_size: int = 96,
        cameras: tuple[str, ...] | list[str] = ("scene", "wrist"),
        control_hz: int = 20,
        physics_hz: int = 240,
        instruction_split: str = "train",
        render_mode: str | None = None,
        render_size: int | None = None,
        controller_factory: ControllerFactory | None = None,
        domain_randomization: DomainRandomization | bool | Mapping[str, Any] | None = None,
        renderer: str = "tiny",
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r}, expected None or one of {self.metadata['render_modes']}")
        if physics_hz % control_hz:
            raise ValueError(f"physics_hz ({physics_hz}) must be a multiple of control_hz ({control_hz})")
        self.render_mode = render_mode
        self.render_size = render_size or image_size
        self.control_period_s = 1.0 / control_hz
        self.metadata = {**self.metadata, "render_fps": control_hz}
        self.sim = SimRobot(
            task=task, robot=robot, image_size=image_size, cameras=tuple(cameras), physics_hz=physics_hz,
            instruction_split=instruction_split, domain_randomization=domain_randomization, renderer=renderer,
        )
        self.sim.connect()
        self._controller_factory = controller_factory or default_controller
        self.controller = self._controller_factory(self.sim, self.control_period_s)
        self._state: RobotState | None = None
        # Robots with two arms take the controller's arm selector as an 8th entry.
        action_dim = EE_ACTION_DIM_WITH_ARM if len(self.sim.arms) > 1 else EE_ACTION_DIM
        self.action_space = spaces.Box(-1.0, 1.0, (action_dim,), dtype=np.float32)
        self.observation_space = self._make_observation_space(image_size)

    def _make_observation_space(self, image_size: int) -> spaces.Dict:
        n_privileged = self.sim.task.privileged_size()
        fields: dict[str, spaces.Space] = {
            f"{name}_rgb": spaces.Box(0, 255, (image_size, image_size, 3), dtype=np.uint8)
            for name in self.sim.camera_names
        }
        # Finite, generous bounds: positions within 2 m of the base, unit quaternions, opening in
        # [0, 1]; joints may overshoot their limits slightly in simulation, hence the margin.
        proprio_high = np.array([2, 2, 2, 1, 1, 1, 1, 1], dtype=np.float32)
        proprio_low = -proprio_high
        proprio_low[7] = 0.0
        fields["proprio"] = spaces.Box(proprio_low, proprio_high, dtype=np.float32)
        fields["joint_positions"] = spaces.Box(
            (self.sim.limits.lower - JOINT_MARGIN_RAD).astype(np.float32),
            (self.sim.limits.upper + JOINT_MARGIN_RAD).astype(np.float32),
            dtype=np.float32,
        )
        fields["privileged"] = spaces.Box(-PRIVILEGED_BOUND, PRIVILEGED_BOUND, (n_privileged,), dtype=np.float32)
        fields["instruction"] = spaces.Text(MAX_INSTRUCTION_LENGTH, min_length=1, charset=INSTRUCTION_CHARSET)
        return spaces.Dict(fields)

    # -- gymnasium API ----------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        episode_seed = seed if seed is not None else int(self.np_random.integers(SEED_BOUND))
        self.sim.reset_episode(episode_seed)
        # A fresh controller and safety filter per episode: the world was teleported, so the
        # filter's last output (its rate-limit reference) must not carry over from the last episode.
        self.controller = self._controller_factory(self.sim, self.control_period_s)
        self._state = self.sim.read(with_cameras=bool(self.sim.camera_names))
        return self._observation(), self._info()

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, dtype=np.float64)
        command = self.controller.apply(action, "ee_delta", self._state, self._state.time_s)
        self.sim.advance(self.control_period_s)
        self._state = self.sim.read(with_cameras=bool(self.sim.camera_names))
        episode = self.sim.episode_info()
        reward = float(self.sim.progress())
        terminated = bool(episode.success)
        truncated = bool(episode.done and not episode.success)
        info = self._info()
        info["safety_interventions"] = list(command.interventions)
        return self._observation(), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """The scene camera; reuses this step's observation image when it has the same size."""
        if self.render_mode != "rgb_array":
            return None
        cached = self._state.cameras.get("scene") if self._state is not None else None
        if cached is not None and cached.shape[0] == self.render_size:
            return cached.copy()
        return self.sim.render("scene", self.render_size)

    def close(self) -> None:
        self.sim.disconnect()

    # -- helpers --------------------------------------------------------------------
    def _observation(self) -> dict[str, Any]:
        state = self._state
        obs: dict[str, Any] = {f"{name}_rgb": image for name, image in state.cameras.items()}
        obs["proprio"] = np.concatenate([state.ee_pose, [state.gripper]]).astype(np.float32)
        obs["joint_positions"] = state.joint_positions.astype(np.float32)
        obs["privileged"] = state.extras["privileged"].astype(np.float32, copy=True)
        obs["instruction"] = self.sim.episode_info().instruction
        return obs

    def _info(self) -> dict[str, Any]:
        episode = self.sim.episode_info()
        return {
            "success": episode.success,
            "is_success": episode.success,
            "instruction": episode.instruction,
            "episode_seed": episode.seed,
            "steps": episode.steps,
            "sim_time": self._state.time_s,
        }
