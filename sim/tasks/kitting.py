"""Kitting: "put the <colour> <part> and the <colour> <part> into their slots in the kit tray".

A kit tray stands beyond the parts: a thin plate with one walled slot per part kind (cube,
cylinder, brick), each slot `SLOT_MARGIN_M` wider than its part on every side, so a part
only fits its own kind's slot and a brick only when turned along it. Two named parts (of
different kinds) go into the slots of their kinds; one or two distractor parts stay out.

Per episode (from the seeded generator only): the two named parts' kinds and colours, the
distractors (never the same colour *and* kind as a named part, so each description names
exactly one part), every part's position and yaw, the tray's position and yaw, the order
of its slots, and the wording.

Success, from simulator state: each named part's centre is within its slot's footprint
(inside the walls, in the tray's frame) and low enough to stand on the slot floor, it is
resting, and neither finger touches it.

Templates live here rather than in `sim/tasks/language.py` because they have their own
slots (two colours and two kinds); the held-out split is disjoint from the training one
for every filling of the slots (`tests/test_sim_tasks.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

from sim.geometry import rotz
from sim.tasks.base import Task, register_task
from sim.tasks.pick_place import MIN_PART_SPACING_M, SpawnedPart
from sim.tasks.sort import choose_template, grasp_yaw, released_and_resting, sample_spaced_xy, staged_progress
from sim.world import COLOURS, PART_SHAPES, TABLE_TOP_Z, PartShape, rigid_body

KIT_KINDS = tuple(sorted(PART_SHAPES))  # one slot per kind
N_KIT = 2  # named parts per episode
MAX_DISTRACTORS = 2
# Nearer the robot than PickPlace's region, since the tray stands beyond; narrow enough in y
# that open fingers (70 mm either side of a part's centre) stay clear of the bins' walls.
PART_REGION_X = (0.28, 0.46)
PART_REGION_Y = (-0.09, 0.09)
TRAY_X = (0.62, 0.65)
TRAY_Y = (-0.02, 0.02)
TRAY_YAW = (-0.2, 0.2)
TRAY_BASE_M = 0.004  # plate thickness: slot floors are this high
SLOT_MARGIN_M = 0.012  # slot inner half size = part half size + this
SLOT_WALL_M = 0.006  # wall thickness
SLOT_WALL_HEIGHT_M = 0.012  # above the plate
SLOT_GAP_M = 0.004  # between neighbouring slots' walls
SEATED_M = 0.006  # a part's centre at most this above "standing on the slot floor"
TRAY_RGBA = (0.85, 0.85, 0.8, 1.0)  # light, so its walls show against the table and the bins

TRAIN_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "kit": (
        "put the {colour_a} {part_a} and the {colour_b} {part_b} into their slots in the kit tray",
        "kit the {colour_a} {part_a} and the {colour_b} {part_b}",
        "place the {colour_a} {part_a} and the {colour_b} {part_b} in the matching tray slots",
        "load the kit tray with the {colour_a} {part_a} and the {colour_b} {part_b}",
        "fill the tray slots with the {colour_a} {part_a} and the {colour_b} {part_b}",
        "move the {colour_a} {part_a} and the {colour_b} {part_b} into the kit",
    ),
}
HELDOUT_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "kit": (
        "the {colour_a} {part_a} and the {colour_b} {part_b} belong in the kit tray",
        "assemble a kit from the {colour_a} {part_a} and the {colour_b} {part_b}",
        "slot the {colour_a} {part_a} and the {colour_b} {part_b} into the tray",
        "could you pack the {colour_a} {part_a} and the {colour_b} {part_b} into the kit",
        "drop the {colour_a} {part_a} and the {colour_b} {part_b} into their tray pockets",
    ),
}


@dataclass(frozen=True)
class Slot:
    """One pocket of the tray, in the world frame; its x axis is the tray's (a brick lies along it)."""

    kind: str
    center_xy: tuple[float, float]
    yaw: float
    inner_half_xy: tuple[float, float]
    floor_z: float

    def contains(self, position: np.ndarray, half_height_m: float) -> bool:
        """Whether a part centred at `position` stands inside this slot's walls."""
        local = rotz(-self.yaw)[:2, :2] @ (np.asarray(position[:2]) - np.array(self.center_xy))
        seated = position[2] <= self.floor_z + half_height_m + SEATED_M
        return bool(np.all(np.abs(local) <= np.array(self.inner_half_xy)) and seated)


