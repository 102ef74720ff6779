"""A memoryless pick-and-place: the action is a function of the current observation alone.

`motions.PickAndPlace` is a phase machine, and its hidden phase (a restarted pick, the
release count, the hand pose frozen at the close) can disagree with what a student sees in
the states the student visits, so its DAgger labels contradict each other (on Stack, three
rounds took a student from 88 % to 54 %; assets/student_stack/MODEL_CARD.md). This is the
same job decided each step from the scene, as `pick_place_reactive` does for PickPlace, for
any `Placement` (Stack, Sort, Kitting). Rules, first match wins:

    not held, resting on its goal (or falling onto it) -> open, straight up (retreat)
    not held                                           -> the pick rules of `reactive_pick`
    held, low, not over the goal                       -> straight up (lift)
    held, not over the goal                            -> above the goal at carry height, turning
    held, over the goal, above the release height      -> down to the release height (lower)
    held, at the release height                        -> open (release)

"Over the goal" places the *part* over it: the part's offset in the hand is read from the
state each step, not remembered from the grasp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.experts.motions import NEUTRAL_YAW_RAD, PlaceConfig, Placement, first_pending, goal_yaw_turn
from sim.experts.pick_place import ee_action
from sim.experts.pick_place_reactive import reactive_pick
from sim.geometry import yaw_of

ON_GOAL_BELOW_M = 0.01  # a part whose bottom is at most this below the goal's floor has not missed it


def on_goal(g: Placement) -> bool:
    """The part's centre is over its goal (within the part's own half size) and its bottom no lower than
    the goal's floor: released onto the goal, or falling onto it."""
    over = float(np.linalg.norm(g.part_pose[:2] - np.asarray(g.goal_xy))) <= float(np.min(g.half_extents[:2]))
    return over and g.part_pose[2] - float(g.half_extents[2]) >= g.goal_floor_z - ON_GOAL_BELOW_M


def reactive_place(
    ee: np.ndarray, ee_quat: np.ndarray, opening: float, g: Placement, cfg: PlaceConfig
) -> tuple[np.ndarray, float, bool]:
    """Target grasp-point position, target yaw and gripper command (True: close) for this state."""
    ee_yaw = yaw_of(ee_quat)
    part = g.part_pose[:3]
    if not g.grasped:
        if g.in_goal or on_goal(g):
            return np.array([ee[0], ee[1], cfg.carry_z_m]), NEUTRAL_YAW_RAD, False
        return reactive_pick(ee, ee_yaw, opening, part, g.grasp_yaw, cfg.pick)
    in_hand = part - ee
    above_goal = np.asarray(g.goal_xy, dtype=np.float64) - in_hand[:2]
    turn, aligned = goal_yaw_turn(ee_yaw, g, cfg)
    yaw = ee_yaw + turn
    to_goal = float(np.linalg.norm(above_goal - ee[:2]))
    low = ee[2] < cfg.carry_z_m - 0.02
    over_goal = (to_goal < 1.5 * cfg.xy_tolerance_m and aligned) or (low and to_goal < 4 * cfg.xy_tolerance_m)
    if not over_goal:
        return (np.array([ee[0], ee[1], cfg.carry_z_m]) if low else np.array([*above_goal, cfg.carry_z_m])), yaw, True
    release_z = g.goal_floor_z + g.release_gap_m + float(g.half_extents[2]) - in_hand[2]
    return np.array([*above_goal, release_z]), yaw, ee[2] - release_z >= cfg.z_tolerance_m


class ReactiveEachPartExpert:
    """A memoryless `motions.EachPartExpert`: each step it works on the part `choose` picks among those not
    yet in their goal.

    A subclass names `task`, `n_parts`, `in_goal_key`, `placement` and maybe `choose`, as for `EachPartExpert`."""

    task: Any
    n_parts: int
    in_goal_key: str

    def __init__(self, config: PlaceConfig | None = None) -> None:
        self.config = config or PlaceConfig()
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.instruction = instruction

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        s = self.task.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        ee, ee_quat, opening = proprio[:3], proprio[3:7], float(proprio[7])
        pending = [i for i in range(self.n_parts) if s[self.in_goal_key][i] < 0.5]
        if not pending:  # all placed: rise and wait, open
            target, yaw, close = np.array([ee[0], ee[1], self.config.carry_z_m]), NEUTRAL_YAW_RAD, False
        else:
            goal = self.placement(s, self.choose(s, pending, ee))
            target, yaw, close = reactive_place(ee, ee_quat, opening, goal, self.config)
        return ee_action(ee, ee_quat, target, yaw, close)

    @staticmethod
    def placement(s: dict[str, np.ndarray], i: int) -> Placement:
        raise NotImplementedError

    choose = staticmethod(first_pending)
