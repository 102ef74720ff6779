"""The humanoid: its URDF (structure, limits, masses, inertias), model, IK, holding still, head camera.

Fast (a few seconds): one World and one kinematics copy per module.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pybullet as p
import pytest
from pybullet_utils.bullet_client import BulletClient

from sim import cameras as cams
from sim.geometry import quat_to_matrix
from sim.robots import humanoid as H
from sim.world import BINS, TABLE_CENTER_XY, TABLE_HALF_XY, TABLE_HEIGHT_M, TABLE_TOP_Z, World

URDF = H.ASSET_URDF
ROOT = ET.parse(URDF).getroot()
MOVABLE = [j for j in ROOT.iter("joint") if j.get("type") != "fixed"]
PARTS_REGION = ((0.36, 0.58), (-0.11, 0.11))  # sim/tasks/pick_place.py


@pytest.fixture(scope="module")
def world_and_model():
    world = World()
    world.rebuild()
    model = H.HumanoidModel(world.client)
    model.reset()
    world.finish_loading()
    yield world, model
    world.close()


@pytest.fixture(scope="module")
def kinematics():
    kin = H.HumanoidKinematics()
    yield kin
    kin.close()


# -- the URDF ---------------------------------------------------------------------------------
def test_urdf_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("make_humanoid", URDF.with_name("make_humanoid.py"))
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(gen)
    finally:
        del sys.modules[spec.name]
    root = gen.to_xml(gen.build())
    ET.indent(root)
    assert ET.tostring(root, encoding="unicode") in URDF.read_text(), "rerun assets/humanoid/make_humanoid.py"


def test_urdf_loads_with_35_movable_joints():
    client = BulletClient(connection_mode=p.DIRECT)
    try:
        body = client.loadURDF(str(URDF), useFixedBase=True, flags=p.URDF_USE_INERTIA_FROM_FILE)
        infos = [client.getJointInfo(body, j) for j in range(client.getNumJoints(body))]
    finally:
        client.disconnect()
    movable = [i for i in infos if i[2] != p.JOINT_FIXED]
    assert len(movable) == len(MOVABLE) == 35 >= 30
    kinds = [i[2] for i in movable]
    assert kinds.count(p.JOINT_PRISMATIC) == 4 and kinds.count(p.JOINT_REVOLUTE) == 31
    links = {i[12].decode() for i in infos}
    assert {"head_camera", "left_grasp_target", "right_grasp_target"} <= links
    assert len(H.BODY_JOINTS) == 31 and len(set(H.BODY_JOINTS)) == 31


def test_every_actuated_joint_has_sane_limits():
    for joint in MOVABLE:
        limit = joint.find("limit")
        lower, upper, velocity, effort = (float(limit.get(k)) for k in ("lower", "upper", "velocity", "effort"))
        assert lower < upper and velocity > 0 and effort > 0, joint.get("name")
        assert upper - lower <= 2 * np.pi, joint.get("name")
    assert np.all(H.BODY_LIMITS.lower < H.BODY_LIMITS.upper)


def _formula_inertia(geometry: ET.Element, mass: float) -> np.ndarray:
    """Principal moments of a solid box, cylinder (about its axis z) or sphere."""
    shape = geometry[0]
    if shape.tag == "box":
        x, y, z = (float(v) for v in shape.get("size").split())
        return mass / 12 * np.array([y * y + z * z, x * x + z * z, x * x + y * y])
    if shape.tag == "cylinder":
        r, h = float(shape.get("radius")), float(shape.get("length"))
        side = mass * (3 * r * r + h * h) / 12
        return np.array([side, side, mass * r * r / 2])
    assert shape.tag == "sphere", f"non-primitive geometry {shape.tag}"
    return np.full(3, 0.4 * mass * float(shape.get("radius")) ** 2)


def test_masses_and_inertias_match_the_primitives():
    total = 0.0
    for link in ROOT.iter("link"):
        inertial = link.find("inertial")
        mass = float(inertial.find("mass").get("value"))
        tensor = inertial.find("inertia")
        moments = np.array([float(tensor.get(k)) for k in ("ixx", "iyy", "izz")])
        assert all(float(tensor.get(k)) == 0 for k in ("ixy", "ixz", "iyz")), link.get("name")
        assert mass > 0 and np.all(moments > 0), link.get("name")
        a, b, c = moments  # a physical tensor satisfies the triangle inequality
        assert a + b >= c and a + c >= b and b + c >= a, link.get("name")
        collision = link.find("collision")
        if collision is not None:  # frames without geometry carry a 1 g point mass
            np.testing.assert_allclose(moments, _formula_inertia(collision.find("geometry"), mass), rtol=1e-4)
            assert collision.find("origin").attrib == inertial.find("origin").attrib, link.get("name")
            visual = link.find("visual").find("geometry")[0]
            assert visual.tag in ("box", "cylinder", "sphere")
        else:
            assert mass <= 1e-3
        total += mass
    assert 60.0 <= total <= 75.0
    masses = {link.get("name"): float(link.find("inertial/mass").get("value")) for link in ROOT.iter("link")}
    legs = sum(m for n, m in masses.items() if any(k in n for k in ("hip", "thigh", "shank", "ankle", "foot")))
    assert 0.3 <= legs / total <= 0.4  # human-like: legs about a third of the body


def test_loaded_dynamics_use_the_urdf_inertia(world_and_model):
    world, model = world_and_model
    c = world.client
    thigh = next(j for j in range(c.getNumJoints(model.body)) if c.getJointInfo(model.body, j)[12] == b"left_thigh")
    mass, _, inertia = c.getDynamicsInfo(model.body, thigh)[:3]
    np.testing.assert_allclose(inertia, _formula_inertia(ET.fromstring(
        '<geometry><cylinder radius="0.065" length="0.43"/></geometry>'), mass), rtol=1e-4)
    assert mass == pytest.approx(7.5)


def test_fingertips_have_friction(world_and_model):
    world, model = world_and_model
    for arm in H.ARMS:
        for link in model.finger_links[arm]:
            assert world.client.getDynamicsInfo(model.body, link)[1] == pytest.approx(H.FINGER_FRICTION)


# -- standing at the table ------------------------------------------------------------------------
def test_stands_on_the_floor_behind_the_table_edge(world_and_model):
    world, model = world_and_model
    c = world.client
    links = {c.getJointInfo(model.body, j)[12].decode(): j for j in range(c.getNumJoints(model.body))}
    floor_z = TABLE_TOP_Z - TABLE_HEIGHT_M
    table_edge_x = TABLE_CENTER_XY[0] - TABLE_HALF_XY[0]
    for side in H.ARMS:
        (_, _, sole), _ = c.getAABB(model.body, links[f"{side}_foot"])
        assert floor_z - 0.005 < sole < floor_z + 0.01
        for leg_link in ("thigh", "shank"):
            (_, _, _), (front, _, _) = c.getAABB(model.body, links[f"{side}_{leg_link}"])
            assert front < table_edge_x


def test_home_posture_puts_each_hand_above_the_table_pointing_down(kinematics):
    for arm in H.ARMS:
        pose = kinematics.forward(H.HOME_Q, arm)
        np.testing.assert_allclose(pose[:3], H.HOME_EE_XYZ[arm], atol=2e-3)
        assert quat_to_matrix(pose[3:])[2, 2] < -0.999  # z axis down


def test_arm_selection_switches_hand_and_gripper(world_and_model):
    world, model = world_and_model
    model.reset()
    assert model.active_arm == 0 and model.ee_pose()[1] > 0.1
    model.select_arm(1)
    assert model.ee_pose()[1] < -0.1 and model.wrist_mount_pose()[1] < -0.1
    model.set_targets(H.HOME_Q, 0.0)  # close the right hand only
    world.step(120)
    assert model.gripper_opening() < 0.05
    model.select_arm("left")
    assert model.gripper_opening() > 0.95
    with pytest.raises(ValueError):
        model.select_arm(2)
    model.reset()
    world.step(120)


# -- inverse kinematics -----------------------------------------------------------------------------
@pytest.mark.parametrize("arm", H.ARMS)
def test_ik_reaches_the_table_top_and_own_bin(kinematics, arm):
    (x0, x1), (y0, y1) = PARTS_REGION
    bin_xy = BINS[arm].center_xy
    points = [(x, y, 0.02) for x in np.linspace(x0, x1, 4) for y in np.linspace(y0, y1, 4)]
    points += [(*bin_xy, 0.06), (*bin_xy, 0.10)]
    for point in points:
        q = H.HOME_Q.copy()
        for _ in range(3):  # each solve starts from the last, as a controller's steps do
            q = kinematics.solve(np.array(point), q, arm)
        pose = kinematics.forward(q, arm)
        assert np.linalg.norm(pose[:3] - point) < 0.01, (arm, point)
        assert quat_to_matrix(pose[3:])[2, 2] < -0.95  # pointing down
        assert np.all(q >= H.BODY_LIMITS.lower) and np.all(q <= H.BODY_LIMITS.upper)


def test_ik_moves_only_the_active_arm(kinematics):
    kinematics.select_arm(1)
    seed = H.HOME_Q + 0.01
    q = kinematics.solve(np.array([0.45, -0.05, 0.05]), seed)
    arm = H.ARM_SLICES["right"]
    others = np.ones(len(q), dtype=bool)
    others[arm] = False
    np.testing.assert_array_equal(q[others], np.clip(seed, H.BODY_LIMITS.lower, H.BODY_LIMITS.upper)[others])
    assert np.linalg.norm(kinematics.forward(q)[:3] - [0.45, -0.05, 0.05]) < 1e-3
    kinematics.select_arm(0)
    with pytest.raises(ValueError):
        kinematics.solve(np.zeros(3), np.zeros(7))


def test_ik_is_deterministic_and_leaves_no_state(kinematics):
    target = np.array([0.5, 0.05, 0.03])
    first = kinematics.solve(target, H.HOME_Q, "left")
    kinematics.solve(np.array([0.4, -0.1, 0.1]), H.HOME_Q + 0.05, "right")
    np.testing.assert_array_equal(kinematics.solve(target, H.HOME_Q, "left"), first)


# -- physics and camera ----------------------------------------------------------------------------
def test_holds_still_under_position_control(world_and_model):
    world, model = world_and_model
    model.reset()
    world.step(24)
    before = model.joint_states()[0]
    world.step(2 * world.physics_hz)  # 2 s
    drift = np.abs(model.joint_states()[0] - before)
    assert drift.max() < 2e-3, H.BODY_JOINTS[int(np.argmax(drift))]


def test_head_camera_renders_the_work_area_fast(world_and_model):
    world, model = world_and_model
    model.reset()
    camera = model.scene_camera()
    eye, target = np.array(camera.eye), np.array(camera.target)
    view = target - eye
    assert view[2] < -0.9  # looking down at the table from above it
    # The parts region's centre is in the middle third of the view cone.
    centre = np.array([np.mean(PARTS_REGION[0]), 0.0, TABLE_TOP_Z]) - eye
    assert np.degrees(np.arccos(centre @ view / np.linalg.norm(centre))) < camera.fov_deg / 3
    image = cams.render_scene(world.client, 96, camera)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8 and image.std() > 10
    n = 20
    start = time.perf_counter()
    for _ in range(n):
        cams.render_scene(world.client, 96, model.scene_camera())
    fps = n / (time.perf_counter() - start)
    print(f"head camera 96x96: {fps:.0f} frames/s")
    assert fps > 30
