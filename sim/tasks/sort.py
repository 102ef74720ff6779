"""Sort: put every part on the table into a bin, by a colour rule or a shape rule.

The rule names one colour (or one shape) and one bin: every part of that colour (shape)
goes into the named bin, every other part into the other bin, e.g. "put every red part
in the left bin and every other part in the right bin".

Per episode (from the seeded generator only): the rule (colour or shape), the named
colour or shape, the named bin, `N_PARTS` parts (at least one that matches the rule and
one that does not, so both bins are used), every part's position and yaw, and the wording.

Success, from simulator state: every part's centre is over its bin's floor and no higher
than the walls, every part is resting, and neither finger touches any part.

Templates live here rather than in `sim/tasks/language.py` because they have their own
slots (``{colour}``, ``{part}``/``{parts}``, ``{bin}``, ``{other}``). The held-out split
(`HELDOUT_PARAPHRASES`) is disjoint from the training one, sentence by sentence, for every
filling of the slots (`tests/test_sim_tasks.py`).

This module also holds the small helpers Stack and Kitting share with Sort (template
choice by split, spaced part layout, grasp yaw, staged progress toward a goal region).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.geometry import wrap_angle, yaw_of
from sim.tasks.base import GripperRobot, Task, register_task
from sim.tasks.language import SPLITS
from sim.tasks.pick_place import (
    LIFTED_M,
    MIN_PART_SPACING_M,
    PART_REGION_X,
    PART_REGION_Y,
    RESTING_SPEED_M_S,
    SpawnedPart,
)
from sim.world import BINS, COLOURS, PART_SHAPES, TABLE_TOP_Z, PartShape, World

N_PARTS = 3
RULES = ("colour", "shape")

TRAIN_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "colour": (
        "put every {colour} part in the {bin} bin and every other part in the {other} bin",
        "sort the parts by colour with the {colour} ones in the {bin} bin and the rest in the {other} bin",
        "move the {colour} parts to the {bin} bin and all the others to the {other} bin",
        "place all {colour} parts into the {bin} bin and the remaining parts into the {other} bin",
        "the {colour} parts go to the {bin} bin and everything else goes to the {other} bin",
        "sort by colour so {colour} parts end up in the {bin} bin and the rest in the {other} bin",
    ),
    "shape": (
        "put every {part} in the {bin} bin and every other part in the {other} bin",
        "sort the parts by shape with the {parts} in the {bin} bin and the rest in the {other} bin",
        "move the {parts} to the {bin} bin and all the others to the {other} bin",
        "place all {parts} into the {bin} bin and the remaining parts into the {other} bin",
        "the {parts} go to the {bin} bin and everything else goes to the {other} bin",
        "sort by shape so {parts} end up in the {bin} bin and the rest in the {other} bin",
    ),
}
HELDOUT_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "colour": (
        "separate the {colour} parts into the {bin} bin and leave the rest for the {other} bin",
        "anything {colour} belongs in the {bin} bin while the rest belongs in the {other} bin",
        "clear the table with {colour} parts in the {bin} bin and the others in the {other} bin",
        "could you sort the table putting {colour} things in the {bin} bin and other things in the {other} bin",
        "bin each {colour} piece on the {bin} side and each other piece on the {other} side",
    ),
    "shape": (
        "separate the {parts} into the {bin} bin and leave the rest for the {other} bin",
        "any {part} belongs in the {bin} bin while the rest belongs in the {other} bin",
        "clear the table with {parts} in the {bin} bin and the others in the {other} bin",
        "could you sort the table putting {parts} in the {bin} bin and other things in the {other} bin",
        "bin each {part} on the {bin} side and each other piece on the {other} side",
    ),
}


# -- helpers shared with Stack and Kitting -----------------------------------------------
def choose_template(
    rng: np.random.Generator,
    train: Mapping[str, tuple[str, ...]],
    heldout: Mapping[str, tuple[str, ...]],
    kind: str,
    split: str,
) -> str:
    """One template of `kind` from the `split` ("train" or "heldout") table, drawn with `rng`."""
    if split not in SPLITS:
        raise ValueError(f"instruction split {split!r}, expected one of {SPLITS}")
    table = train if split == "train" else heldout
    if kind not in table:
        raise ValueError(f"no {split} templates of kind {kind!r}; known: {sorted(table)}")
    return str(rng.choice(table[kind]))


def sample_spaced_xy(
    rng: np.random.Generator, n: int, region_x: tuple[float, float], region_y: tuple[float, float], spacing_m: float
) -> list[tuple[float, float]]:
    """Rejection-sample `n` centres in the region at least `spacing_m` apart (open fingers clear neighbours).

    Starts the layout over when the first centres leave no room for the rest."""
    for _ in range(100):
        placed: list[tuple[float, float]] = []
        for _ in range(200):
            xy = (float(rng.uniform(*region_x)), float(rng.uniform(*region_y)))
            if all(np.hypot(xy[0] - x, xy[1] - y) >= spacing_m for x, y in placed):
                placed.append(xy)
                if len(placed) == n:
                    return placed
    raise RuntimeError(f"could not place {n} parts {spacing_m} m apart in x {region_x}, y {region_y}")


def grasp_yaw(shape: PartShape, quat: np.ndarray) -> float:
    """The gripper yaw that closes the fingers across the part, folded by its symmetry (as PickPlace reports it)."""
    if shape.yaw_symmetry_rad >= 2 * np.pi:
        return 0.0
    return wrap_angle(yaw_of(quat), min(shape.yaw_symmetry_rad, np.pi))


def grasp_yaw_vector(shape: PartShape, quat: np.ndarray) -> tuple[float, float]:
    """`grasp_yaw` as (cos, sin) of the angle times the grasps per turn (4 for a cube): a regression target.

    The folded angle jumps (a cube at 44 and at 46 degrees reads +44 and -44) where the images do not, so a
    head that regresses it averages the two sides; this vector is continuous across the fold."""
    if shape.yaw_symmetry_rad >= 2 * np.pi:
        return 1.0, 0.0
    turns = 2 * np.pi / min(shape.yaw_symmetry_rad, np.pi)
    angle = turns * grasp_yaw(shape, quat)
    return float(np.cos(angle)), float(np.sin(angle))


def nearest_pending(part_xy: np.ndarray, grasped: np.ndarray, pending: list[int], ee_xy: np.ndarray) -> int:
    """The held pending part, else the pending part nearest the hand (in xy).

    For tasks whose parts may go in any order (Sort, Kitting): the choice is read off the scene as the
    cameras show it, not off an order no image shows (the spawn order, the instruction's word order),
    so a student distilled from the expert can make the same choice."""
    held = [i for i in pending if grasped[i] > 0.5]
    if held:
        return held[0]
    return min(pending, key=lambda i: float(np.linalg.norm(part_xy[i] - ee_xy)))


def released_and_resting(world: World, robot: GripperRobot, body: int) -> bool:
    """The part lies still and no finger touches it: it stays where it is without the robot."""
    return world.body_speed(body) < RESTING_SPEED_M_S and not any(robot.finger_contact(body))


def staged_progress(
    ee_xyz: np.ndarray, part_xyz: np.ndarray, rest_z: float, grasped: bool, goal_xy: np.ndarray, over_goal: bool
) -> float:
    """PickPlace's staging for one part, in [0, 0.9]: reach (<= 0.3), grasp and lift (<= 0.4),
    carry over the goal (<= 0.9); 0.9 once released over the goal but not yet settled."""
    if over_goal and not grasped:
        return 0.9
    if grasped:
        lifted = float(np.clip((part_xyz[2] - rest_z) / LIFTED_M, 0.0, 1.0))
        to_goal = float(np.hypot(*(np.asarray(part_xyz[:2]) - goal_xy)))
        return 0.3 + 0.1 * lifted + 0.5 * lifted * (1.0 - float(np.tanh(5.0 * to_goal)))
    reach = float(np.linalg.norm(np.asarray(ee_xyz) - np.asarray(part_xyz)))
    return 0.3 * (1.0 - float(np.tanh(5.0 * reach)))


# -- the task ------------------------------------------------------------------------------
@register_task
class Sort(Task):
    name = "Sort"
    time_limit_s = 18.0  # 360 control steps at 20 Hz; the expert needs about 3.5 s a part
    # Privileged state, float32, in this order (world frame, metres and radians); parts in spawn order:
    privileged_layout = (
        ("part_poses", 7 * N_PARTS),  # [x y z qx qy qz qw] per part
        ("grasp_yaws", N_PARTS),  # gripper yaw closing the fingers across each part (see `grasp_yaw`)
        ("part_half_extents", 3 * N_PARTS),  # half size (x, y, z) of each part in its own frame
        ("part_yaw_symmetry", N_PARTS),  # each part looks the same turned by this (2 pi: round)
        ("goal_centers", 3 * N_PARTS),  # [x y floor_top_z] of the bin each part belongs in
        ("goal_inner_half_xy", 2 * N_PARTS),  # half size of that bin's floor inside the walls
        ("goal_wall_top_z", N_PARTS),  # height of that bin's walls
        ("grasped", N_PARTS),  # 1 where both fingers touch the part
        ("in_goal", N_PARTS),  # 1 where the part is inside the bin it belongs in (see `in_goal`)
        ("time_fraction", 1),  # elapsed / time limit
        ("part_speeds", N_PARTS),  # each part's linear speed (m/s): resting below RESTING_SPEED_M_S
        # the part the experts take next (`nearest_pending`; among all parts once all are in their bins):
        # [x y z] and its bin's [x y]. A grounding target a camera can show, unlike the spawn order.
        ("next_part", 5),
    )

    def reset(self, rng: np.random.Generator) -> None:
        self.rule = str(rng.choice(RULES))
        self.key = str(rng.choice(sorted(COLOURS) if self.rule == "colour" else sorted(PART_SHAPES)))
        self.bin_name = str(rng.choice(sorted(BINS)))
        self.other_bin_name = next(name for name in sorted(BINS) if name != self.bin_name)
        combos = [(c, s) for c in sorted(COLOURS) for s in sorted(PART_SHAPES)]
        matching = [combo for combo in combos if self._matches(*combo)]
        others = [combo for combo in combos if not self._matches(*combo)]
        chosen = [matching[int(rng.integers(len(matching)))], others[int(rng.integers(len(others)))]]
        rest = [combo for combo in combos if combo not in chosen]
        chosen += [rest[i] for i in rng.permutation(len(rest))[: N_PARTS - 2]]
        chosen = [chosen[i] for i in rng.permutation(N_PARTS)]  # the matching part is not always first
        positions = sample_spaced_xy(rng, N_PARTS, PART_REGION_X, PART_REGION_Y, MIN_PART_SPACING_M)
        self.parts: list[SpawnedPart] = []
        for (colour, shape_name), xy in zip(chosen, positions, strict=True):
            shape = PART_SHAPES[shape_name]
            yaw = float(rng.uniform(-np.pi, np.pi))
            self.parts.append(SpawnedPart(self.world.add_part(shape, colour, xy, yaw), shape, colour))
        self.goal_bins = [BINS[self.bin_name if self._matches(p.colour, p.shape.name) else self.other_bin_name]
                          for p in self.parts]
        template = choose_template(rng, TRAIN_PARAPHRASES, HELDOUT_PARAPHRASES, self.rule, self.instruction_split)
        self.instruction = template.format(
            colour=self.key, part=self.key, parts=self.key + "s", bin=self.bin_name, other=self.other_bin_name
        )

    def _matches(self, colour: str, shape_name: str) -> bool:
        return (colour if self.rule == "colour" else shape_name) == self.key

    # -- judging -----------------------------------------------------------------
    def in_goal(self, i: int) -> bool:
        """Part `i`'s centre is over its bin's floor and no higher than the walls."""
        pose, spec = self.world.body_pose(self.parts[i].body), self.goal_bins[i]
        dx, dy = pose[0] - spec.center_xy[0], pose[1] - spec.center_xy[1]
        return abs(dx) <= spec.inner_half_xy[0] and abs(dy) <= spec.inner_half_xy[1] and pose[2] <= spec.wall_top_z

    def grasped(self, i: int) -> bool:
        return all(self.robot.finger_contact(self.parts[i].body))

    def placed(self, i: int) -> bool:
        return self.in_goal(i) and released_and_resting(self.world, self.robot, self.parts[i].body)

    def success(self) -> bool:
        return all(self.placed(i) for i in range(N_PARTS))

    def progress(self) -> float:
        """(parts placed + the best staged progress among the others) / parts; 1 exactly on success."""
        placed = [self.placed(i) for i in range(N_PARTS)]
        if all(placed):
            return 1.0
        ee = self.robot.ee_pose()[:3]
        partial = max(
            staged_progress(
                ee, self.world.body_pose(part.body)[:3], TABLE_TOP_Z + part.shape.half_height_m, self.grasped(i),
                np.array(self.goal_bins[i].center_xy), self._over_goal(i),
            )
            for i, part in enumerate(self.parts) if not placed[i]
        )
        return (sum(placed) + partial) / N_PARTS

    def _over_goal(self, i: int) -> bool:
        pose, spec = self.world.body_pose(self.parts[i].body), self.goal_bins[i]
        return bool(np.all(np.abs(pose[:2] - np.array(spec.center_xy)) <= np.array(spec.inner_half_xy)))

    def privileged_state(self, time_fraction: float) -> np.ndarray:
        poses = [self.world.body_pose(part.body) for part in self.parts]
        grasped = [float(self.grasped(i)) for i in range(N_PARTS)]
        in_goal = [float(self.in_goal(i)) for i in range(N_PARTS)]
        vector = np.concatenate([
            np.concatenate(poses),
            [grasp_yaw(part.shape, pose[3:]) for part, pose in zip(self.parts, poses, strict=True)],
            np.concatenate([part.shape.half_extents for part in self.parts]),
            [part.shape.yaw_symmetry_rad for part in self.parts],
            np.concatenate([[*spec.center_xy, spec.floor_top_z] for spec in self.goal_bins]),
            np.concatenate([spec.inner_half_xy for spec in self.goal_bins]),
            [spec.wall_top_z for spec in self.goal_bins],
            grasped,
            in_goal,
            [time_fraction],
            [self.world.body_speed(part.body) for part in self.parts],
            self._next_part(poses, grasped, in_goal),
        ])
        return vector.astype(np.float32)

    def _next_part(self, poses: list[np.ndarray], grasped: list[float], in_goal: list[float]) -> np.ndarray:
        """`next_part`'s values: the part `nearest_pending` picks and the centre of the bin it belongs in."""
        pending = [i for i in range(N_PARTS) if in_goal[i] < 0.5] or list(range(N_PARTS))
        xy = np.array([pose[:2] for pose in poses])
        i = nearest_pending(xy, np.asarray(grasped), pending, self.robot.ee_pose()[:2])
        return np.array([*poses[i][:3], *self.goal_bins[i].center_xy])
