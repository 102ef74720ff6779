"""The Franka Panda arm with its parallel gripper, inside a `World`.

By default the model is `assets/panda_simple/panda_simple.urdf`: pybullet_data's Panda with
its collision meshes and dynamics unchanged but its visuals replaced by boxes and
cylinders, because the detailed visual meshes make the CPU renderer several times
slower (see PERF-NOTES). `visuals="meshes"` loads the original for comparison.

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
# Arm home: grasp point about (0.45, 0, 0.25), pointing down. Found with `solve_ik`.
HOME_Q = np.array([0.0, -0.1, 0.0, -2.1, 0.0, 2.0, 0.785])
IK_ITERATIONS = 50
IK_RESIDUAL_M = 1e-5


def _read_limits(urdf: Path, joints: tuple[str, ...]) -> JointLimits:
    """Joint limits straight from the URDF text, so they are known before any simulator starts."""
    by_name = {j.get("name"): j.find("limit") for j in ET.parse(urdf).getroot().iter("joint")}
    missing = [n for n in joints if by_name.get(n) is None]
    if missing:
        raise ValueError(f"{urdf} has no <limit> for joints {missing}")
    rows = [[float(by_name[n].get(k)) for k in ("lower", "upper", "velocity", "effort")] for n in joints]
    lower, upper, velocity, effort = (np.array(col) for col in zip(*rows))
    return JointLimits(lower=lower, upper=upper, velocity=velocity, effort=effort)


ARM_LIMITS = _read_limits(ASSET_URDF, ARM_JOINTS)


class PandaModel:
    """Loads the Panda into a client and reads/commands it; one instance per loaded body."""

    joint_names = ARM_JOINTS
    limits = ARM_LIMITS

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
        index = {client.getJointInfo(self.body, j)[1].decode(): j for j in range(client.getNumJoints(self.body))}
        links = {client.getJointInfo(self.body, j)[12].decode(): j for j in range(client.getNumJoints(self.body))}
        self.arm = [index[n] for n in ARM_JOINTS]
        self.fingers = [index[n] for n in FINGER_JOINTS]
        self.finger_links = [links[n] for n in FINGER_LINKS]
        self.ee_link = links[EE_LINK]
        self.hand_link = links[HAND_LINK]
        for link in self.finger_links:
            client.changeDynamics(self.body, link, lateralFriction=FINGER_FRICTION, spinningFriction=0.01)

    def reset(self, q: np.ndarray = HOME_Q, gripper: float = 1.0) -> None:
        """Teleport to `q` at rest with the gripper at `gripper` and hold there."""
        for j, qj in zip(self.arm, q):
            self.client.resetJointState(self.body, j, float(qj), 0.0)
        for j in self.fingers:
            self.client.resetJointState(self.body, j, gripper * FINGER_TRAVEL_M, 0.0)
        self.set_targets(np.asarray(q, dtype=np.float64), gripper)

    def joint_states(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arm joint positions, velocities and applied motor torques."""
        states = self.client.getJointStates(self.body, self.arm)
        return tuple(np.array([s[k] for s in states], dtype=np.float64) for k in (0, 1, 3))  # type: ignore[return-value]

    def link_pose(self, link: int) -> np.ndarray:
        state = self.client.getLinkState(self.body, link, computeForwardKinematics=True)
        return np.array([*state[4], *state[5]], dtype=np.float64)

    def ee_pose(self) -> np.ndarray:
        return self.link_pose(self.ee_link)

    def gripper_opening(self) -> float:
        """0 closed, 1 fully open (0.08 m between the fingers)."""
        q = [s[0] for s in self.client.getJointStates(self.body, self.fingers)]
        return float(np.clip(sum(q) / (2 * FINGER_TRAVEL_M), 0.0, 1.0))

    def set_targets(self, q: np.ndarray, gripper: float) -> None:
        """Position-control targets: arm at its URDF effort limits, fingers at a moderate grip force."""
        self.client.setJointMotorControlArray(
            self.body, self.arm, p.POSITION_CONTROL, targetPositions=list(map(float, q)),
            forces=list(map(float, ARM_LIMITS.effort)),
        )
        width = float(np.clip(gripper, 0.0, 1.0)) * FINGER_TRAVEL_M
        self.client.setJointMotorControlArray(
            self.body, self.fingers, p.POSITION_CONTROL, targetPositions=[width, width],
            forces=[FINGER_FORCE_N, FINGER_FORCE_N],
        )

    def finger_contact(self, body: int) -> tuple[bool, bool]:
        """Whether the left and right finger each touch `body`."""
        return tuple(  # type: ignore[return-value]
            len(self.client.getContactPoints(self.body, body, link, -1)) > 0 for link in self.finger_links
        )
