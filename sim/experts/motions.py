"""One part to one goal: the pick-and-place step the Sort, Stack and Kitting experts repeat.

The pick half (approach, descend, close, lift, and starting over when a grasp fails) is
the PickPlace expert's own, driven through its public `act` with a PickPlace-shaped
observation built for the current part. The place half is here, because these tasks need
what PickPlace's does not:

* a part yaw at the goal (a brick into its slot), reached by turning the hand while carrying;
* a release height above bin walls, slot walls or the block below, so that opening
  fingers never strike a wall or a neighbour;
* the part, not the hand, over the goal: the part's offset in the hand is measured while
  it is carried and subtracted from the hand's target.

Phases: pick (PickPlace's, until it starts to carry) -> carry (above the goal, turning)
-> lower -> release -> retreat (straight up, then wait for the part to come to rest) -> done,
or back to pick when the part is lost on the way or comes to rest outside the goal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot.interface import EE_ACTION_DIM
from sim.experts.pick_place import ExpertConfig, PickPlaceExpert, ee_action
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.pick_place import RESTING_SPEED_M_S, PickPlace
from sim.tasks.sort import nearest_pending

NEUTRAL_YAW_RAD = 0.0  # the hand's yaw at home, pointing down, fingers closing along world y


@dataclass(frozen=True)
class Placement:
    """What the driver needs to know about one part and its goal this step (world frame)."""

    part_pose: np.ndarray  # [x y z qx qy qz qw]
    grasp_yaw: float  # as the task reports it (folded by the part's symmetry)
    half_extents: np.ndarray  # (x, y, z) in the part frame
    grasped: bool  # both fingers touch the part
    in_goal: bool  # the task's judgement: the part is inside its goal region
    speed_m_s: float  # the part's linear speed (the world's body speed)
    goal_xy: np.ndarray  # where the part's centre should end up
    goal_floor_z: float  # the surface the part should end up standing on
    release_gap_m: float  # the part's bottom this far above `goal_floor_z` when the fingers open
    goal_yaw: float | None = None  # the part's yaw at the goal; None: any
    yaw_symmetry_rad: float = 2 * np.pi  # the part looks the same turned by this


@dataclass(frozen=True)
class PlaceConfig:
    carry_z_m: float = 0.17  # grasp-point height while carrying (the picker lifts to the same height)
    xy_tolerance_m: float = 0.004
    z_tolerance_m: float = 0.006
    yaw_tolerance_rad: float = 0.04
    release_steps: int = 5
    lost_steps: int = 3  # consecutive steps without the part before starting over
    held_m: float = 0.02  # the part counts as in the hand within this of where it sat in it
    max_yaw_rad: float = 1.75  # turning a part to its goal yaw leaves the hand this close to neutral
    unwound_rad: float = 0.35  # a retreat ends with the hand this close to neutral
    pick: ExpertConfig = field(default_factory=ExpertConfig)


class PickAndPlace:
    """Moves one part to one goal; call `reset()` before each new part, then `act` every step."""

    def __init__(self, config: PlaceConfig | None = None) -> None:
        self.config = config or PlaceConfig()
        self.picker = PickPlaceExpert(self.config.pick)
        self.reset()

    def reset(self) -> None:
        self.picker.reset("")
        self.phase = "pick"
        self._phase_steps = 0
        self._lost = 0
        self._in_hand = np.zeros(3)  # part centre minus grasp point while carried
        self._hold_xy = np.zeros(2)
        self._hold_yaw = 0.0

    @property
    def done(self) -> bool:
        """The part was let go, came to rest, and the task judged it inside its goal."""
        return self.phase == "done"

    def _enter(self, phase: str) -> None:
        self.phase, self._phase_steps = phase, 0

    def act(self, proprio: np.ndarray, goal: Placement) -> np.ndarray:
        """The float32 (7,) action for this step."""
        proprio = np.asarray(proprio, dtype=np.float64)
        ee, ee_quat = proprio[:3], proprio[3:7]
        if self.phase == "pick":
            action = self.picker.act({"proprio": proprio, "privileged": picker_state(goal)})
            if self.picker.phase == "carry":  # lifted: the rest is placing
                self._enter("carry")
                self._in_hand = goal.part_pose[:3] - ee
                self._hold_yaw = yaw_of(ee_quat)
            return action
        target, yaw, close = self._place(ee, ee_quat, goal)
        self._phase_steps += 1
        return ee_action(ee, ee_quat, target, yaw, close)

    def hold(self) -> np.ndarray:
        """Stay where the hand is, gripper open (nothing left to do)."""
        action = np.zeros(EE_ACTION_DIM, dtype=np.float32)
        action[6] = -1.0
        return action

    # -- placing ---------------------------------------------------------------------
    def _place(self, ee: np.ndarray, ee_quat: np.ndarray, g: Placement) -> tuple[np.ndarray, float, bool]:
        """Target grasp-point position, yaw and gripper command for this step (may change phase)."""
        cfg = self.config
        part = g.part_pose[:3]
        if self.phase in ("carry", "lower"):
            holding = g.grasped or float(np.linalg.norm(part - ee - self._in_hand)) < cfg.held_m
            self._lost = 0 if holding else self._lost + 1
            if g.grasped:
                self._in_hand = part - ee
            if self._lost >= cfg.lost_steps and not g.in_goal:
                self.reset()  # dropped on the way: pick it up again
                return ee.copy(), yaw_of(ee_quat), False
        above_goal = np.asarray(g.goal_xy, dtype=np.float64) - self._in_hand[:2]
        yaw, aligned = self._carry_yaw(ee_quat, g)
        if self.phase == "carry":
            if float(np.linalg.norm(above_goal - ee[:2])) < 1.5 * cfg.xy_tolerance_m and aligned:
                self._enter("lower")
            return np.array([*above_goal, cfg.carry_z_m]), yaw, True
        if self.phase == "lower":
            release_z = g.goal_floor_z + g.release_gap_m + float(g.half_extents[2]) - self._in_hand[2]
            if abs(release_z - ee[2]) < cfg.z_tolerance_m:
                self._enter("release")
                self._hold_xy, self._hold_yaw = ee[:2].copy(), yaw_of(ee_quat)
            return np.array([*above_goal, release_z]), yaw, True
        if self.phase == "release":
            if self._phase_steps >= cfg.release_steps:
                self._enter("retreat")
            return np.array([*self._hold_xy, ee[2]]), self._hold_yaw, False
        # Retreat: straight up, turning the hand back to the neutral yaw, so that the next pick
        # (which turns the least it can) starts in the middle of the wrist's range. Where the part
        # landed is judged only once it is at rest, as the tasks judge success: a part still
        # sliding, tipping or bouncing may yet leave the goal, or fall into it.
        unwound = abs(wrap_angle(yaw_of(ee_quat) - NEUTRAL_YAW_RAD)) < cfg.unwound_rad
        resting = g.speed_m_s < RESTING_SPEED_M_S
        if self.phase == "retreat" and ee[2] > cfg.carry_z_m - 0.03 and unwound and resting:
            if g.in_goal:
                self._enter("done")
            else:
                self.reset()  # it landed outside the goal: try again
                return ee.copy(), yaw_of(ee_quat), False
        return np.array([*self._hold_xy, cfg.carry_z_m]), NEUTRAL_YAW_RAD, False

    def _carry_yaw(self, ee_quat: np.ndarray, g: Placement) -> tuple[float, bool]:
        """The hand yaw while carrying: as held at the grasp, unless the part has a goal yaw."""
        if g.goal_yaw is None or g.yaw_symmetry_rad >= 2 * np.pi:
            return self._hold_yaw, True
        turn, aligned = goal_yaw_turn(yaw_of(ee_quat), g, self.config)
        return yaw_of(ee_quat) + turn, aligned


def goal_yaw_turn(ee_yaw: float, g: Placement, cfg: PlaceConfig) -> tuple[float, bool]:
    """How far to turn the hand so the part reaches `goal_yaw`, and whether it is there already: the
    smallest turn, given the part's symmetry, that leaves the hand within `max_yaw_rad` of neutral (the
    wrist's range is about +-2.9 rad around a point near neutral, and the next pick turns it further).
    No turn for a part without a goal yaw."""
    if g.goal_yaw is None or g.yaw_symmetry_rad >= 2 * np.pi:
        return 0.0, True
    error = wrap_angle(g.goal_yaw - yaw_of(g.part_pose[3:]), g.yaw_symmetry_rad)
    turns = sorted((error + k * g.yaw_symmetry_rad for k in range(-4, 5)), key=abs)
    safe = [t for t in turns if abs(wrap_angle(ee_yaw + t - NEUTRAL_YAW_RAD)) <= cfg.max_yaw_rad]
    turn = safe[0] if safe else min(turns, key=lambda t: abs(wrap_angle(ee_yaw + t - NEUTRAL_YAW_RAD)))
    return turn, abs(error) < cfg.yaw_tolerance_rad


def first_pending(s: dict[str, np.ndarray], pending: list[int], ee: np.ndarray) -> int:
    """The part to place next: the first not yet in its goal, in the task's order (Stack's bottom first)."""
    return pending[0]


def nearest_first(s: dict[str, np.ndarray], pending: list[int], ee: np.ndarray) -> int:
    """`sim.tasks.sort.nearest_pending` on an expert's unpacked privileged state."""
    return nearest_pending(s["part_poses"].reshape(-1, 7)[:, :2], s["grasped"], pending, ee[:2])


