"""The Franka Panda arm with its parallel gripper: the physics body and its kinematics.

By default the model is `assets/panda_simple/panda_simple.urdf`: pybullet_data's Panda with
its collision meshes and dynamics unchanged but its visuals replaced by boxes and
cylinders, because the detailed visual meshes make the CPU renderer several times
slower (see PERF-NOTES). `visuals="meshes"` loads the original for comparison and
`visuals="collision"` draws the collision meshes instead.

The end effector is `panda_grasptarget`, the point between the fingertips.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pybullet as p
import pybullet_data
from pybullet_utils.bullet_client import BulletClient

from robot.interface import JointLimits
from sim.cameras import SceneCamera
from sim.client import Client

ASSET_URDF = Path(__file__).resolve().parents[2] / "assets" / "panda_simple" / "panda_simple.urdf"
MESH_URDF = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
FINGER_LINKS = ("panda_leftfinger", "panda_rightfinger")
EE_LINK = "panda_grasptarget"
HAND_LINK = "panda_hand"

FINGER_TRAVEL_M = 0.04  # each finger; the gripper opens to 0.08 m
FINGER_FORCE_N = 40.0
FINGER_FRICTION = 1.5
# Gripper pointing straight down, fingers closing along world y.
DOWN_QUAT = np.array([1.0, 0.0, 0.0, 0.0])
# Arm home: grasp point at about (0.45, 0, 0.25) pointing down (solved once with `PandaKinematics`).
HOME_Q = np.array([0.0, -0.1876, 0.0, -2.495, 0.0, 2.3074, 0.7854])
IK_ITERATIONS = 20
IK_RESIDUAL_M = 1e-6
IK_DAMPING = 1e-3
NULLSPACE_GAIN = 0.1  # fraction of the way back to HOME_Q per solve, inside the Jacobian's null space


def _read_limits(urdf: Path, joints: tuple[str, ...]) -> JointLimits:
    """Joint limits straight from the URDF text, so they are known before any simulator starts."""
    by_name = {j.get("name"): j.find("limit") for j in ET.parse(urdf).getroot().iter("joint")}
    missing = [n for n in joints if by_name.get(n) is None]
    if missing:
        raise ValueError(f"{urdf} has no <limit> for joints {missing}")
    rows = [[float(by_name[n].get(k)) for k in ("lower", "upper", "velocity", "effort")] for n in joints]
    lower, upper, velocity, effort = (np.array(col) for col in zip(*rows, strict=True))
    return JointLimits(lower=lower, upper=upper, velocity=velocity, effort=effort)


ARM_LIMITS = _read_limits(ASSET_URDF, ARM_JOINTS)


def _check_single_arm(index: int) -> None:
    if index != 0:
        raise ValueError(f"the Panda has one arm (index 0), got arm index {index}")


class _PandaBody:
    """A loaded Panda and the indices of its joints and links."""

    def __init__(self, client: BulletClient, visuals: str = "simple") -> None:
        if visuals == "simple":
            urdf, flags = ASSET_URDF, 0
        elif visuals == "meshes":
            urdf, flags = MESH_URDF, 0
        elif visuals == "collision":
            urdf, flags = MESH_URDF, p.URDF_IGNORE_VISUAL_SHAPES
        else:
            raise ValueError(f"visuals={visuals!r}, expected 'simple', 'meshes' or 'collision'")
        self.client = client
        self.body = client.loadURDF(
            os.fspath(urdf), [0, 0, 0], useFixedBase=True, flags=flags | p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT
        )
        infos = [client.getJointInfo(self.body, j) for j in range(client.getNumJoints(self.body))]
        joints = {info[1].decode(): info[0] for info in infos}
        links = {info[12].decode(): info[0] for info in infos}
        self.arm = [joints[n] for n in ARM_JOINTS]
        self.fingers = [joints[n] for n in FINGER_JOINTS]
        self.finger_links = [links[n] for n in FINGER_LINKS]
        self.ee_link = links[EE_LINK]
        self.hand_link = links[HAND_LINK]

    def set_joint_positions(self, q: np.ndarray, gripper: float) -> None:
        """Teleport (zero velocity): only for resets and for the kinematics copy."""
        if len(q) != len(self.arm):
            raise ValueError(f"{len(q)} joint positions for the Panda's {len(self.arm)} arm joints")
        width = float(gripper) * FINGER_TRAVEL_M
        positions = [[float(qj)] for qj in q] + [[width]] * len(self.fingers)
        self.client.resetJointStatesMultiDof(
            self.body, self.arm + self.fingers, positions, [[0.0]] * len(positions)
        )

    def link_pose(self, link: int) -> np.ndarray:
        """[x y z qx qy qz qw] of a link frame in the world."""
        state = self.client.getLinkState(self.body, link, computeForwardKinematics=True)
        return np.array([*state[4], *state[5]], dtype=np.float64)


class PandaModel(_PandaBody):
    """The Panda in a `World`: reads its state and commands its position-controlled motors."""

    joint_names = ARM_JOINTS
    limits = ARM_LIMITS
    arms = ("arm",)
    scene_camera_fixed = True  # the scene camera stands on the cell, not on the robot

    def __init__(self, client: BulletClient, visuals: str = "simple") -> None:
        super().__init__(client, visuals)
        for link in self.finger_links:
            client.changeDynamics(self.body, link, lateralFriction=FINGER_FRICTION, spinningFriction=0.01)
        # Couple the fingers as the real hand's rack does. Uncoupled, two fingers squeezing at equal
        # force float together along the closing axis, so a held part slides about in the hand
        # (several mm), which defeats precise placement such as peg insertion.
        gear = client.createConstraint(
            self.body, self.fingers[0], self.body, self.fingers[1], p.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0]
        )
        client.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=50)

    def reset(self, q: np.ndarray = HOME_Q, gripper: float = 1.0) -> None:
        """Teleport to `q` at rest with the gripper at `gripper` and hold there."""
        self.set_joint_positions(q, gripper)
        self.set_targets(np.asarray(q, dtype=np.float64), gripper)

    def joint_states(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arm joint positions, velocities and applied motor torques."""
        states = self.client.getJointStates(self.body, self.arm)
        pos, vel, eff = (np.array([s[k] for s in states], dtype=np.float64) for k in (0, 1, 3))
        return pos, vel, eff

    @staticmethod
    def make_kinematics() -> PandaKinematics:
        return PandaKinematics()

    def select_arm(self, index: int) -> None:
        _check_single_arm(index)

    def ee_pose(self) -> np.ndarray:
        return self.link_pose(self.ee_link)

    def wrist_mount_pose(self) -> np.ndarray:
        """Pose of the link the wrist camera is fixed to (the hand)."""
        return self.link_pose(self.hand_link)

    def scene_camera(self) -> SceneCamera:
        """The fixed camera that sees this robot's work area (each robot model chooses its own)."""
        return SceneCamera()

    def gripper_opening(self) -> float:
        """0 closed, 1 fully open (0.08 m between the fingers)."""
        q = [s[0] for s in self.client.getJointStates(self.body, self.fingers)]
        return float(np.clip(sum(q) / (2 * FINGER_TRAVEL_M), 0.0, 1.0))

    def set_targets(self, q: np.ndarray, gripper: float) -> None:
        """Position-control targets: arm at its URDF effort limits, fingers at a moderate grip force."""
        self.client.setJointMotorControlArray(
            self.body, self.arm, p.POSITION_CONTROL, targetPositions=[float(x) for x in q],
            forces=[float(x) for x in ARM_LIMITS.effort],
        )
        width = float(np.clip(gripper, 0.0, 1.0)) * FINGER_TRAVEL_M
        self.client.setJointMotorControlArray(
            self.body, self.fingers, p.POSITION_CONTROL, targetPositions=[width, width],
            forces=[FINGER_FORCE_N, FINGER_FORCE_N],
        )

    def finger_contact(self, body: int) -> tuple[bool, bool]:
        """Whether the left and right finger each touch `body`."""
        left, right = (
            len(self.client.getContactPoints(self.body, body, link, -1)) > 0 for link in self.finger_links
        )
        return left, right


