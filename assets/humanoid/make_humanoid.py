"""Generate `humanoid.urdf` beside this file: a 35-joint humanoid built from primitives only.

Run ``python assets/humanoid/make_humanoid.py`` after changing any number here; the URDF is
a build product of this script and is never edited by hand.

Why primitives: the CPU renderer's cost is dominated by visual triangles (see PERF-NOTES),
so every link is one box, cylinder or sphere, used for both its visual and its collision
shape, and its inertia is the exact formula for that solid (not identity). Frames are the
usual ones: at zero joint angles every link frame is parallel to the pelvis (x forward,
y left, z up), the arms hang down and the legs are straight.

Joints (35 movable, plus fixed frames): legs 2 x 6 (hip yaw/roll/pitch, knee, ankle
pitch/roll), waist 3 (yaw/roll/pitch), neck 2 (yaw/pitch), arms 2 x 7 (shoulder
pitch/roll/yaw, elbow, wrist pitch/roll/yaw), fingers 2 x 2 (prismatic). Positive angles
mean flexion or forward motion where that makes sense (axes are signed per joint so that
the limits read like a physiology table). Three multi-axis joints (hip, shoulder, wrist)
are serial revolutes with a small "joint housing" link between them.

Sizes are a tall adult (1.90 m standing, 73.7 kg) with segment masses after Winter's
anthropometric table (trunk ~46 %, legs ~36 %, arms ~13 %, head ~7 %). The cell's parts
lie 0.55-0.8 m beyond the near table edge, which a 1.75 m person cannot reach with a hand
pointing down; a long trunk (waist to shoulder 0.46 m) and long arms (shoulder to elbow
0.35 m, elbow to wrist 0.29 m, wrist to grasp point 0.135 m) let the humanoid cover the
parts region and both bins while leaning over the table (see `sim/robots/humanoid.py`).
For the same reason the gripper is mounted at 0.5 rad of flexion (see GRIPPER_MOUNT_FLEXION).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().with_name("humanoid.urdf")

# -- dimensions (metres) -------------------------------------------------------------------
PELVIS = (0.20, 0.30, 0.14)  # box x y z
HIP_Y, HIP_Z = 0.09, -0.06  # hip yaw joint below the pelvis centre
HIP_HOUSING_L = 0.04  # hip yaw link (a short cylinder) down to the roll/pitch centre
THIGH_L, THIGH_R = 0.43, 0.065
SHANK_L, SHANK_R = 0.43, 0.05
FOOT = (0.22, 0.09, 0.05)  # box; its sole is ANKLE_H below the ankle
ANKLE_H = 0.07
WAIST_Z = 0.07  # waist yaw joint above the pelvis centre
WAIST_HOUSING_L = 0.04
TORSO = (0.20, 0.32, 0.50)  # box from the waist pitch joint upward
SHOULDER_Y, SHOULDER_Z = 0.13, 0.46  # shoulder pitch joint in the torso frame
SHOULDER_HOUSING_L = 0.05  # shoulder pitch link (cylinder along y) out to the roll joint
UPPER_ARM_L, UPPER_ARM_R = 0.30, 0.045  # below the shoulder yaw joint (elbow 0.35 below the roll joint)
FOREARM_L, FOREARM_R = 0.29, 0.04
WRIST_HOUSING_L = 0.03
HAND = (0.08, 0.10, 0.07)  # box below the wrist yaw joint
FINGER = (0.02, 0.012, 0.05)  # box; inner face on the closing plane
FINGER_TRAVEL = 0.04  # each finger; open gap 0.08 m like the Panda
GRASP_ABOVE_TIP = 0.012  # grasp point this far above the fingertips
# The gripper is mounted flexed toward the palm, as fingers curl in a pinch: a hand pointing
# down over the far table then needs ~1.1 rad of wrist flexion instead of more than a human has.
GRIPPER_MOUNT_FLEXION = 0.5
NECK_L = 0.06
HEAD_R = 0.10
CAMERA_FORWARD, CAMERA_UP = 0.105, 0.02  # head camera from the head centre (just outside the skull)
CAMERA_PITCH = 0.0  # the neck pitch joint aims the camera

# -- masses (kg) ------------------------------------------------------------------------------
MASS = {
    "pelvis": 9.0, "hip_yaw": 0.5, "hip_roll": 0.6, "thigh": 7.5, "shank": 3.4, "ankle": 0.2, "foot": 0.9,
    "waist_yaw": 1.0, "waist_roll": 1.0, "torso": 22.0, "neck": 0.6, "head": 4.5, "camera": 0.05,
    "shoulder_pitch": 0.4, "shoulder_roll": 0.4, "upper_arm": 2.0, "forearm": 1.2, "wrist_pitch": 0.1,
    "wrist_roll": 0.1, "hand": 0.4, "finger": 0.04,
}
FRAME_MASS = 1e-3  # massless frames (grasp targets) get a 1 g, 1 cm point sphere
FRAME_RADIUS = 0.005

# -- limits: (lower, upper) rad or m, velocity rad/s or m/s, effort N m or N -----------------------
LIMITS = {
    "hip_yaw": (-0.7, 0.7, 6.0, 150.0), "hip_roll": (-0.5, 0.8, 6.0, 200.0),
    "hip_pitch": (-0.5, 2.0, 7.0, 250.0), "knee": (0.0, 2.4, 8.0, 250.0),
    "ankle_pitch": (-0.8, 0.5, 8.0, 150.0), "ankle_roll": (-0.4, 0.4, 8.0, 80.0),
    "waist_yaw": (-0.8, 0.8, 3.0, 150.0), "waist_roll": (-0.5, 0.5, 3.0, 200.0),
    "waist_pitch": (-0.5, 1.4, 3.0, 300.0),
    "neck_yaw": (-1.3, 1.3, 5.0, 20.0), "neck_pitch": (-0.7, 1.2, 5.0, 20.0),
    "shoulder_pitch": (-0.9, 3.0, 4.0, 80.0), "shoulder_roll": (-0.8, 2.6, 4.0, 80.0),
    "shoulder_yaw": (-1.4, 1.4, 5.0, 50.0), "elbow": (0.0, 2.5, 5.0, 60.0),
    "wrist_pitch": (-1.4, 1.2, 6.0, 15.0), "wrist_roll": (-0.6, 0.6, 6.0, 15.0),
    "wrist_yaw": (-1.7, 1.7, 6.0, 10.0), "finger": (0.0, FINGER_TRAVEL, 0.2, 40.0),
}
JOINT_DAMPING = 0.5
FINGER_FRICTION = 1.5

COLOURS = {
    "body": "0.78 0.8 0.84 1", "joint": "0.25 0.26 0.3 1", "accent": "0.2 0.45 0.75 1",
    "head": "0.92 0.92 0.94 1", "lens": "0.05 0.05 0.05 1",
}


@dataclass
class Shape:
    """One primitive: kind in box/cylinder/sphere; size is (x, y, z), (radius, length) or (radius,)."""

    kind: str
    size: tuple[float, ...]
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def inertia(self, m: float) -> tuple[float, float, float]:
        """Principal moments about the shape's own axes (cylinders along their local z)."""
        if self.kind == "box":
            x, y, z = self.size
            return m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12
        if self.kind == "cylinder":
            r, h = self.size
            side = m * (3 * r * r + h * h) / 12
            return side, side, m * r * r / 2
        if self.kind == "sphere":
            (r,) = self.size
            return (2 * m * r * r / 5,) * 3
        raise ValueError(f"unknown shape kind {self.kind!r}")

    def geometry(self, parent: ET.Element) -> None:
        geometry = ET.SubElement(parent, "geometry")
        names = {"box": ("size",), "cylinder": ("radius", "length"), "sphere": ("radius",)}[self.kind]
        if self.kind == "box":
            ET.SubElement(geometry, "box", size=_fmt(self.size))
        else:
            ET.SubElement(geometry, self.kind, {n: _fmt((v,)) for n, v in zip(names, self.size, strict=True)})


