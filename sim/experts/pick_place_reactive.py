"""A memoryless PickPlace expert: its action is a function of the current observation alone.

The phase machine in `pick_place.py` carries hidden state (its phase, the step count of a
close, the hand pose it froze when closing). That is fine for demonstrations, but a
distillation teacher labels states the *student* visits, and there the hidden phase may
disagree with what the student can see: the same image gets different labels. This expert
decides each step from what the scene shows (hand pose, finger opening, part pose, whether
the fingers hold the part), so equal states get equal labels, which is what DAgger assumes.

Rules, first match wins:
    part released over its bin          -> open, rise to carry height (retreat)
    holding, low, not over the bin      -> straight up (lift)
    holding, not over the bin           -> to the bin at carry height (carry)
    holding, over the bin, high         -> down to the release height (lower)
    holding, at the release height      -> open (release)
    hand not lined up with the part     -> open, above the part (approach)
    lined up, fingers shut on nothing   -> open, rise (a missed grasp; then down again)
    lined up, above the grasp height    -> open, down (descend)
    lined up, at the grasp height       -> close
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation
from sim.experts.pick_place import ExpertConfig, ee_action
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.pick_place import PickPlace

EMPTY_GRIP = 0.1  # finger opening (fraction of 80 mm) below this holds nothing: a missed grasp
# A grasp yaw further than this from the neutral hand yaw (0) is taken turned by pi instead, whatever the
# hand's yaw now: the wrist's range is about +-2.9 rad, and a hand left wound up by an earlier placement
# (Kitting turns parts to their slots) would otherwise turn on into its limit.
MAX_HAND_YAW_RAD = 1.75


class ReactivePickPlaceExpert:
    """Implements `policies.base.Policy` for PickPlace; keeps no state between steps."""

    def __init__(self, config: ExpertConfig | None = None) -> None:
        self.config = config or ExpertConfig()
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.instruction = instruction

    def act(self, observation: Observation) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        state = PickPlace.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        ee, ee_quat, opening = proprio[:3], proprio[3:7], float(proprio[7])
        target, yaw, close = self.plan(ee, ee_quat, opening, state)
        return ee_action(ee, ee_quat, target, yaw, close)

    def plan(
        self, ee: np.ndarray, ee_quat: np.ndarray, opening: float, s: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, float, bool]:
        """Target position, target yaw and gripper command (True: close) for this state."""
        cfg = self.config
        part = s["part_pose"][:3]
        bin_xy, floor_z = s["bin_center"][:2], float(s["bin_center"][2])
        ee_yaw = yaw_of(ee_quat)
        holding = s["grasped"][0] > 0.5
        carry = np.array([*bin_xy, cfg.carry_z_m])
        part_over_bin = bool(np.all(np.abs(part[:2] - bin_xy) <= s["bin_inner_half_xy"]))

        if not holding and (s["in_bin"][0] > 0.5 or part_over_bin):
            return carry, ee_yaw, False  # released (or falling) into the bin: get out of the way
        if holding:
            low = ee[2] < cfg.carry_z_m - 0.02
            to_bin = float(np.linalg.norm(bin_xy - ee[:2]))
            over_bin = to_bin < 1.5 * cfg.xy_tolerance_m or (low and to_bin < 4 * cfg.xy_tolerance_m)
            if not over_bin:
                return (np.array([ee[0], ee[1], cfg.carry_z_m]) if low else carry), ee_yaw, True
            release_z = floor_z + cfg.release_above_floor_m + float(s["part_half_extents"][2])
            at_release = ee[2] - release_z < 2 * cfg.z_tolerance_m
            return np.array([*bin_xy, release_z]), ee_yaw, not at_release

        return reactive_pick(ee, ee_yaw, opening, part, float(s["grasp_yaw"][0]), cfg)


def pick_yaw(ee_yaw: float, grasp_yaw: float) -> float:
    """The hand yaw that grasps a part across `grasp_yaw` (a two-finger grasp repeats every pi): the
    nearest to the hand's yaw now, unless that is more than `MAX_HAND_YAW_RAD` from neutral."""
    nearest = wrap_angle(ee_yaw + wrap_angle(grasp_yaw - ee_yaw, np.pi))
    return nearest if abs(nearest) <= MAX_HAND_YAW_RAD else nearest - np.sign(nearest) * np.pi


def reactive_pick(
    ee: np.ndarray, ee_yaw: float, opening: float, part: np.ndarray, grasp_yaw: float, cfg: ExpertConfig
) -> tuple[np.ndarray, float, bool]:
    """The pick half of the rules (approach, missed grasp, descend, close) for a part not held:
    target position, target yaw and gripper command. `grasp_yaw` as the task reports it
    (folded by the part's symmetry); the hand turns the least it can to match it."""
    grasp_yaw = pick_yaw(ee_yaw, grasp_yaw)
    grasp_z = max(part[2] - cfg.grasp_below_centre_m, cfg.min_grasp_z_m)
    hover = np.array([part[0], part[1], part[2] + cfg.hover_above_m])
    xy_error = float(np.linalg.norm(part[:2] - ee[:2]))
    yaw_error = abs(wrap_angle(grasp_yaw - ee_yaw))
    low = ee[2] < part[2] + cfg.hover_above_m - 0.02
    # Lined up: within tolerance from above; a looser band once down, where closing fingers nudge the part.
    lined_up = (xy_error < cfg.xy_tolerance_m and yaw_error < cfg.yaw_tolerance_rad) or (
        low and xy_error < 3 * cfg.xy_tolerance_m and yaw_error < 3 * cfg.yaw_tolerance_rad
    )
    if not lined_up:
        return hover, grasp_yaw, False
    if opening < EMPTY_GRIP:
        return hover, grasp_yaw, False
    grasp = np.array([part[0], part[1], grasp_z])
    return grasp, grasp_yaw, ee[2] - grasp_z < cfg.z_tolerance_m