class PandaKinematics:
    """Inverse kinematics on a private, never-stepped copy of the Panda.

    PyBullet's IK starts from the body's current joint state, so solving on the
    simulated robot would either ignore the caller's seed or disturb the physics.
    A separate DIRECT client holds a kinematic copy: the seed is honoured exactly
    and solving never changes the simulation (which keeps episodes deterministic).
    """

    def __init__(self) -> None:
        self.client = Client()
        self.panda = _PandaBody(self.client, "simple")

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client = None  # type: ignore[assignment]

    def select_arm(self, index: int) -> None:
        _check_single_arm(index)

    def forward(self, q: np.ndarray) -> np.ndarray:
        """Grasp-point pose [x y z qx qy qz qw] for arm joints `q`."""
        self.panda.set_joint_positions(np.asarray(q, dtype=np.float64), 1.0)
        return self.panda.link_pose(self.panda.ee_link)

    def solve(self, ee_pose: np.ndarray, seed_q: np.ndarray) -> np.ndarray:
        """Arm joints putting the grasp point at `ee_pose` ([x y z], pointing down, or [x y z qx qy qz qw]).

        Damped least squares from `seed_q` (accurate to well under a millimetre for the small
        steps a controller asks for), then a step toward `HOME_Q` inside the Jacobian's null
        space, so the redundant elbow does not drift over an episode.
        """
        ee_pose = np.asarray(ee_pose, dtype=np.float64)
        if ee_pose.shape not in ((3,), (7,)):
            raise ValueError(f"ee_pose has shape {ee_pose.shape}, expected (3,) or (7,)")
        seed_q = np.asarray(seed_q, dtype=np.float64)
        if seed_q.shape != (len(ARM_JOINTS),):
            raise ValueError(f"seed_q has shape {seed_q.shape}, expected ({len(ARM_JOINTS)},)")
        orientation = DOWN_QUAT if ee_pose.shape == (3,) else ee_pose[3:] / np.linalg.norm(ee_pose[3:])
        body = self.panda
        body.set_joint_positions(seed_q, 1.0)
        solution = self.client.calculateInverseKinematics(
            body.body, body.ee_link, ee_pose[:3].tolist(), orientation.tolist(),
            jointDamping=[IK_DAMPING] * (len(ARM_JOINTS) + len(FINGER_JOINTS)),
            maxNumIterations=IK_ITERATIONS, residualThreshold=IK_RESIDUAL_M,
        )
        q = np.array(solution[: len(ARM_JOINTS)], dtype=np.float64)
        return q + self._nullspace_step(q)

    def _nullspace_step(self, q: np.ndarray) -> np.ndarray:
        dof = [*q.tolist(), FINGER_TRAVEL_M, FINGER_TRAVEL_M]
        zeros = [0.0] * len(dof)
        linear, angular = self.client.calculateJacobian(
            self.panda.body, self.panda.ee_link, [0.0, 0.0, 0.0], dof, zeros, zeros
        )
        jac = np.vstack([np.array(linear), np.array(angular)])[:, : len(ARM_JOINTS)]
        # (I - pinv(jac) @ jac) @ step, from one SVD: subtract the step's part in jac's row space.
        _, singular, vt = np.linalg.svd(jac, full_matrices=False)
        rows = vt[singular > 1e-15 * singular[0]]  # numpy's pinv cutoff
        step = NULLSPACE_GAIN * (HOME_Q - q)
        return step - rows.T @ (rows @ step)
