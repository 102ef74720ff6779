"""Stack: "stack the <colour> cube on the <colour> cube".

Per episode (from the seeded generator only): two to four cubes of different colours
(so a colour names exactly one cube), which one goes on top and which one below, every
cube's position and yaw, and the wording.

Success, from simulator state: the top cube's centre is within half a cube width of the
bottom cube's centre in x and y and about one cube height above it (`HEIGHT_TOLERANCE_M`),
neither finger touches the top cube, both cubes are at rest, and all of this has held for
`STABLE_S` of simulated time (a cube let go on an edge would topple within that time).

Templates live here rather than in `sim/tasks/language.py` because they have their own
slots (``{top}`` and ``{bottom}``, both colours); the held-out split is disjoint from the
training one for every filling of the slots (`tests/test_sim_tasks.py`).
"""

from __future__ import annotations

import numpy as np

from sim.tasks.base import Task, register_task
from sim.tasks.pick_place import MIN_PART_SPACING_M, PART_REGION_X, PART_REGION_Y, RESTING_SPEED_M_S, SpawnedPart
from sim.tasks.sort import choose_template, grasp_yaw, grasp_yaw_vector, sample_spaced_xy, staged_progress
from sim.world import COLOURS, PART_SHAPES, TABLE_TOP_Z

BLOCK = PART_SHAPES["cube"]
MAX_DISTRACTORS = 2
HEIGHT_TOLERANCE_M = 0.01  # |top z - bottom z - one cube height| allowed
STABLE_S = 0.2  # the stacked, released, resting state must last this long

TRAIN_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "stack": (
        "stack the {top} cube on the {bottom} cube",
        "put the {top} cube on top of the {bottom} cube",
        "place the {top} block onto the {bottom} block",
        "pick up the {top} cube and set it on the {bottom} cube",
        "build a tower with the {top} cube on the {bottom} cube",
        "set the {top} block on top of the {bottom} one",
    ),
}
HELDOUT_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "stack": (
        "the {top} cube goes on top of the {bottom} cube",
        "balance the {top} block on the {bottom} block",
        "rest the {top} cube upon the {bottom} cube",
        "could you pile the {top} cube onto the {bottom} cube",
        "lay the {top} block over the {bottom} block",
    ),
}


@register_task
class Stack(Task):
    name = "Stack"
    time_limit_s = 10.0  # 200 control steps at 20 Hz; the expert needs about 4 s
    # Privileged state, float32, in this order (world frame, metres and radians):
    privileged_layout = (
        ("top_pose", 7),  # the cube to move [x y z qx qy qz qw]
        ("top_grasp_yaw", 1),  # gripper yaw closing the fingers across it, folded by its symmetry
        ("top_grasp_yaw_vector", 2),  # the same as a vector continuous across the fold (`grasp_yaw_vector`)
        ("top_half_extents", 3),
        ("bottom_pose", 7),  # the cube to stack on
        ("bottom_half_extents", 3),
        ("grasped", 1),  # 1 when both fingers touch the top cube
        ("stacked", 1),  # 1 when the top cube sits on the bottom one (see `stacked`), held or not
        ("time_fraction", 1),  # elapsed / time limit
        ("distractor_positions", 3 * MAX_DISTRACTORS),  # [x y z] each, zero rows when absent
        ("distractor_mask", MAX_DISTRACTORS),  # 1 for each present distractor
        ("speeds", 2),  # the top and the bottom cube's linear speeds (m/s): resting below RESTING_SPEED_M_S
    )

    def reset(self, rng: np.random.Generator) -> None:
        n_distractors = int(rng.integers(0, MAX_DISTRACTORS + 1))
        colours = [sorted(COLOURS)[i] for i in rng.permutation(len(COLOURS))[: 2 + n_distractors]]
        positions = sample_spaced_xy(rng, len(colours), PART_REGION_X, PART_REGION_Y, MIN_PART_SPACING_M)
        self.blocks: list[SpawnedPart] = []
        for colour, xy in zip(colours, positions, strict=True):
            yaw = float(rng.uniform(-np.pi, np.pi))
            self.blocks.append(SpawnedPart(self.world.add_part(BLOCK, colour, xy, yaw), BLOCK, colour))
        self.top, self.bottom = self.blocks[0], self.blocks[1]
        template = choose_template(rng, TRAIN_PARAPHRASES, HELDOUT_PARAPHRASES, "stack", self.instruction_split)
        self.instruction = template.format(top=self.top.colour, bottom=self.bottom.colour)
        self._stable_since: int | None = None

    # -- judging -----------------------------------------------------------------
    def grasped(self) -> bool:
        return all(self.robot.finger_contact(self.top.body))

    def stacked(self) -> bool:
        """The top cube's centre is over the bottom cube (half a width) and one cube height above it."""
        top, bottom = self.world.body_pose(self.top.body), self.world.body_pose(self.bottom.body)
        height = self.top.shape.half_height_m + self.bottom.shape.half_height_m
        over = bool(np.all(np.abs(top[:2] - bottom[:2]) <= self.bottom.shape.half_extents[0]))
        return over and abs(top[2] - bottom[2] - height) <= HEIGHT_TOLERANCE_M

    def _settled(self) -> bool:
        return (
            self.stacked()
            and not any(self.robot.finger_contact(self.top.body))
            and self.world.body_speed(self.top.body) < RESTING_SPEED_M_S
            and self.world.body_speed(self.bottom.body) < RESTING_SPEED_M_S
        )

    def success(self) -> bool:
        """Settled for `STABLE_S`. The backend asks once per control step; asking again within
        the same physics step gives the same answer."""
        now = self.world.physics_steps
        if not self._settled():
            self._stable_since = None
            return False
        if self._stable_since is None:
            self._stable_since = now
        return now - self._stable_since >= round(STABLE_S * self.world.physics_hz)

    def progress(self) -> float:
        """PickPlace's staging with the bottom cube as the goal (<= 0.9), 0.95 while settling, 1 on success."""
        if self.success():
            return 1.0
        if self._stable_since is not None:
            return 0.95
        top, bottom = self.world.body_pose(self.top.body), self.world.body_pose(self.bottom.body)
        over = bool(np.all(np.abs(top[:2] - bottom[:2]) <= self.bottom.shape.half_extents[0]))
        rest_z = TABLE_TOP_Z + self.top.shape.half_height_m
        return staged_progress(self.robot.ee_pose()[:3], top[:3], rest_z, self.grasped(), bottom[:2], over)

    def privileged_state(self, time_fraction: float) -> np.ndarray:
        top, bottom = self.world.body_pose(self.top.body), self.world.body_pose(self.bottom.body)
        distractors = np.zeros((MAX_DISTRACTORS, 3))
        mask = np.zeros(MAX_DISTRACTORS)
        for i, block in enumerate(self.blocks[2:]):
            distractors[i] = self.world.body_pose(block.body)[:3]
            mask[i] = 1.0
        vector = np.concatenate([
            top,
            [grasp_yaw(self.top.shape, top[3:])],
            grasp_yaw_vector(self.top.shape, top[3:]),
            self.top.shape.half_extents,
            bottom,
            self.bottom.shape.half_extents,
            [float(self.grasped())],
            [float(self.stacked())],
            [time_fraction],
            distractors.ravel(),
            mask,
            [self.world.body_speed(self.top.body), self.world.body_speed(self.bottom.body)],
        ])
        return vector.astype(np.float32)