@dataclass
class Link:
    name: str
    mass: float
    shape: Shape | None  # None: a massless frame
    colour: str = "body"
    friction: float | None = None


@dataclass
class Joint:
    name: str
    kind: str  # revolute, prismatic, fixed
    parent: str
    child: str
    xyz: tuple[float, float, float]
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    limit: str | None = None  # key into LIMITS
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class Robot:
    links: list[Link] = field(default_factory=list)
    joints: list[Joint] = field(default_factory=list)

    def add(self, link: Link, joint: Joint | None = None) -> None:
        self.links.append(link)
        if joint is not None:
            self.joints.append(joint)


def _fmt(values: tuple[float, ...]) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _along_y(length: float) -> tuple[float, float, float]:
    """rpy turning a cylinder's z axis onto y."""
    return (math.pi / 2, 0.0, 0.0) if length else (0.0, 0.0, 0.0)


def build() -> Robot:
    robot = Robot()
    robot.add(Link("pelvis", MASS["pelvis"], Shape("box", PELVIS)))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        _leg(robot, side, sign)
        _arm(robot, side, sign)
    _trunk(robot)
    return robot


def _leg(robot: Robot, side: str, sign: float) -> None:
    s = f"{side}_"
    robot.add(
        Link(s + "hip_yaw_link", MASS["hip_yaw"], Shape("cylinder", (0.045, HIP_HOUSING_L), (0, 0, -HIP_HOUSING_L / 2)),
             "joint"),
        Joint(s + "hip_yaw", "revolute", "pelvis", s + "hip_yaw_link", (0, sign * HIP_Y, HIP_Z), (0, 0, 1), "hip_yaw"),
    )
    robot.add(Link(s + "hip_roll_link", MASS["hip_roll"], Shape("sphere", (0.055,)), "joint"),
              Joint(s + "hip_roll", "revolute", s + "hip_yaw_link", s + "hip_roll_link", (0, 0, -HIP_HOUSING_L),
                    (sign, 0, 0), "hip_roll"))
    robot.add(Link(s + "thigh", MASS["thigh"], Shape("cylinder", (THIGH_R, THIGH_L), (0, 0, -THIGH_L / 2))),
              Joint(s + "hip_pitch", "revolute", s + "hip_roll_link", s + "thigh", (0, 0, 0), (0, -1, 0), "hip_pitch"))
    robot.add(Link(s + "shank", MASS["shank"], Shape("cylinder", (SHANK_R, SHANK_L), (0, 0, -SHANK_L / 2))),
              Joint(s + "knee", "revolute", s + "thigh", s + "shank", (0, 0, -THIGH_L), (0, 1, 0), "knee"))
    robot.add(Link(s + "ankle_link", MASS["ankle"], Shape("sphere", (0.035,)), "joint"),
              Joint(s + "ankle_pitch", "revolute", s + "shank", s + "ankle_link", (0, 0, -SHANK_L), (0, -1, 0),
                    "ankle_pitch"))
    foot = Shape("box", FOOT, (0.04, 0, FOOT[2] / 2 - ANKLE_H))
    robot.add(Link(s + "foot", MASS["foot"], foot, "accent"),
              Joint(s + "ankle_roll", "revolute", s + "ankle_link", s + "foot", (0, 0, 0), (sign, 0, 0), "ankle_roll"))


