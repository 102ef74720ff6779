"""Conveyor: "pick the <colour> <part> off the conveyor and put it in the <left|right> tote".

The conveyor is a pallet conveyor between the two bins (which serve as totes): a static
rail along x, and on it one pallet per part, each riding a prismatic joint driven by a
velocity motor toward the robot (-x). The motors run inside every physics step, so the
belt moves without any per-step hook in the backend, and the parts are carried by
friction alone: a grasped part leaves its pallet naturally, and a part pushed on its
pallet slips as it would on a real belt. Each pallet's joint limit is the end stop, where
pallets (and the parts they carry) wait at `BELT_END_X`, still within reach.

Per episode (from the seeded generator only): the target's colour and shape, one to three
distractor parts (never the target's colour *and* shape), their order and spacing along
the belt, each part's yaw and small sideways offset on its pallet, the belt speed, the
tote (left or right) and the wording.

Success, from simulator state: the target rests inside the named tote (centre over its
floor, below its walls, slower than `RESTING_SPEED_M_S`) and neither finger touches it.

Templates live here rather than in `sim/tasks/language.py` because their slots differ
(``{colour}``, ``{part}``, ``{side}``); the held-out split is disjoint
(`tests/test_sim_tasks.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

from sim.geometry import wrap_angle, yaw_of
from sim.tasks.base import Task, register_task
from sim.world import BINS, COLOURS, PART_SHAPES, TABLE_TOP_Z, PartShape

BELT_Y = 0.0
BELT_START_X, BELT_END_X = 0.8, 0.24  # pallets enter at the far end and stop at the near one
RAIL_HALF_WIDTH_M = 0.05
RAIL_HEIGHT_M = 0.015
PALLET_HALF = (0.04, 0.04, 0.005)
PALLET_TOP_Z = TABLE_TOP_Z + RAIL_HEIGHT_M + 2 * PALLET_HALF[2]
PALLET_MASS_KG = 0.3
PALLET_FRICTION = 1.0
BELT_FORCE_N = 30.0  # per pallet motor: far more than a part's friction, far less than the arm's push
BELT_SPEED_M_S = (0.02, 0.05)
SPAWN_X = (0.48, 0.8)  # part (pallet) centres at the start
PART_SPACING_M = 0.1  # between pallet centres along the belt, so open fingers clear a neighbour
MAX_SIDEWAYS_M = 0.008  # a part's offset across its pallet
MAX_DISTRACTORS = 3
RESTING_SPEED_M_S = 0.05
LIFTED_M = 0.03
RAIL_RGBA = (0.2, 0.21, 0.23, 1.0)
PALLET_RGBA = (0.45, 0.47, 0.5, 1.0)

TRAIN_TEMPLATES = (
    "pick the {colour} {part} off the conveyor and put it in the {side} tote",
    "grab the {colour} {part} from the belt and place it in the {side} tote",
    "take the {colour} {part} off the moving belt and drop it in the {side} tote",
    "catch the {colour} {part} on the conveyor and put it into the {side} tote",
    "move the {colour} {part} from the conveyor to the {side} tote",
    "pick up the {colour} {part} as it comes down the belt and place it in the {side} tote",
)
HELDOUT_TEMPLATES = (
    "the {colour} {part} on the conveyor goes in the {side} tote",
    "intercept the {colour} {part} on the belt and load it into the {side} tote",
    "unload the {colour} {part} from the line into the {side} tote",
    "fetch the {colour} {part} off the line and stow it in the {side} tote",
    "put the {colour} {part} riding the conveyor into the {side} tote",
)
TEMPLATES = {"train": TRAIN_TEMPLATES, "heldout": HELDOUT_TEMPLATES}


def conveyor_templates(split: str) -> tuple[str, ...]:
    """Conveyor's templates of `split` ("train" or "heldout")."""
    if split not in TEMPLATES:
        raise ValueError(f"instruction split {split!r}, expected one of {sorted(TEMPLATES)}")
    return TEMPLATES[split]


@dataclass
class BeltPart:
    body: int
    shape: PartShape
    colour: str
    pallet: int  # link (and joint) index of its pallet on the conveyor body


def sample_belt_positions(rng: np.random.Generator, n: int) -> list[float]:
    """`n` pallet centres along the belt, in random order, at least `PART_SPACING_M` apart."""
    slack = (SPAWN_X[1] - SPAWN_X[0]) - (n - 1) * PART_SPACING_M
    if slack < 0:
        raise ValueError(f"{n} parts do not fit {PART_SPACING_M} m apart in {SPAWN_X}")
    # Sorted uniform gaps: a uniform draw of n ordered points with minimum spacing.
    offsets = np.sort(rng.uniform(0.0, slack, n))
    xs = [SPAWN_X[0] + float(o) + i * PART_SPACING_M for i, o in enumerate(offsets)]
    return [xs[i] for i in rng.permutation(n)]


