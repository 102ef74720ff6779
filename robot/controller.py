"""Turn policy actions into safe joint targets for any `Robot`.

One path for every caller (the robot node, the gymnasium envs, evaluation), so a
policy sees the same robot behaviour in training and deployment:

    action -> end-effector target (ee_delta mode) -> robot IK -> SafetyFilter -> backend
"""

from __future__ import annotations

import numpy as np

from robot.interface import EE_ACTION_DIM, EE_ACTION_DIM_WITH_ARM, EE_STEP_M, EE_STEP_RAD, Robot, RobotState
from robot.safety import FilteredCommand, SafetyFilter

ACTION_MODES = ("ee_delta", "joint_position")


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternions in [x y z w] order."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def quat_from_rotvec(rotvec: np.ndarray) -> np.ndarray:
    """Quaternion [x y z w] for a rotation vector (axis * angle, radians)."""
    angle = float(np.linalg.norm(rotvec))
    if angle < 1e-12:
        return np.array([0.0, 0.0, 0.0, 1.0])
    axis = np.asarray(rotvec) / angle
    return np.concatenate([axis * np.sin(angle / 2), [np.cos(angle / 2)]])


def ee_target_from_delta(ee_pose: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Apply a scaled [-1, 1] delta (world frame) to a pose [x y z qx qy qz qw]."""
    position = ee_pose[:3] + action[:3] * EE_STEP_M
    rotation = quat_multiply(quat_from_rotvec(action[3:6] * EE_STEP_RAD), ee_pose[3:7])
    return np.concatenate([position, rotation / np.linalg.norm(rotation)])


class ActionController:
    """Applies actions to a robot through its safety filter, one control period at a time."""

    def __init__(self, robot: Robot, safety: SafetyFilter, control_period_s: float) -> None:
        self.robot = robot
        self.safety = safety
        self.control_period_s = control_period_s

    def joint_targets(
        self, action: np.ndarray, mode: str, state: RobotState, now_s: float = 0.0
    ) -> tuple[np.ndarray, float] | None:
        """Joint targets (not yet filtered) and gripper opening [0 closed, 1 open] for one action row.

        None when the action yields no usable command: a non-finite end-effector target, or one
        in a keep-out zone of the safety filter's workspace (which clamps targets into its box).
        """
        action = np.asarray(action, dtype=np.float64)
        if mode == "ee_delta":
            if action.shape not in ((EE_ACTION_DIM,), (EE_ACTION_DIM_WITH_ARM,)):
                raise ValueError(
                    f"ee_delta action has shape {action.shape}, expected ({EE_ACTION_DIM},) "
                    f"or ({EE_ACTION_DIM_WITH_ARM},) with an arm selector"
                )
            if action.shape == (EE_ACTION_DIM_WITH_ARM,) and len(self.robot.arms) > 1:
                arm = int(action[EE_ACTION_DIM] > 0)
                if arm != self.robot.active_arm and np.isfinite(action[EE_ACTION_DIM]):
                    self.robot.select_arm(arm)
                    state = self.robot.read(with_cameras=False)
            clipped = np.clip(action[:EE_ACTION_DIM], -1.0, 1.0)
            target = self.safety.check_workspace(
                ee_target_from_delta(np.asarray(state.ee_pose, dtype=np.float64), clipped), now_s)
            if target is None:
                return None
            q = self.robot.solve_ik(target, state.joint_positions)
            return np.asarray(q, dtype=np.float64), 0.0 if clipped[6] > 0 else 1.0
        if mode == "joint_position":
            n = len(state.joint_positions)
            if action.shape != (n + 1,):
                raise ValueError(f"joint_position action has shape {action.shape}, expected ({n + 1},)")
            return action[:n], 0.0 if action[n] > 0 else 1.0
        raise ValueError(f"unknown action mode {mode!r}, expected one of {ACTION_MODES}")

    def apply(
        self, action: np.ndarray | None, mode: str, state: RobotState, now_s: float
    ) -> FilteredCommand:
        """Filter and write one cycle's command; `action=None` means none arrived (watchdog)."""
        targets = None if action is None else self.joint_targets(action, mode, state, now_s)
        q, gripper = targets if targets is not None else (None, None)
        command = self.safety.filter(q, gripper, state.joint_positions, now_s, self.control_period_s,
                                     measured_effort=state.joint_efforts)
        self.robot.write_joint_targets(command.joint_positions, command.gripper)
        return command