def _trunk(robot: Robot) -> None:
    robot.add(Link("waist_yaw_link", MASS["waist_yaw"], Shape("cylinder", (0.07, WAIST_HOUSING_L),
                                                               (0, 0, WAIST_HOUSING_L / 2)), "joint"),
              Joint("waist_yaw", "revolute", "pelvis", "waist_yaw_link", (0, 0, WAIST_Z), (0, 0, 1), "waist_yaw"))
    robot.add(Link("waist_roll_link", MASS["waist_roll"], Shape("sphere", (0.06,)), "joint"),
              Joint("waist_roll", "revolute", "waist_yaw_link", "waist_roll_link", (0, 0, WAIST_HOUSING_L),
                    (1, 0, 0), "waist_roll"))
    robot.add(Link("torso", MASS["torso"], Shape("box", TORSO, (0, 0, TORSO[2] / 2))),
              Joint("waist_pitch", "revolute", "waist_roll_link", "torso", (0, 0, 0), (0, 1, 0), "waist_pitch"))
    robot.add(Link("neck_link", MASS["neck"], Shape("cylinder", (0.04, NECK_L), (0, 0, NECK_L / 2)), "joint"),
              Joint("neck_yaw", "revolute", "torso", "neck_link", (0, 0, TORSO[2]), (0, 0, 1), "neck_yaw"))
    robot.add(Link("head", MASS["head"], Shape("sphere", (HEAD_R,), (0, 0, HEAD_R)), "head"),
              Joint("neck_pitch", "revolute", "neck_link", "head", (0, 0, NECK_L), (0, 1, 0), "neck_pitch"))
    # The scene camera: looks along the frame's +x axis, image up is +z (see sim/robots/humanoid.py).
    robot.add(Link("head_camera", MASS["camera"], Shape("sphere", (0.015,)), "lens"),
              Joint("head_camera_mount", "fixed", "head", "head_camera", (CAMERA_FORWARD, 0, HEAD_R + CAMERA_UP),
                    rpy=(0, CAMERA_PITCH, 0)))