class EachPartExpert:
    """A `policies.base.Policy` that places a task's parts one at a time (Sort, Kitting, Stack): the one
    `choose` picks among those not yet in their goal, until none is left (a part knocked out later is
    simply taken again).

    A subclass names its task (`task`, for `unpack_privileged`), how many parts (`n_parts`), the
    privileged flag that says a part is in its goal (`in_goal_key`), where each goes (`placement`)
    and, if not the first pending one, which goes next (`choose`)."""

    task: Any
    n_parts: int
    in_goal_key: str

    def __init__(self, config: PlaceConfig | None = None) -> None:
        self.driver = PickAndPlace(config)
        self.reset("")

    def reset(self, instruction: str) -> None:
        self.instruction = instruction
        self.driver.reset()
        self.current: int | None = None

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        proprio = np.asarray(observation["proprio"], dtype=np.float64)
        s = self.task.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
        if self.current is None or self.driver.done:
            pending = [i for i in range(self.n_parts) if s[self.in_goal_key][i] < 0.5]
            if not pending:
                return self.driver.hold()
            self.current = self.choose(s, pending, proprio[:3])
            self.driver.reset()
        return self.driver.act(proprio, self.placement(s, self.current))

    @staticmethod
    def placement(s: dict[str, np.ndarray], i: int) -> Placement:
        raise NotImplementedError

    choose = staticmethod(first_pending)


def picker_state(goal: Placement) -> np.ndarray:
    """A PickPlace privileged vector for `goal`'s part, so the PickPlace expert picks it.

    Fields the picker does not read while picking (the bin, distractors, time) are zero,
    except `bin_center`, which is the goal: the picker never gets to carry there itself.
    """
    values = {
        "part_pose": goal.part_pose,
        "grasp_yaw": [goal.grasp_yaw],
        "part_half_extents": goal.half_extents,
        "bin_center": [*goal.goal_xy, goal.goal_floor_z],
        "grasped": [float(goal.grasped)],
        "in_bin": [float(goal.in_goal)],
    }
    return np.concatenate([
        np.asarray(values.get(name, np.zeros(size)), dtype=np.float64).reshape(size)
        for name, size in PickPlace.privileged_layout
    ])
