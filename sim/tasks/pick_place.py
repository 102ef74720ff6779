"""PickPlace: "pick the <colour> <part> and place it in the <left|right> bin".

Per episode (from the seeded generator only): the target's colour and shape, the target
bin, one to three distractor parts (never the same colour *and* shape as the target, so
the instruction names exactly one part), every part's position and yaw, and the wording.

Success, from simulator state: the target's centre is over the target bin's floor, it is
no higher than the bin walls, it is resting, and neither finger touches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.geometry import wrap_angle, yaw_of
from sim.tasks.base import Task, register_task
from sim.tasks.language import paraphrases
from sim.world import BINS, COLOURS, PART_SHAPES, TABLE_TOP_Z, PartShape

PART_REGION_X = (0.36, 0.58)
PART_REGION_Y = (-0.11, 0.11)
MIN_PART_SPACING_M = 0.085
MAX_DISTRACTORS = 3
RESTING_SPEED_M_S = 0.05
LIFTED_M = 0.03  # the target counts as lifted this far above its resting height


@dataclass
class SpawnedPart:
    body: int
    shape: PartShape
    colour: str


@register_task
class PickPlace(Task):
    name = "PickPlace"
    # Privileged state, float32, in this order (world frame, metres and radians):
    privileged_layout = (
        ("part_pose", 7),  # target part [x y z qx qy qz qw]
        ("grasp_yaw", 1),  # gripper yaw that closes the fingers across the part, folded by its symmetry
        ("part_half_extents", 3),  # target part half size (x, y, z) in its own frame
        ("bin_center", 3),  # target bin [x y floor_top_z]
        ("bin_inner_half_xy", 2),  # half size of the target bin's floor inside the walls
        ("bin_wall_top_z", 1),
        ("grasped", 1),  # 1 when both fingers touch the target
        ("in_bin", 1),  # 1 when the target is inside the target bin (see `success`)
        ("time_fraction", 1),  # elapsed / time limit
        ("distractor_positions", 3 * MAX_DISTRACTORS),  # [x y z] each, zero rows when absent
        ("distractor_mask", MAX_DISTRACTORS),  # 1 for each present distractor
    )

    def reset(self, rng: np.random.Generator) -> None:
        colours, shapes = sorted(COLOURS), sorted(PART_SHAPES)
        combos = [(c, s) for c in colours for s in shapes]
        order = rng.permutation(len(combos))
        n_distractors = int(rng.integers(1, MAX_DISTRACTORS + 1))
        chosen = [combos[i] for i in order[: 1 + n_distractors]]
        self.bin_name = str(rng.choice(sorted(BINS)))
        self.bin = BINS[self.bin_name]
        positions = self._sample_positions(rng, len(chosen))
        self.parts: list[SpawnedPart] = []
        for (colour, shape_name), xy in zip(chosen, positions, strict=True):
            shape = PART_SHAPES[shape_name]
            yaw = float(rng.uniform(-np.pi, np.pi))
            self.parts.append(SpawnedPart(self.world.add_part(shape, colour, xy, yaw), shape, colour))
        self.target = self.parts[0]
        template = str(rng.choice(paraphrases(self.name, self.instruction_split)))
        self.instruction = template.format(colour=self.target.colour, part=self.target.shape.name, bin=self.bin_name)
        self._rest_z = TABLE_TOP_Z + self.target.shape.half_height_m

    @staticmethod
    def _sample_positions(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
        """Rejection-sample `n` part centres at least `MIN_PART_SPACING_M` apart."""
        placed: list[tuple[float, float]] = []
        for _ in range(1000):
            xy = (float(rng.uniform(*PART_REGION_X)), float(rng.uniform(*PART_REGION_Y)))
            if all(np.hypot(xy[0] - x, xy[1] - y) >= MIN_PART_SPACING_M for x, y in placed):
                placed.append(xy)
                if len(placed) == n:
                    return placed
        raise RuntimeError(f"could not place {n} parts {MIN_PART_SPACING_M} m apart in the part region")

    # -- judging -----------------------------------------------------------------
    def _target_pose(self) -> np.ndarray:
        return self.world.body_pose(self.target.body)

    def grasped(self) -> bool:
        return all(self.robot.finger_contact(self.target.body))

    def in_bin(self) -> bool:
        pose = self._target_pose()
        dx, dy = pose[0] - self.bin.center_xy[0], pose[1] - self.bin.center_xy[1]
        hx, hy = self.bin.inner_half_xy
        return abs(dx) <= hx and abs(dy) <= hy and pose[2] <= self.bin.wall_top_z

    def success(self) -> bool:
        return (
            self.in_bin()
            and self.world.body_speed(self.target.body) < RESTING_SPEED_M_S
            and not any(self.robot.finger_contact(self.target.body))
        )

    def progress(self) -> float:
        """Staged and dense: reach (<= 0.3), grasp and lift (<= 0.4), carry to the bin (<= 0.9), success (1)."""
        pose = self._target_pose()
        if self.success():
            return 1.0
        to_bin = float(np.hypot(pose[0] - self.bin.center_xy[0], pose[1] - self.bin.center_xy[1]))
        over_bin = abs(pose[0] - self.bin.center_xy[0]) <= self.bin.inner_half_xy[0] and abs(
            pose[1] - self.bin.center_xy[1]
        ) <= self.bin.inner_half_xy[1]
        grasped = self.grasped()
        if over_bin and not grasped:
            return 0.9  # released over (or resting in) the bin, not yet settled
        if grasped:
            lifted = float(np.clip((pose[2] - self._rest_z) / LIFTED_M, 0.0, 1.0))
            return 0.3 + 0.1 * lifted + 0.5 * lifted * (1.0 - float(np.tanh(5.0 * to_bin)))
        reach = float(np.linalg.norm(self.robot.ee_pose()[:3] - pose[:3]))
        return 0.3 * (1.0 - float(np.tanh(5.0 * reach)))

    def privileged_state(self, time_fraction: float) -> np.ndarray:
        pose = self._target_pose()
        symmetry = min(self.target.shape.yaw_symmetry_rad, np.pi)  # a two-finger grasp repeats every pi
        grasp_yaw = 0.0 if self.target.shape.yaw_symmetry_rad >= 2 * np.pi else wrap_angle(yaw_of(pose[3:]), symmetry)
        distractors = np.zeros((MAX_DISTRACTORS, 3))
        mask = np.zeros(MAX_DISTRACTORS)
        for i, part in enumerate(self.parts[1:]):
            distractors[i] = self.world.body_pose(part.body)[:3]
            mask[i] = 1.0
        vector = np.concatenate([
            pose,
            [grasp_yaw],
            self.target.shape.half_extents,
            [*self.bin.center_xy, self.bin.floor_top_z],
            self.bin.inner_half_xy,
            [self.bin.wall_top_z],
            [float(self.grasped())],
            [float(self.in_bin())],
            [time_fraction],
            distractors.ravel(),
            mask,
        ])
        return vector.astype(np.float32)
