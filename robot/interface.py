"""The one `Robot` interface that simulation and hardware backends implement.

A backend only reads state and writes *joint* targets. End-effector commands are
turned into joint targets by the backend's own inverse kinematics, and every
target passes the safety filter (`robot.safety`) before `write_joint_targets`
is called: backends never see an unfiltered command.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

# End-effector action layout shared by every robot: a delta pose plus gripper.
# [dx, dy, dz] metres (scaled by `EE_STEP_M`), [droll, dpitch, dyaw] radians
# (scaled by `EE_STEP_RAD`), gripper in [-1 open, +1 closed]. All in [-1, 1].
# Robots with several arms (the humanoid) take an optional 8th entry, the arm
# selector: <= 0 the first arm in `Robot.arms`, > 0 the second.
EE_ACTION_DIM = 7
EE_ACTION_DIM_WITH_ARM = 8
EE_STEP_M = 0.02
EE_STEP_RAD = 0.1


@dataclass(frozen=True)
class JointLimits:
    """Per-joint limits from the robot's model (radians or metres, SI rates)."""

    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.lower)
        for name in ("upper", "velocity", "effort"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"JointLimits.{name} has {len(getattr(self, name))} entries, expected {n}")
        if np.any(np.asarray(self.lower) > np.asarray(self.upper)):
            raise ValueError(f"JointLimits lower > upper: lower={self.lower}, upper={self.upper}")


@dataclass
class RobotState:
    """One reading of the robot. Arrays are float64 unless noted; poses are [x y z qx qy qz qw]."""

    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    joint_efforts: np.ndarray
    ee_pose: np.ndarray
    gripper: float  # opening in [0 closed, 1 open]
    cameras: dict[str, np.ndarray] = field(default_factory=dict)  # name -> HxWx3 uint8
    time_s: float = 0.0  # the backend's clock: simulated time in sim, monotonic time on hardware
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # e.g. "privileged" task state in sim


@dataclass
class EpisodeInfo:
    """What a backend that runs episodes (simulation) reports about the current one."""

    instruction: str
    seed: int | None = None
    task: str = ""
    success: bool = False
    done: bool = False  # success or time limit
    steps: int = 0


class Robot(ABC):
    """A robot that the robot node drives, whether simulated or real.

    Lifecycle: `connect()` then any number of `read()`/`write_joint_targets()`/`advance()`,
    then `disconnect()`. `advance(dt_s)` moves simulated time forward; on hardware
    time passes by itself and it does nothing.
    """

    name: str = "robot"
    joint_names: tuple[str, ...] = ()
    limits: JointLimits
    camera_names: tuple[str, ...] = ()
    # Arms that end-effector commands can address; `ee_pose`, `gripper` and `solve_ik`
    # refer to the active one.
    arms: tuple[str, ...] = ("arm",)
    active_arm: int = 0

    def connect(self) -> None:  # noqa: B027 - optional hook
        """Open buses / start the simulator. Idempotent."""

    def disconnect(self) -> None:  # noqa: B027 - optional hook
        """Release hardware or the simulator. Idempotent."""

    @abstractmethod
    def read(self, with_cameras: bool = True) -> RobotState:
        """Read the current state (cameras only when asked: rendering is expensive)."""

    @abstractmethod
    def write_joint_targets(self, joint_positions: np.ndarray, gripper: float) -> None:
        """Send already-filtered joint position targets and a gripper target in [0 closed, 1 open]."""

    @abstractmethod
    def solve_ik(self, ee_pose: np.ndarray, seed_joint_positions: np.ndarray) -> np.ndarray:
        """Joint positions that put the end effector at `ee_pose` ([x y z qx qy qz qw])."""

    def select_arm(self, index: int) -> None:
        """Make arm `index` of `arms` the one end-effector commands move."""
        if not 0 <= index < len(self.arms):
            raise ValueError(f"arm index {index} out of range for arms {self.arms}")
        self.active_arm = index

    def advance(self, dt_s: float) -> None:  # noqa: B027 - hardware: time passes by itself
        """Move the backend's clock forward by `dt_s` (simulation steps physics)."""

    # Hardware enables torque on connect: the safety filter then ramps velocity limits up (soft start).
    soft_start_on_connect: bool = False

    # Episodes exist only where the world can be reset (simulation).
    supports_episodes: bool = False

    def reset_episode(self, seed: int | None = None) -> EpisodeInfo:
        raise NotImplementedError(f"{type(self).__name__} does not run episodes")

    def episode_info(self) -> EpisodeInfo:
        raise NotImplementedError(f"{type(self).__name__} does not run episodes")