def _arm(robot: Robot, side: str, sign: float) -> None:
    s = f"{side}_"
    robot.add(Link(s + "shoulder_pitch_link", MASS["shoulder_pitch"],
                   Shape("cylinder", (0.045, SHOULDER_HOUSING_L), (0, sign * SHOULDER_HOUSING_L / 2, 0),
                         _along_y(1)), "joint"),
              Joint(s + "shoulder_pitch", "revolute", "torso", s + "shoulder_pitch_link",
                    (0, sign * SHOULDER_Y, SHOULDER_Z), (0, -1, 0), "shoulder_pitch"))
    robot.add(Link(s + "shoulder_roll_link", MASS["shoulder_roll"], Shape("sphere", (0.05,)), "joint"),
              Joint(s + "shoulder_roll", "revolute", s + "shoulder_pitch_link", s + "shoulder_roll_link",
                    (0, sign * SHOULDER_HOUSING_L, 0), (sign, 0, 0), "shoulder_roll"))
    upper = Shape("cylinder", (UPPER_ARM_R, UPPER_ARM_L), (0, 0, -UPPER_ARM_L / 2))
    robot.add(Link(s + "upper_arm", MASS["upper_arm"], upper),
              Joint(s + "shoulder_yaw", "revolute", s + "shoulder_roll_link", s + "upper_arm", (0, 0, -0.05),
                    (0, 0, sign), "shoulder_yaw"))
    robot.add(Link(s + "forearm", MASS["forearm"], Shape("cylinder", (FOREARM_R, FOREARM_L), (0, 0, -FOREARM_L / 2))),
              Joint(s + "elbow", "revolute", s + "upper_arm", s + "forearm", (0, 0, -UPPER_ARM_L), (0, -1, 0), "elbow"))
    robot.add(Link(s + "wrist_pitch_link", MASS["wrist_pitch"], Shape("sphere", (0.03,)), "joint"),
              Joint(s + "wrist_pitch", "revolute", s + "forearm", s + "wrist_pitch_link", (0, 0, -FOREARM_L),
                    (0, -1, 0), "wrist_pitch"))
    robot.add(Link(s + "wrist_roll_link", MASS["wrist_roll"],
                   Shape("cylinder", (0.03, WRIST_HOUSING_L), (0, 0, -WRIST_HOUSING_L / 2)), "joint"),
              Joint(s + "wrist_roll", "revolute", s + "wrist_pitch_link", s + "wrist_roll_link", (0, 0, 0),
                    (sign, 0, 0), "wrist_roll"))
    robot.add(Link(s + "hand", MASS["hand"], Shape("box", HAND, (0, 0, -HAND[2] / 2)), "accent"),
              Joint(s + "wrist_yaw", "revolute", s + "wrist_roll_link", s + "hand", (0, 0, -WRIST_HOUSING_L),
                    (0, 0, sign), "wrist_yaw", rpy=(0, GRIPPER_MOUNT_FLEXION, 0)))
    for finger, fsign in (("finger_a", 1.0), ("finger_b", -1.0)):
        shape = Shape("box", FINGER, (0, fsign * FINGER[1] / 2, -FINGER[2] / 2))
        robot.add(Link(s + finger, MASS["finger"], shape, "joint", friction=FINGER_FRICTION),
                  Joint(s + finger + "_joint", "prismatic", s + "hand", s + finger, (0, 0, -HAND[2]),
                        (0, fsign, 0), "finger"))
    # Grasp point between the fingertips; z along the fingers, y the closing axis (like the Panda's).
    robot.add(Link(s + "grasp_target", 0.0, None),
              Joint(s + "grasp_target_mount", "fixed", s + "hand", s + "grasp_target",
                    (0, 0, -HAND[2] - FINGER[2] + GRASP_ABOVE_TIP), rpy=(math.pi, 0, 0)))