@register_task
class Conveyor(Task):
    name = "Conveyor"
    time_limit_s = 9.0  # 180 control steps at 20 Hz
    # Privileged state, float32, in this order (world frame, metres, seconds and radians):
    privileged_layout = (
        ("part_pose", 7),  # target part [x y z qx qy qz qw]
        ("part_velocity", 3),  # its measured linear velocity
        ("belt_velocity", 3),  # the pallets' velocity while moving (zero once at the end stop)
        ("grasp_yaw", 1),  # gripper yaw that closes the fingers across the part, folded by its symmetry
        ("part_half_extents", 3),
        ("belt_end_x", 1),  # where the pallets stop
        ("tote_center", 3),  # named tote [x y floor_top_z]
        ("tote_inner_half_xy", 2),
        ("tote_wall_top_z", 1),
        ("grasped", 1),  # 1 when both fingers touch the target
        ("in_tote", 1),  # 1 when the target is inside the named tote (see `success`)
        ("time_fraction", 1),
        ("distractor_positions", 3 * MAX_DISTRACTORS),  # [x y z] each, zero rows when absent
        ("distractor_mask", MAX_DISTRACTORS),
    )

    def reset(self, rng: np.random.Generator) -> None:
        combos = [(c, s) for c in sorted(COLOURS) for s in sorted(PART_SHAPES)]
        order = rng.permutation(len(combos))
        n_distractors = int(rng.integers(1, MAX_DISTRACTORS + 1))
        chosen = [combos[i] for i in order[: 1 + n_distractors]]
        self.belt_speed = float(rng.uniform(*BELT_SPEED_M_S))
        self.side = str(rng.choice(sorted(BINS)))
        self.tote = BINS[self.side]
        xs = sample_belt_positions(rng, len(chosen))
        self.conveyor = self._add_conveyor(xs)
        client = self.world.client
        self.parts: list[BeltPart] = []
        for pallet, ((colour, shape_name), x) in enumerate(zip(chosen, xs, strict=True)):
            shape = PART_SHAPES[shape_name]
            yaw = float(rng.uniform(-np.pi, np.pi))
            y = BELT_Y + float(rng.uniform(-MAX_SIDEWAYS_M, MAX_SIDEWAYS_M))
            body = self.world.add_part(shape, colour, (x, y), yaw)
            client.resetBasePositionAndOrientation(
                body, [x, y, PALLET_TOP_Z + shape.half_height_m + 1e-4], client.getQuaternionFromEuler([0, 0, yaw])
            )
            client.resetBaseVelocity(body, [-self.belt_speed, 0.0, 0.0], [0.0, 0.0, 0.0])
            self.parts.append(BeltPart(body, shape, colour, pallet))
        self.target = self.parts[0]
        template = str(rng.choice(conveyor_templates(self.instruction_split)))
        self.instruction = template.format(colour=self.target.colour, part=self.target.shape.name, side=self.side)

    def _add_conveyor(self, pallet_xs: list[float]) -> int:
        """The rail (static base) with one motorised pallet per entry of `pallet_xs`."""
        c = self.world.client
        rail_half = [(BELT_START_X - BELT_END_X) / 2 + PALLET_HALF[0], RAIL_HALF_WIDTH_M, RAIL_HEIGHT_M / 2]
        rail_xyz = [(BELT_START_X + BELT_END_X) / 2, BELT_Y, TABLE_TOP_Z + RAIL_HEIGHT_M / 2]
        rail_col = c.createCollisionShape(p.GEOM_BOX, halfExtents=rail_half)
        rail_vis = c.createVisualShape(p.GEOM_BOX, halfExtents=rail_half, rgbaColor=RAIL_RGBA)
        pallet_col = c.createCollisionShape(p.GEOM_BOX, halfExtents=PALLET_HALF)
        pallet_vis = c.createVisualShape(p.GEOM_BOX, halfExtents=PALLET_HALF, rgbaColor=PALLET_RGBA)
        n = len(pallet_xs)
        pallet_z = RAIL_HEIGHT_M / 2 + PALLET_HALF[2]  # above the rail's centre
        body = c.createMultiBody(
            0, rail_col, rail_vis, rail_xyz,
            linkMasses=[PALLET_MASS_KG] * n,
            linkCollisionShapeIndices=[pallet_col] * n,
            linkVisualShapeIndices=[pallet_vis] * n,
            linkPositions=[[x - rail_xyz[0], 0.0, pallet_z] for x in pallet_xs],
            linkOrientations=[[0, 0, 0, 1]] * n,
            linkInertialFramePositions=[[0, 0, 0]] * n,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * n,
            linkParentIndices=[0] * n,
            linkJointTypes=[p.JOINT_PRISMATIC] * n,
            linkJointAxis=[[1, 0, 0]] * n,
        )
        for link, x in enumerate(pallet_xs):
            # The joint limit is the end stop; joint position 0 is where the pallet starts.
            c.changeDynamics(body, link, lateralFriction=PALLET_FRICTION, jointLowerLimit=BELT_END_X - x,
                             jointUpperLimit=BELT_START_X - x)
            c.resetJointState(body, link, 0.0, -self.belt_speed)
        c.setJointMotorControlArray(
            body, list(range(n)), p.VELOCITY_CONTROL, targetVelocities=[-self.belt_speed] * n, forces=[BELT_FORCE_N] * n
        )
        return body

    # -- judging -------------------------------------------------------------------
    def _target_pose(self) -> np.ndarray:
        return self.world.body_pose(self.target.body)

    def pallet_velocity(self, part: BeltPart) -> np.ndarray:
        """The velocity of `part`'s pallet: the belt's while it runs, zero at the end stop."""
        speed = self.world.client.getJointState(self.conveyor, part.pallet)[1]
        return np.array([speed, 0.0, 0.0])

    def grasped(self) -> bool:
        return all(self.robot.finger_contact(self.target.body))

    def in_tote(self) -> bool:
        pose = self._target_pose()
        dx, dy = pose[0] - self.tote.center_xy[0], pose[1] - self.tote.center_xy[1]
        hx, hy = self.tote.inner_half_xy
        return abs(dx) <= hx and abs(dy) <= hy and pose[2] <= self.tote.wall_top_z

    def success(self) -> bool:
        return (
            self.in_tote()
            and self.world.body_speed(self.target.body) < RESTING_SPEED_M_S
            and not any(self.robot.finger_contact(self.target.body))
        )

    def progress(self) -> float:
        """Staged and dense: reach (<= 0.3), grasp and lift (<= 0.4), carry to the tote (<= 0.9), success (1)."""
        if self.success():
            return 1.0
        pose = self._target_pose()
        tote_xy = np.asarray(self.tote.center_xy)
        to_tote = float(np.hypot(*(pose[:2] - tote_xy)))
        over_tote = bool(np.all(np.abs(pose[:2] - tote_xy) <= np.asarray(self.tote.inner_half_xy)))
        grasped = self.grasped()
        if over_tote and not grasped:
            return 0.9  # released over (or resting in) the tote, not yet settled
        if grasped:
            rest_z = PALLET_TOP_Z + self.target.shape.half_height_m
            lifted = float(np.clip((pose[2] - rest_z) / LIFTED_M, 0.0, 1.0))
            return 0.3 + 0.1 * lifted + 0.5 * lifted * (1.0 - float(np.tanh(5.0 * to_tote)))
        reach = float(np.linalg.norm(self.robot.ee_pose()[:3] - pose[:3]))
        return 0.3 * (1.0 - float(np.tanh(5.0 * reach)))

    def privileged_state(self, time_fraction: float) -> np.ndarray:
        pose = self._target_pose()
        velocity, _ = self.world.client.getBaseVelocity(self.target.body)
        symmetry = min(self.target.shape.yaw_symmetry_rad, np.pi)  # a two-finger grasp repeats every pi
        grasp_yaw = 0.0 if self.target.shape.yaw_symmetry_rad >= 2 * np.pi else wrap_angle(yaw_of(pose[3:]), symmetry)
        distractors = np.zeros((MAX_DISTRACTORS, 3))
        mask = np.zeros(MAX_DISTRACTORS)
        for i, part in enumerate(self.parts[1:]):
            distractors[i] = self.world.body_pose(part.body)[:3]
            mask[i] = 1.0
        vector = np.concatenate([
            pose,
            velocity,
            self.pallet_velocity(self.target),
            [grasp_yaw],
            self.target.shape.half_extents,
            [BELT_END_X],
            [*self.tote.center_xy, self.tote.floor_top_z],
            self.tote.inner_half_xy,
            [self.tote.wall_top_z],
            [float(self.grasped())],
            [float(self.in_tote())],
            [time_fraction],
            distractors.ravel(),
            mask,
        ])
        return vector.astype(np.float32)
