"""`SimRobot`: the PyBullet backend of `robot.interface.Robot` (world + robot model + task).

Launch files select it as ``backend: sim`` and pass its constructor arguments.

Episodes and determinism: `reset_episode(seed)` rebuilds the whole simulation from
scratch (a few tens of milliseconds) and lays out the task from
``numpy.random.default_rng(seed)`` only, so the same seed and the same commands give
bit-identical states and images, however many episodes ran before. IK runs on a separate
kinematic copy of the robot and never touches the physics.

Counting: `EpisodeInfo.steps` counts `advance()` calls since the reset (one per control
step when driven by the env or the robot node). The time limit is the task's
`time_limit_s` of *simulated* time, so it does not depend on how the caller steps.

Domain randomisation (`sim.randomization`, off by default): with `domain_randomization` set,
each episode's lighting, camera jitter and part masses and frictions are drawn at reset from
a generator seeded by the episode seed alone, so they too are the same for the same seed.

Rendering: `renderer` picks the rasteriser ("tiny", "egl" or "auto"; see `sim.renderers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robot.interface import EpisodeInfo, Robot, RobotState
from sim import cameras as cams
from sim.randomization import DomainRandomization, EpisodeRandomization, draw
from sim.renderers import check_renderer
from sim.robots import Kinematics, RobotModel, robot_model_class
from sim.tasks import Task, task_class
from sim.tasks.language import SPLITS
from sim.world import World

SETTLE_STEPS = 24  # physics steps after loading, before the episode clock starts, so parts rest
SEED_BOUND = 2**31 - 1


class SimRobot(Robot):
    """A simulated robot cell running episodes of one task."""

    name = "sim"
    supports_episodes = True

    def __init__(
        self,
        task: str = "PickPlace",
        robot: str = "panda",
        image_size: int = 96,
        cameras: tuple[str, ...] | list[str] = ("scene", "wrist"),
        physics_hz: int = 240,
        seed: int | None = None,
        instruction_split: str = "train",
        domain_randomization: DomainRandomization | bool | Mapping[str, Any] | None = None,
        renderer: str = "tiny",
    ) -> None:
        self._task_class = task_class(task)
        self._model_class = robot_model_class(robot)
        unknown = [c for c in cameras if c not in cams.CAMERA_NAMES]
        if unknown:
            raise ValueError(f"unknown cameras {unknown}, expected a subset of {cams.CAMERA_NAMES}")
        if int(image_size) < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {image_size}")
        if int(physics_hz) <= 0:
            raise ValueError(f"physics_hz must be positive, got {physics_hz}")
        if instruction_split not in SPLITS:
            raise ValueError(f"instruction_split {instruction_split!r}, expected one of {SPLITS}")
        self.task_name = task
        self.image_size = int(image_size)
        self.camera_names = tuple(cameras)
        self.physics_hz = int(physics_hz)
        self.instruction_split = instruction_split
        self.renderer = check_renderer(renderer)  # asked for; the world reports what it got
        self.domain_randomization = DomainRandomization.resolve(domain_randomization)
        self.randomization: EpisodeRandomization | None = None  # this episode's draw (None when off)
        self.joint_names = self._model_class.joint_names
        self.limits = self._model_class.limits
        self.arms = tuple(self._model_class.arms)
        self._first_seed = seed
        self._seed_rng = np.random.default_rng(seed)
        self._world: World | None = None
        self._kinematics: Kinematics | None = None
        self._model: RobotModel | None = None
        self._task: Task | None = None
        self._episode_seed: int | None = None
        self._steps = 0
        self._carry_s = 0.0  # simulated time not yet stepped (less than one physics step)
        self._success = False

    # -- lifecycle -------------------------------------------------------------
    def connect(self) -> None:
        """Start the simulator and the first episode (seeded by the constructor's `seed`)."""
        if self._world is not None:
            return
        self._world = World(self.physics_hz, self.renderer)
        self._kinematics = self._model_class.make_kinematics()
        self.reset_episode(self._first_seed)

    def disconnect(self) -> None:
        if self._world is not None:
            self._world.close()
            self._kinematics.close()
        self._world = self._kinematics = self._model = self._task = None

    def _connected(self) -> World:
        if self._world is None:
            raise RuntimeError("SimRobot is not connected: call connect() first")
        return self._world

    # -- episodes ----------------------------------------------------------------
    def reset_episode(self, seed: int | None = None) -> EpisodeInfo:
        """Rebuild the world and lay out a new episode; `seed=None` draws one from the constructor's seed."""
        world = self._connected()
        if seed is None:
            seed = int(self._seed_rng.integers(SEED_BOUND))
        rng = np.random.default_rng(seed)
        world.rebuild()
        self._model = self._model_class(world.client)
        self._model.reset()
        self._task = self._task_class(world, self._model, self.instruction_split)
        self._task.reset(rng)
        if self.domain_randomization is not None:
            self.randomization = draw(self.domain_randomization, seed, world.part_ids)
            self.randomization.apply_dynamics(world.client)
        world.finish_loading()
        world.step(SETTLE_STEPS)
        world.physics_steps = 0
        self._episode_seed = int(seed)
        self._steps = 0
        self._carry_s = 0.0
        self._success = False
        self.active_arm = 0  # every episode starts with the first arm active
        self._kinematics.select_arm(0)
        return self.episode_info()

    def episode_info(self) -> EpisodeInfo:
        world = self._connected()
        timed_out = world.physics_steps >= round(self._task.time_limit_s * self.physics_hz)
        return EpisodeInfo(
            instruction=self._task.instruction,
            seed=self._episode_seed,
            task=self.task_name,
            success=self._success,
            done=self._success or timed_out,
            steps=self._steps,
        )

    def progress(self) -> float:
        """The task's dense progress in [0, 1] (the env's reward)."""
        self._connected()
        return 1.0 if self._success else self._task.progress()

    @property
    def task(self) -> Task:
        self._connected()
        return self._task

    # -- the Robot interface -------------------------------------------------------
    def read(self, with_cameras: bool = True) -> RobotState:
        world = self._connected()
        q, dq, tau = self._model.joint_states()
        images = {name: self.render(name) for name in self.camera_names} if with_cameras else {}
        time_fraction = world.time_s / self._task.time_limit_s
        return RobotState(
            joint_positions=q,
            joint_velocities=dq,
            joint_efforts=tau,
            ee_pose=self._model.ee_pose(),
            gripper=self._model.gripper_opening(),
            cameras=images,
            time_s=world.time_s,
            extras={"privileged": self._task.privileged_state(time_fraction)},
        )

    def write_joint_targets(self, joint_positions: np.ndarray, gripper: float) -> None:
        self._connected()
        q = np.asarray(joint_positions, dtype=np.float64)
        if q.shape != (len(self.joint_names),) or not np.all(np.isfinite(q)) or not np.isfinite(gripper):
            raise ValueError(
                f"joint targets must be {len(self.joint_names)} finite values and a finite gripper, "
                f"got {q.tolist()} and {gripper}"
            )
        self._model.set_targets(q, float(gripper))

    def solve_ik(self, ee_pose: np.ndarray, seed_joint_positions: np.ndarray) -> np.ndarray:
        self._connected()
        return self._kinematics.solve(ee_pose, seed_joint_positions)

    def select_arm(self, index: int) -> None:
        """Make arm `index` of `arms` the one `ee_pose`, `gripper`, `solve_ik` and the gripper target refer to."""
        super().select_arm(index)
        self._connected()
        self._model.select_arm(index)
        self._kinematics.select_arm(index)

    def advance(self, dt_s: float) -> None:
        """Step physics for `dt_s` and count one step; latches success.

        Time shorter than a physics step is carried over, so a real-time servo loop
        faster than `physics_hz` (500 Hz against 240 Hz) still advances at the right rate;
        a control period that is a whole number of physics steps steps exactly that many.
        """
        world = self._connected()
        if not dt_s >= 0:
            raise ValueError(f"dt_s must be >= 0, got {dt_s}")
        self._carry_s += dt_s
        n = int(self._carry_s * self.physics_hz + 1e-6)
        self._carry_s = max(0.0, self._carry_s - n / self.physics_hz)
        world.step(n)
        self._steps += 1
        self._success = self._success or self._task.success()

    # -- cameras -------------------------------------------------------------------
    def render(self, camera: str = "scene", size: int | None = None) -> np.ndarray:
        """One HxWx3 uint8 image from `camera` ("scene" or "wrist"), `size` pixels square."""
        world = self._connected()
        size = self.image_size if size is None else int(size)
        dr = self.randomization  # None (randomisation off): the renderer's own light, cameras unmoved
        lighting = dr.lighting if dr is not None else None
        if camera == "scene":
            view = self._model.scene_camera()
            view = dr.scene_camera(view) if dr else view
            static = world.static_layer if self._model.scene_camera_fixed else None
            return cams.render_scene(world.client, size, view, lighting, world.backdrop, world.render_flag, static)
        if camera == "wrist":
            mount = dr.wrist_camera(cams.WristCamera()) if dr else cams.WristCamera()
            hand = self._model.wrist_mount_pose()
            return cams.render_wrist(world.client, size, hand, mount, lighting, world.backdrop, world.render_flag)
        raise ValueError(f"unknown camera {camera!r}, expected one of {cams.CAMERA_NAMES}")