def to_xml(robot: Robot) -> ET.Element:
    root = ET.Element("robot", name="robocell_humanoid")
    for name, rgba in COLOURS.items():
        ET.SubElement(ET.SubElement(root, "material", name=name), "color", rgba=rgba)
    for link in robot.links:
        el = ET.SubElement(root, "link", name=link.name)
        shape = link.shape or Shape("sphere", (FRAME_RADIUS,))
        mass = link.mass if link.shape is not None else FRAME_MASS
        inertial = ET.SubElement(el, "inertial")
        ET.SubElement(inertial, "origin", xyz=_fmt(shape.xyz), rpy=_fmt(shape.rpy))
        ET.SubElement(inertial, "mass", value=f"{mass:.6g}")
        ixx, iyy, izz = shape.inertia(mass)
        ET.SubElement(inertial, "inertia", ixx=f"{ixx:.6g}", iyy=f"{iyy:.6g}", izz=f"{izz:.6g}",
                      ixy="0", ixz="0", iyz="0")
        if link.shape is None:
            continue
        for tag in ("visual", "collision"):
            part = ET.SubElement(el, tag)
            ET.SubElement(part, "origin", xyz=_fmt(shape.xyz), rpy=_fmt(shape.rpy))
            shape.geometry(part)
            if tag == "visual":
                ET.SubElement(part, "material", name=link.colour)
        if link.friction is not None:
            contact = ET.SubElement(el, "contact")
            ET.SubElement(contact, "lateral_friction", value=f"{link.friction:.6g}")
            ET.SubElement(contact, "spinning_friction", value="0.01")
    for joint in robot.joints:
        el = ET.SubElement(root, "joint", name=joint.name, type=joint.kind)
        ET.SubElement(el, "parent", link=joint.parent)
        ET.SubElement(el, "child", link=joint.child)
        ET.SubElement(el, "origin", xyz=_fmt(joint.xyz), rpy=_fmt(joint.rpy))
        if joint.kind == "fixed":
            continue
        ET.SubElement(el, "axis", xyz=_fmt(joint.axis))
        lower, upper, velocity, effort = LIMITS[joint.limit]
        ET.SubElement(el, "limit", lower=f"{lower:.6g}", upper=f"{upper:.6g}", velocity=f"{velocity:.6g}",
                      effort=f"{effort:.6g}")
        ET.SubElement(el, "dynamics", damping=f"{JOINT_DAMPING:.6g}", friction="0")
    return root


def main() -> None:
    robot = build()
    root = to_xml(robot)
    ET.indent(root)
    header = "<!-- Generated by make_humanoid.py: edit the script, not this file. -->\n"
    OUT.write_text('<?xml version="1.0" ?>\n' + header + ET.tostring(root, encoding="unicode") + "\n")
    movable = sum(j.kind != "fixed" for j in robot.joints)
    mass = sum(link.mass for link in robot.links) + FRAME_MASS * sum(link.shape is None for link in robot.links)
    print(f"wrote {OUT}: {len(robot.links)} links, {movable} movable joints, {mass:.2f} kg")


if __name__ == "__main__":
    main()
