"""What `SimRobot` and the tasks need from a robot model, so any robot can drop into the cell.

A model wraps one loaded body in a `World`'s client and is rebuilt with every episode. Its
`make_kinematics()` returns a solver on a private, never-stepped copy of the robot (IK must
not disturb the physics). Poses are [x y z qx qy qz qw]; the grasp frame points its z axis
along the fingers and closes them along its y axis, for every robot, so experts and
policies mean the same thing by an end-effector action whichever robot runs.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from robot.interface import JointLimits
from sim.cameras import SceneCamera


class Kinematics(Protocol):
    def solve(self, ee_pose: np.ndarray, seed_q: np.ndarray) -> np.ndarray:
        """Joint positions (all `joint_names`) putting the active grasp point at `ee_pose`."""
        ...

    def forward(self, q: np.ndarray) -> np.ndarray: ...

    def select_arm(self, index: int) -> None: ...

    def close(self) -> None: ...


class RobotModel(Protocol):
    joint_names: tuple[str, ...]
    limits: JointLimits
    arms: tuple[str, ...]
    scene_camera_fixed: bool  # whether `scene_camera()` is the same view all episode (it may cache)

    def reset(self) -> None:
        """Teleport to the home posture at rest, grippers open, first arm active."""
        ...

    def joint_states(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def ee_pose(self) -> np.ndarray: ...

    def wrist_mount_pose(self) -> np.ndarray: ...

    def scene_camera(self) -> SceneCamera: ...

    def gripper_opening(self) -> float: ...

    def set_targets(self, q: np.ndarray, gripper: float) -> None: ...

    def finger_contact(self, body: int) -> tuple[bool, bool]: ...

    def select_arm(self, index: int) -> None: ...
