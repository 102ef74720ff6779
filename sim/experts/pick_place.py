"""The privileged scripted expert for PickPlace.

It reads only the observation dict (``proprio`` and ``privileged``), so it runs anywhere a
policy runs, including in another process over the wire. A small phase machine:

    approach (above the part, yaw aligned) -> descend -> close -> lift -> carry (above the bin)
    -> lower -> release -> retreat

and back to approach whenever the part is lost before it reaches the bin. Each step it
aims at a target pose and outputs the end-effector delta that moves toward it, at most
`EE_STEP_M` / `EE_STEP_RAD` per step (see `robot.interface`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Observation
from robot.interface import EE_ACTION_DIM, EE_STEP_M, EE_STEP_RAD
from sim.geometry import matrix_to_rotvec, quat_to_matrix, rotz, wrap_angle, yaw_of
from sim.tasks.pick_place import PickPlace

DOWN = np.diag([1.0, -1.0, -1.0])  # gripper z pointing down, fingers closing along world y


def ee_action(
    ee: np.ndarray, ee_quat: np.ndarray, target: np.ndarray, yaw: float, close: bool, max_step: float = 1.0
) -> np.ndarray:
    """The 7-D action moving the grasp point toward `target` (at most `max_step` x EE_STEP_M per axis)
    and turning the hand toward pointing down at `yaw`."""
    action = np.zeros(EE_ACTION_DIM, dtype=np.float32)
    action[:3] = np.clip((target - ee) / EE_STEP_M, -max_step, max_step)
    error = matrix_to_rotvec(rotz(yaw) @ DOWN @ quat_to_matrix(ee_quat).T)  # world frame, measured -> wanted
    action[3:6] = np.clip(error / EE_STEP_RAD, -1.0, 1.0)
    action[6] = 1.0 if close else -1.0
    return action


@dataclass(frozen=True)
class ExpertConfig:
    carry_z_m: float = 0.17  # grasp-point height while carrying (clears bin walls and parts)
    hover_above_m: float = 0.09  # approach this far above the part's centre
    grasp_below_centre_m: float = 0.004
    min_grasp_z_m: float = 0.014  # fingertips stay clear of the table
    release_above_floor_m: float = 0.025  # part bottom this far above the bin floor at release
    xy_tolerance_m: float = 0.006
    z_tolerance_m: float = 0.005
    yaw_tolerance_rad: float = 0.04
    close_steps: int = 6
    release_steps: int = 5
    lost_steps: int = 3  # consecutive steps without the part before starting over


class PickPlaceExpert:
    """Implements `policies.base.Policy` for PickPlace from privileged state."""

    def __init__(self, config: ExpertConfig | None = None) -> None:
        self.config = config or ExpertConfig()
        self.reset("")

    def reset(self, instruction: str) -> None:
        self.instruction = instruction
        self.phase = "approach"
        self._phase_steps = 0
        self._lost = 0
        self._hold_yaw = 0.0
        self._hold_xy = np.zeros(2)

    def _enter(self, phase: str) -> None:
        self.phase, self._phase_steps = phase, 0

    def act(self, observation: Observation) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        state = PickPlace.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        ee, ee_quat = proprio[:3], proprio[3:7]
        target, yaw, close = self._plan(ee, ee_quat, state)
        self._phase_steps += 1
        return ee_action(ee, ee_quat, target, yaw, close)

    # -- the phase machine ---------------------------------------------------------
    def _plan(self, ee: np.ndarray, ee_quat: np.ndarray, s: dict[str, np.ndarray]) -> tuple[np.ndarray, float, bool]:
        """Target position, target yaw and gripper command for this step (may change phase)."""
        cfg = self.config
        part = s["part_pose"][:3]
        half_z = float(s["part_half_extents"][2])
        bin_xy, floor_z = s["bin_center"][:2], float(s["bin_center"][2])
        ee_yaw = yaw_of(ee_quat)
        grasp_yaw = ee_yaw + wrap_angle(float(s["grasp_yaw"][0]) - ee_yaw, np.pi)
        grasp_z = max(part[2] - cfg.grasp_below_centre_m, cfg.min_grasp_z_m)
        holding = s["grasped"][0] > 0.5 or np.linalg.norm(part - ee) < 0.02

        if self.phase in ("lift", "carry", "lower"):
            self._lost = 0 if holding else self._lost + 1
            if self._lost >= cfg.lost_steps and s["in_bin"][0] < 0.5:
                self._enter("recover")

        if self.phase == "recover":  # open and rise before trying again
            if self._phase_steps >= cfg.release_steps and ee[2] > part[2] + cfg.hover_above_m - 0.02:
                self._enter("approach")
            return np.array([ee[0], ee[1], part[2] + cfg.hover_above_m]), ee_yaw, False
        if self.phase == "approach":
            target = np.array([part[0], part[1], part[2] + cfg.hover_above_m])
            aligned = abs(wrap_angle(grasp_yaw - ee_yaw)) < cfg.yaw_tolerance_rad
            if np.linalg.norm(target[:2] - ee[:2]) < cfg.xy_tolerance_m and abs(target[2] - ee[2]) < 0.02 and aligned:
                self._enter("descend")
            return target, grasp_yaw, False
        if self.phase == "descend":
            target = np.array([part[0], part[1], grasp_z])
            if np.linalg.norm(target[:2] - ee[:2]) > 3 * cfg.xy_tolerance_m:
                self._enter("approach")  # the part moved: line up again from above
            elif abs(target[2] - ee[2]) < cfg.z_tolerance_m:
                self._enter("close")
                self._hold_xy, self._hold_yaw = ee[:2].copy(), ee_yaw
            return target, grasp_yaw, False
        if self.phase == "close":
            if self._phase_steps >= cfg.close_steps:
                self._enter("lift" if s["grasped"][0] > 0.5 else "recover")
            return np.array([*self._hold_xy, grasp_z]), self._hold_yaw, True
        if self.phase == "lift":
            if ee[2] > cfg.carry_z_m - 0.02:
                self._enter("carry")
            return np.array([*self._hold_xy, cfg.carry_z_m]), self._hold_yaw, True
        if self.phase == "carry":
            if np.linalg.norm(bin_xy - ee[:2]) < 1.5 * cfg.xy_tolerance_m:
                self._enter("lower")
            return np.array([*bin_xy, cfg.carry_z_m]), self._hold_yaw, True
        release_z = floor_z + cfg.release_above_floor_m + half_z
        if self.phase == "lower":
            if ee[2] - release_z < cfg.z_tolerance_m * 2:
                self._enter("release")
            return np.array([*bin_xy, release_z]), self._hold_yaw, True
        if self.phase == "release":
            if self._phase_steps >= cfg.release_steps:
                self._enter("retreat")
            return np.array([*bin_xy, release_z]), self._hold_yaw, False
        return np.array([*bin_xy, cfg.carry_z_m]), self._hold_yaw, False  # retreat, then wait