def slot_inner_half_xy(shape: PartShape) -> tuple[float, float]:
    return shape.half_extents[0] + SLOT_MARGIN_M, shape.half_extents[1] + SLOT_MARGIN_M


def add_tray(client: BulletClient, center_xy: tuple[float, float], yaw: float, kinds: list[str]) -> list[Slot]:
    """Build the static tray (a plate and four walls per slot, one compound body) with `kinds`
    in slot order along its y axis; returns the slots in that order."""
    halves = [slot_inner_half_xy(PART_SHAPES[kind]) for kind in kinds]
    widths = [2 * (hy + SLOT_WALL_M) for _, hy in halves]
    length = sum(widths) + SLOT_GAP_M * (len(kinds) - 1)
    plate_half = (max(hx for hx, _ in halves) + SLOT_WALL_M + 0.004, length / 2 + 0.004, TRAY_BASE_M / 2)
    boxes, offsets = [plate_half], [(0.0, 0.0, TRAY_BASE_M / 2)]
    wall_z = TRAY_BASE_M + SLOT_WALL_HEIGHT_M / 2
    local_y, cursor = [], -length / 2
    for (hx, hy), width in zip(halves, widths, strict=True):
        y = cursor + width / 2
        local_y.append(y)
        cursor += width + SLOT_GAP_M
        for side in (-1, 1):
            boxes.append((SLOT_WALL_M / 2, hy + SLOT_WALL_M, SLOT_WALL_HEIGHT_M / 2))
            offsets.append((side * (hx + SLOT_WALL_M / 2), y, wall_z))
            boxes.append((hx, SLOT_WALL_M / 2, SLOT_WALL_HEIGHT_M / 2))
            offsets.append((0.0, y + side * (hy + SLOT_WALL_M / 2), wall_z))
    n = len(boxes)
    col = client.createCollisionShapeArray(
        [p.GEOM_BOX] * n, halfExtents=[list(b) for b in boxes], collisionFramePositions=[list(o) for o in offsets]
    )
    vis = client.createVisualShapeArray(
        [p.GEOM_BOX] * n, halfExtents=[list(b) for b in boxes], visualFramePositions=[list(o) for o in offsets],
        rgbaColors=[TRAY_RGBA] * n,
    )
    orientation = client.getQuaternionFromEuler([0, 0, yaw])
    body = rigid_body(client, 0, col, vis, [center_xy[0], center_xy[1], TABLE_TOP_Z], orientation)
    client.changeDynamics(body, -1, lateralFriction=0.8)
    to_world = rotz(yaw)[:2, :2]
    return [
        Slot(kind, tuple(float(v) for v in np.array(center_xy) + to_world @ np.array([0.0, y])), yaw, half,
             TABLE_TOP_Z + TRAY_BASE_M)
        for kind, y, half in zip(kinds, local_y, halves, strict=True)
    ]


