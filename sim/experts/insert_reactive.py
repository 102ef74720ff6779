"""A memoryless Insert expert: its action is a function of the current observation alone.

The phase machine in `insert.py` remembers its phase, the hand pose frozen at the close and
the deepest insertion so far (to notice a jam). As a DAgger labeller that memory can disagree
with what a student sees; this expert decides each step from the scene, with the phase
machine's motions and tolerances. Rules, first match wins:

    peg let go at depth                      -> open, rise to carry height (retreat)
    peg not held                             -> the pick rules of `reactive_pick`
    held, at the release depth               -> open (release)
    held, peg bottom below the mouth:
        lined up (loose band), upright       -> down a step, correcting sideways (insert)
        otherwise (a jam on the rim)         -> back up to the mouth, correcting (realign)
    held, at the mouth, lined up (tight)     -> down a step (insert)
    held, within 10 mm of the hole and low,
        or within 3 mm and turned to it      -> to the mouth, correcting (lower)
    held, low, far from the hole             -> straight up (lift)
    held, otherwise                          -> over the hole at carry height, turning (carry)

The tight band at the mouth and the loose one below it give the hysteresis the phase machine
gets from its phase: a peg that has started in is not pulled out for a small lag of the fingers.
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation
from robot.interface import EE_STEP_M
from sim.experts.insert import QUARTER_TURN, InsertExpertConfig
from sim.experts.pick_place import ExpertConfig, ee_action
from sim.experts.pick_place_reactive import reactive_pick
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.insert import MAX_TILT_RAD, MIN_DEPTH_FRACTION, Insert

LOOSE_XY_M = 0.0008  # peg bottom to hole centre while already below the mouth (the hole allows 0.75 mm)
LOOSE_YAW_RAD = 0.03
FINE_XY_M = 0.001  # below this, correct the whole error in one step
NEAR_HOLE_M = 0.01  # peg bottom this close to the hole (xy): lower rather than carry


class ReactiveInsertExpert:
    """Implements `policies.base.Policy` for Insert; keeps no state between steps."""

    def __init__(self, config: InsertExpertConfig | None = None) -> None:
        self.config = config or InsertExpertConfig()
        cfg = self.config
        # The pick half reuses PickPlace's memoryless rules with Insert's grasp (high on the tall peg).
        self.pick = ExpertConfig(
            hover_above_m=cfg.hover_above_m,
            grasp_below_centre_m=-cfg.grasp_above_centre_m,
            xy_tolerance_m=cfg.xy_tolerance_m,
            z_tolerance_m=cfg.z_tolerance_m,
            yaw_tolerance_rad=cfg.yaw_tolerance_rad,
        )
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.instruction = instruction

    def act(self, observation: Observation) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        state = Insert.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        ee, ee_quat, opening = proprio[:3], proprio[3:7], float(proprio[7])
        target, yaw, close, max_step = self.plan(ee, yaw_of(ee_quat), opening, state)
        return ee_action(ee, ee_quat, target, yaw, close, max_step)

    def plan(
        self, ee: np.ndarray, ee_yaw: float, opening: float, s: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, float, bool, float]:
        """Target position, target yaw, gripper command (True: close) and speed cap for this state."""
        cfg = self.config
        depth, hole_depth = float(s["insertion_depth"][0]), float(s["hole_depth"][0])
        held = s["grasped"][0] > 0.5
        if not held:
            if depth >= MIN_DEPTH_FRACTION * hole_depth:
                return np.array([ee[0], ee[1], cfg.carry_z_m]), ee_yaw, False, 0.5
            return (*reactive_pick(ee, ee_yaw, opening, s["peg_pose"][:3], float(s["grasp_yaw"][0]), self.pick), 1.0)
        if depth >= cfg.release_depth_fraction * hole_depth:
            return ee.copy(), ee_yaw, False, 0.2

        bottom, hole = s["peg_bottom"], s["hole_top"]
        yaw_error = wrap_angle(float(s["hole_yaw"][0]) - float(s["grasp_yaw"][0]), QUARTER_TURN)
        yaw = ee_yaw + yaw_error
        xy_error = hole[:2] - bottom[:2]
        off = float(np.linalg.norm(xy_error))
        # Part of the error per step, as the phase machine does (the peg lags the hand), except the last
        # millimetre: a fraction of that is below what the arm resolves, and the peg would stay put.
        corrected = ee[:2] + (1.0 if off < FINE_XY_M else cfg.align_gain) * xy_error
        mouth_z = hole[2] + cfg.mouth_gap_m + (ee[2] - bottom[2])  # grasp-point height, peg just above the mouth
        insert_step = np.array([*corrected, ee[2] - cfg.insert_step_m]), yaw, True, cfg.insert_step_m / EE_STEP_M
        if bottom[2] < hole[2] + cfg.mouth_gap_m - 0.002:  # started in (or jammed on the rim)
            if off < LOOSE_XY_M and abs(yaw_error) < LOOSE_YAW_RAD and float(s["tilt"][0]) < MAX_TILT_RAD:
                return insert_step
            return np.array([*corrected, mouth_z]), yaw, True, 0.5
        at_mouth = abs(ee[2] - mouth_z) < 0.002
        if at_mouth and off < cfg.align_xy_m and abs(yaw_error) < cfg.align_yaw_rad:
            return insert_step
        low = ee[2] < cfg.carry_z_m - 0.02
        if off < NEAR_HOLE_M and (low or (off < 0.003 and abs(yaw_error) < 0.05)):
            return np.array([*corrected, mouth_z]), yaw, True, 0.5
        if low and off > 4 * cfg.xy_tolerance_m:
            return np.array([ee[0], ee[1], cfg.carry_z_m]), ee_yaw, True, 1.0
        return np.array([*(ee[:2] + xy_error), max(ee[2], cfg.carry_z_m)]), yaw, True, 1.0
