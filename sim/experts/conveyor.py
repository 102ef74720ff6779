"""The privileged scripted expert for Conveyor: intercept a part on the moving belt, tote it.

It reads only the observation dict (``proprio`` and ``privileged``). A phase machine:

    approach (above the intercept point) -> descend (tracking the part) -> close (tracking)
    -> lift -> carry (above the tote) -> lower -> release -> retreat

Intercepting: the part moves at the belt's velocity `v` until the end stop, and the hand
moves at most `approach_speed_m_s`, so the expert aims where the part will be when the
hand can get there (the smallest t with |p + v t - hand| <= speed * t, clamped at the end
stop), and while it descends and closes it aims `lead_s` ahead of the part, which makes up
for the lag between commanding a pose and the arm reaching it. A part lost on the way
(slipped, dropped back on the belt or the table) sends the expert back to the approach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Observation
from sim.experts.pick_place import ee_action
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.conveyor import Conveyor


@dataclass(frozen=True)
class ConveyorExpertConfig:
    carry_z_m: float = 0.17
    hover_above_m: float = 0.07  # approach this far above the part's centre
    grasp_below_centre_m: float = 0.004
    fingertip_clearance_m: float = 0.012  # grasp point at least this far above the part's bottom
    release_above_floor_m: float = 0.025
    lead_s: float = 0.1  # aim this far ahead of the moving part while tracking it
    approach_speed_m_s: float = 0.25  # what the intercept estimate assumes (below the 0.4 m/s a step allows)
    xy_tolerance_m: float = 0.005
    z_tolerance_m: float = 0.005
    yaw_tolerance_rad: float = 0.05
    close_steps: int = 5
    release_steps: int = 5
    lost_steps: int = 3


def intercept_time(part_xy: np.ndarray, velocity_xy: np.ndarray, hand_xy: np.ndarray, speed: float) -> float:
    """Smallest t >= 0 with |part + v t - hand| = speed * t (the part is slower than the hand)."""
    d = part_xy - hand_xy
    a = float(velocity_xy @ velocity_xy) - speed**2  # < 0 when the hand is faster
    b = 2.0 * float(d @ velocity_xy)
    c = float(d @ d)
    if a >= 0.0:
        return 0.0
    return max(0.0, (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a))


def predicted_xy(s: dict[str, np.ndarray], ahead_s: float) -> np.ndarray:
    """Where the part will be `ahead_s` from now: carried by its pallet, no further than the end stop."""
    part, velocity = s["part_pose"][:2], s["belt_velocity"][:2]
    predicted = part + velocity * ahead_s
    if velocity[0] < 0.0:  # the belt runs toward the robot and stops at belt_end_x
        predicted[0] = max(predicted[0], min(part[0], float(s["belt_end_x"][0])))
    return predicted


class ConveyorExpert:
    """Implements `policies.base.Policy` for Conveyor from privileged state."""

    def __init__(self, config: ConveyorExpertConfig | None = None) -> None:
        self.config = config or ConveyorExpertConfig()
        self.reset("")

    def reset(self, instruction: str) -> None:
        self.instruction = instruction
        self.phase = "approach"
        self._phase_steps = 0
        self._lost = 0
        self._hold_xy = np.zeros(2)
        self._hold_yaw = 0.0

    def _enter(self, phase: str) -> None:
        self.phase, self._phase_steps = phase, 0

    def act(self, observation: Observation) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        state = Conveyor.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        ee, ee_quat = proprio[:3], proprio[3:7]
        target, yaw, close = self._plan(ee, yaw_of(ee_quat), state)
        self._phase_steps += 1
        return ee_action(ee, ee_quat, target, yaw, close)

    # -- the phase machine ---------------------------------------------------------
    def _plan(self, ee: np.ndarray, ee_yaw: float, s: dict[str, np.ndarray]) -> tuple[np.ndarray, float, bool]:
        """Target position, target yaw and gripper command for this step (may change phase)."""
        cfg = self.config
        part = s["part_pose"][:3]
        half_z = float(s["part_half_extents"][2])
        grasp_yaw = ee_yaw + wrap_angle(float(s["grasp_yaw"][0]) - ee_yaw, np.pi)
        grasp_z = max(part[2] - cfg.grasp_below_centre_m, part[2] - half_z + cfg.fingertip_clearance_m)
        holding = s["grasped"][0] > 0.5
        tracked = predicted_xy(s, cfg.lead_s)

        if self.phase in ("lift", "carry", "lower"):
            self._lost = 0 if holding else self._lost + 1
            if self._lost >= cfg.lost_steps and s["in_tote"][0] < 0.5:
                self._enter("recover")

        if self.phase == "recover":  # open and rise before trying again
            if self._phase_steps >= cfg.release_steps and ee[2] > part[2] + cfg.hover_above_m - 0.02:
                self._enter("approach")
            return np.array([ee[0], ee[1], part[2] + cfg.hover_above_m]), ee_yaw, False
        if self.phase == "approach":
            ahead = intercept_time(part[:2], s["belt_velocity"][:2], ee[:2], cfg.approach_speed_m_s)
            hover = np.array([*predicted_xy(s, max(ahead, cfg.lead_s)), part[2] + cfg.hover_above_m])
            aligned = abs(wrap_angle(grasp_yaw - ee_yaw)) < cfg.yaw_tolerance_rad
            close_xy = np.linalg.norm(tracked - ee[:2]) < cfg.xy_tolerance_m
            if close_xy and abs(hover[2] - ee[2]) < 0.02 and aligned:
                self._enter("descend")
            return hover, grasp_yaw, False
        if self.phase == "descend":
            if np.linalg.norm(tracked - ee[:2]) > 3 * cfg.xy_tolerance_m:
                self._enter("approach")  # fell behind the part: line up again from above
            elif abs(grasp_z - ee[2]) < cfg.z_tolerance_m:
                self._enter("close")
            return np.array([*tracked, grasp_z]), grasp_yaw, False
        if self.phase == "close":  # keep riding along with the part while the fingers close
            if self._phase_steps >= cfg.close_steps:
                self._enter("lift" if holding else "recover")
                self._hold_xy, self._hold_yaw = ee[:2].copy(), ee_yaw
            return np.array([*tracked, grasp_z]), grasp_yaw, True
        tote_xy, floor_z = s["tote_center"][:2], float(s["tote_center"][2])
        if self.phase == "lift":
            if ee[2] > cfg.carry_z_m - 0.03:
                self._enter("carry")
            return np.array([*self._hold_xy, cfg.carry_z_m]), self._hold_yaw, True
        if self.phase == "carry":
            if np.linalg.norm(tote_xy - ee[:2]) < 1.5 * cfg.xy_tolerance_m:
                self._enter("lower")
            return np.array([*tote_xy, cfg.carry_z_m]), self._hold_yaw, True
        release_z = floor_z + cfg.release_above_floor_m + half_z
        if self.phase == "lower":
            if ee[2] - release_z < 2 * cfg.z_tolerance_m:
                self._enter("release")
            return np.array([*tote_xy, release_z]), self._hold_yaw, True
        if self.phase == "release":
            if self._phase_steps >= cfg.release_steps:
                self._enter("retreat")
            return np.array([*tote_xy, release_z]), self._hold_yaw, False
        return np.array([*tote_xy, cfg.carry_z_m]), self._hold_yaw, False  # retreat, then wait

