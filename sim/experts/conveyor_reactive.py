"""A memoryless Conveyor expert: its action is a function of the current observation alone.

The phase machine in `conveyor.py` remembers its phase, the close count and the hand pose
frozen at the close. As a DAgger labeller that memory can disagree with what a student sees
(docs/experiments/README.md: a Conveyor student hovers over the part with its yaw 18 deg off,
a state the phase machine's demonstrations never show). This expert decides each step from
the scene, with the phase machine's intercept and tracking:

    part released over its tote        -> open, rise to carry height (retreat)
    holding, low, not over the tote    -> straight up (lift)
    holding, not over the tote         -> to the tote at carry height (carry)
    holding, over the tote, high       -> down to the release height (lower)
    holding, at the release height     -> open (release)
    hand not lined up with the part    -> open, above where the part will be (approach)
    lined up, fingers shut on nothing  -> open, rise (a missed grasp; then down again)
    lined up, above the grasp height   -> open, down, riding along (descend)
    lined up, at the grasp height      -> close, riding along
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation
from sim.experts.conveyor import ConveyorExpertConfig, intercept_time, predicted_xy
from sim.experts.pick_place import ee_action
from sim.experts.pick_place_reactive import EMPTY_GRIP, pick_yaw
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.conveyor import Conveyor


class ReactiveConveyorExpert:
    """Implements `policies.base.Policy` for Conveyor; keeps no state between steps."""

    def __init__(self, config: ConveyorExpertConfig | None = None) -> None:
        self.config = config or ConveyorExpertConfig()
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.instruction = instruction

    def act(self, observation: Observation) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        state = Conveyor.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        ee, ee_quat, opening = proprio[:3], proprio[3:7], float(proprio[7])
        target, yaw, close = self.plan(ee, yaw_of(ee_quat), opening, state)
        return ee_action(ee, ee_quat, target, yaw, close)

    def plan(
        self, ee: np.ndarray, ee_yaw: float, opening: float, s: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, float, bool]:
        """Target position, target yaw and gripper command (True: close) for this state."""
        cfg = self.config
        part = s["part_pose"][:3]
        half_z = float(s["part_half_extents"][2])
        tote_xy, floor_z = s["tote_center"][:2], float(s["tote_center"][2])
        part_over_tote = bool(np.all(np.abs(part[:2] - tote_xy) <= s["tote_inner_half_xy"]))
        if s["grasped"][0] < 0.5 and (s["in_tote"][0] > 0.5 or part_over_tote):
            return np.array([ee[0], ee[1], cfg.carry_z_m]), ee_yaw, False
        if s["grasped"][0] > 0.5:
            low = ee[2] < cfg.carry_z_m - 0.03
            to_tote = float(np.linalg.norm(tote_xy - ee[:2]))
            over_tote = to_tote < 1.5 * cfg.xy_tolerance_m or (low and to_tote < 4 * cfg.xy_tolerance_m)
            if not over_tote:
                target_xy = ee[:2] if low else tote_xy
                return np.array([*target_xy, cfg.carry_z_m]), ee_yaw, True
            release_z = floor_z + cfg.release_above_floor_m + half_z
            return np.array([*tote_xy, release_z]), ee_yaw, ee[2] - release_z >= 2 * cfg.z_tolerance_m

        grasp_yaw = pick_yaw(ee_yaw, float(s["grasp_yaw"][0]))
        grasp_z = max(part[2] - cfg.grasp_below_centre_m, part[2] - half_z + cfg.fingertip_clearance_m)
        tracked = predicted_xy(s, cfg.lead_s)
        xy_error = float(np.linalg.norm(tracked - ee[:2]))
        yaw_error = abs(wrap_angle(grasp_yaw - ee_yaw))
        low = ee[2] < part[2] + cfg.hover_above_m - 0.02
        lined_up = (xy_error < cfg.xy_tolerance_m and yaw_error < cfg.yaw_tolerance_rad) or (
            low and xy_error < 3 * cfg.xy_tolerance_m and yaw_error < 3 * cfg.yaw_tolerance_rad
        )
        if not lined_up or opening < EMPTY_GRIP:
            ahead = intercept_time(part[:2], s["belt_velocity"][:2], ee[:2], cfg.approach_speed_m_s)
            hover = np.array([*predicted_xy(s, max(ahead, cfg.lead_s)), part[2] + cfg.hover_above_m])
            return hover, grasp_yaw, False
        return np.array([*tracked, grasp_z]), grasp_yaw, ee[2] - grasp_z < cfg.z_tolerance_m