@register_task
class Kitting(Task):
    name = "Kitting"
    time_limit_s = 15.0  # 300 control steps at 20 Hz; the expert needs about 4 s a part
    # Privileged state, float32, in this order (world frame, metres and radians); named parts in
    # the order the instruction names them:
    privileged_layout = (
        ("part_poses", 7 * N_KIT),  # [x y z qx qy qz qw] per named part
        ("grasp_yaws", N_KIT),  # gripper yaw closing the fingers across each, folded by its symmetry
        ("part_half_extents", 3 * N_KIT),
        ("part_yaw_symmetry", N_KIT),  # the part looks the same turned by this (2 pi: round)
        ("slot_poses", 4 * N_KIT),  # [x y floor_z yaw] of each named part's slot
        ("slot_inner_half_xy", 2 * N_KIT),  # half size inside the walls, in the slot's frame
        ("slot_wall_top_z", 1),
        ("grasped", N_KIT),  # 1 where both fingers touch the part
        ("in_slot", N_KIT),  # 1 where the part stands inside its slot (see `Slot.contains`)
        ("time_fraction", 1),  # elapsed / time limit
        ("distractor_positions", 3 * MAX_DISTRACTORS),  # [x y z] each, zero rows when absent
        ("distractor_mask", MAX_DISTRACTORS),  # 1 for each present distractor
        ("part_speeds", N_KIT),  # each named part's linear speed (m/s): resting below RESTING_SPEED_M_S
    )

    def reset(self, rng: np.random.Generator) -> None:
        colours = sorted(COLOURS)
        kinds = [KIT_KINDS[i] for i in rng.permutation(len(KIT_KINDS))[:N_KIT]]
        named = [(colours[int(rng.integers(len(colours)))], kind) for kind in kinds]
        combos = [(c, s) for c in colours for s in KIT_KINDS if (c, s) not in named]
        n_distractors = int(rng.integers(1, MAX_DISTRACTORS + 1))
        chosen = named + [combos[i] for i in rng.permutation(len(combos))[:n_distractors]]
        tray_xy = (float(rng.uniform(*TRAY_X)), float(rng.uniform(*TRAY_Y)))
        tray_yaw = float(rng.uniform(*TRAY_YAW))
        slot_order = [KIT_KINDS[i] for i in rng.permutation(len(KIT_KINDS))]
        slots = {slot.kind: slot for slot in add_tray(self.world.client, tray_xy, tray_yaw, slot_order)}
        positions = sample_spaced_xy(rng, len(chosen), PART_REGION_X, PART_REGION_Y, MIN_PART_SPACING_M)
        self.parts: list[SpawnedPart] = []
        for (colour, kind), xy in zip(chosen, positions, strict=True):
            shape = PART_SHAPES[kind]
            yaw = float(rng.uniform(-np.pi, np.pi))
            self.parts.append(SpawnedPart(self.world.add_part(shape, colour, xy, yaw), shape, colour))
        self.named = self.parts[:N_KIT]
        self.slots = [slots[part.shape.name] for part in self.named]
        template = choose_template(rng, TRAIN_PARAPHRASES, HELDOUT_PARAPHRASES, "kit", self.instruction_split)
        (colour_a, part_a), (colour_b, part_b) = named
        self.instruction = template.format(colour_a=colour_a, part_a=part_a, colour_b=colour_b, part_b=part_b)

    # -- judging -----------------------------------------------------------------
    def grasped(self, i: int) -> bool:
        return all(self.robot.finger_contact(self.named[i].body))

    def in_slot(self, i: int) -> bool:
        part = self.named[i]
        return self.slots[i].contains(self.world.body_pose(part.body)[:3], part.shape.half_height_m)

    def placed(self, i: int) -> bool:
        return self.in_slot(i) and released_and_resting(self.world, self.robot, self.named[i].body)

    def success(self) -> bool:
        return all(self.placed(i) for i in range(N_KIT))

    def progress(self) -> float:
        """(parts placed + the best staged progress among the others) / named parts; 1 exactly on success."""
        placed = [self.placed(i) for i in range(N_KIT)]
        if all(placed):
            return 1.0
        ee = self.robot.ee_pose()[:3]
        partial = []
        for i, part in enumerate(self.named):
            if placed[i]:
                continue
            position, slot = self.world.body_pose(part.body)[:3], self.slots[i]
            over = slot.contains(np.array([*position[:2], slot.floor_z]), part.shape.half_height_m)
            partial.append(staged_progress(
                ee, position, TABLE_TOP_Z + part.shape.half_height_m, self.grasped(i), np.array(slot.center_xy), over
            ))
        return (sum(placed) + max(partial)) / N_KIT

    def privileged_state(self, time_fraction: float) -> np.ndarray:
        poses = [self.world.body_pose(part.body) for part in self.named]
        distractors = np.zeros((MAX_DISTRACTORS, 3))
        mask = np.zeros(MAX_DISTRACTORS)
        for i, part in enumerate(self.parts[N_KIT:]):
            distractors[i] = self.world.body_pose(part.body)[:3]
            mask[i] = 1.0
        vector = np.concatenate([
            np.concatenate(poses),
            [grasp_yaw(part.shape, pose[3:]) for part, pose in zip(self.named, poses, strict=True)],
            np.concatenate([part.shape.half_extents for part in self.named]),
            [part.shape.yaw_symmetry_rad for part in self.named],
            np.concatenate([[*slot.center_xy, slot.floor_z, slot.yaw] for slot in self.slots]),
            np.concatenate([slot.inner_half_xy for slot in self.slots]),
            [TABLE_TOP_Z + TRAY_BASE_M + SLOT_WALL_HEIGHT_M],
            [float(self.grasped(i)) for i in range(N_KIT)],
            [float(self.in_slot(i)) for i in range(N_KIT)],
            [time_fraction],
            distractors.ravel(),
            mask,
            [self.world.body_speed(part.body) for part in self.named],
        ])
        return vector.astype(np.float32)
