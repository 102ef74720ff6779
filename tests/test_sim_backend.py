"""SimRobot: the Robot interface over PyBullet, episodes, IK, worlds side by side."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from robot.backends import make_robot
from robot.interface import RobotState
from sim.backend import SimRobot
from sim.robots.panda import ASSET_URDF, DOWN_QUAT, HOME_Q, MESH_URDF
from sim.tasks.pick_place import PickPlace


@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(image_size=32, seed=5)
    r.connect()
    yield r
    r.disconnect()


def test_read_reports_arm_state_cameras_and_privileged_state(robot: SimRobot) -> None:
    state = robot.read(with_cameras=True)
    assert isinstance(state, RobotState)
    for name in ("joint_positions", "joint_velocities", "joint_efforts"):
        assert getattr(state, name).shape == (7,)
    assert state.ee_pose.shape == (7,) and np.isclose(np.linalg.norm(state.ee_pose[3:]), 1.0)
    assert 0.95 <= state.gripper <= 1.0  # starts open
    assert set(state.cameras) == {"scene", "wrist"}
    assert all(img.shape == (32, 32, 3) and img.dtype == np.uint8 for img in state.cameras.values())
    assert state.time_s == 0.0
    privileged = state.extras["privileged"]
    assert privileged.dtype == np.float32 and privileged.shape == (PickPlace.privileged_size(),)
    assert robot.read(with_cameras=False).cameras == {}


def test_limits_come_from_the_urdf_and_match_pybullet_data() -> None:
    limits = SimRobot().limits  # known before connecting
    for urdf in (ASSET_URDF, MESH_URDF):
        joints = {j.get("name"): j.find("limit") for j in ET.parse(urdf).getroot().iter("joint")}
        lower = [float(joints[f"panda_joint{i}"].get("lower")) for i in range(1, 8)]
        assert np.allclose(limits.lower, lower)
    assert limits.effort[0] == 87.0 and limits.velocity[-1] == pytest.approx(2.61)


def test_advance_steps_physics_and_counts_steps(robot: SimRobot) -> None:
    robot.advance(0.05)
    robot.advance(0.05)
    assert robot.read(with_cameras=False).time_s == pytest.approx(24 / 240)
    assert robot.episode_info().steps == 2


def test_solve_ik_reaches_the_pose_without_touching_the_physics(robot: SimRobot) -> None:
    before = robot.read(with_cameras=False)
    target = np.array([0.5, 0.1, 0.1, *DOWN_QUAT])
    q = robot.solve_ik(target, HOME_Q)
    after = robot.read(with_cameras=False)
    assert np.array_equal(before.joint_positions, after.joint_positions)  # IK runs on a separate copy
    robot.write_joint_targets(q, 1.0)
    for _ in range(20):
        robot.advance(0.05)
    reached = robot.read(with_cameras=False).ee_pose
    assert np.linalg.norm(reached[:3] - target[:3]) < 0.005
    assert abs(abs(np.dot(reached[3:], target[3:])) - 1.0) < 1e-3


def test_gripper_opens_and_closes(robot: SimRobot) -> None:
    q = robot.read(with_cameras=False).joint_positions
    robot.write_joint_targets(q, 0.0)
    for _ in range(10):
        robot.advance(0.05)
    assert robot.read(with_cameras=False).gripper < 0.05


def test_write_rejects_bad_targets(robot: SimRobot) -> None:
    with pytest.raises(ValueError, match="finite"):
        robot.write_joint_targets(np.full(7, np.nan), 1.0)
    with pytest.raises(ValueError, match="7"):
        robot.write_joint_targets(np.zeros(6), 1.0)


def test_reset_episode_is_deterministic_whatever_ran_before() -> None:
    a, b = SimRobot(cameras=("scene",), image_size=32), SimRobot(cameras=("scene",), image_size=32)
    a.connect()
    b.connect()
    try:
        b.reset_episode(99)
        b.write_joint_targets(HOME_Q + 0.2, 0.0)
        for _ in range(5):
            b.advance(0.05)
        info_a, info_b = a.reset_episode(11), b.reset_episode(11)
        assert info_a == info_b and info_a.seed == 11 and info_a.steps == 0
        sa, sb = a.read(), b.read()
        for name in ("joint_positions", "joint_velocities", "ee_pose"):
            assert np.array_equal(getattr(sa, name), getattr(sb, name))
        assert np.array_equal(sa.extras["privileged"], sb.extras["privileged"])
        assert np.array_equal(sa.cameras["scene"], sb.cameras["scene"])
        assert a.reset_episode(12).instruction != "" and a.episode_info().seed == 12
    finally:
        a.disconnect()
        b.disconnect()


def test_unseeded_resets_follow_the_constructor_seed() -> None:
    def seeds(seed: int) -> list[int]:
        r = SimRobot(cameras=(), seed=seed)
        r.connect()
        try:
            return [r.episode_info().seed] + [r.reset_episode().seed for _ in range(2)]
        finally:
            r.disconnect()

    assert seeds(3) == seeds(3)
    assert seeds(3)[0] == 3


def test_worlds_in_one_process_are_independent() -> None:
    alone = SimRobot(cameras=(), seed=4)
    alone.connect()
    q = HOME_Q + np.array([0.3, 0.2, 0, -0.2, 0, 0.1, 0])
    alone.write_joint_targets(q, 0.0)
    for _ in range(6):
        alone.advance(0.05)
    expected = alone.read(with_cameras=False)
    alone.disconnect()

    one, other = SimRobot(cameras=(), seed=4), SimRobot(cameras=(), seed=8)
    one.connect()
    other.connect()
    one.write_joint_targets(q, 0.0)
    other.write_joint_targets(HOME_Q - 0.3, 1.0)
    for _ in range(6):
        one.advance(0.05)
        other.advance(0.05)
    got = one.read(with_cameras=False)
    assert np.array_equal(expected.joint_positions, got.joint_positions)
    assert np.array_equal(expected.extras["privileged"], got.extras["privileged"])
    one.disconnect()
    other.disconnect()


def test_lifecycle_and_argument_errors() -> None:
    r = SimRobot(cameras=())
    with pytest.raises(RuntimeError, match="connect"):
        r.read()
    r.connect()
    r.connect()  # idempotent
    r.disconnect()
    r.disconnect()
    with pytest.raises(ValueError, match="task"):
        SimRobot(task="Juggle")
    with pytest.raises(ValueError, match="robot model"):
        SimRobot(robot="r2d2")
    with pytest.raises(ValueError, match="cameras"):
        SimRobot(cameras=("ceiling",))
    with pytest.raises(ValueError, match="instruction_split"):
        SimRobot(instruction_split="test")


def test_backend_registry_builds_the_sim_by_name() -> None:
    r = make_robot("sim", task="PickPlace", robot="panda", image_size=16, cameras=["scene"], physics_hz=240, seed=0)
    r.connect()
    try:
        assert r.supports_episodes and r.camera_names == ("scene",)
        assert r.read().cameras["scene"].shape == (16, 16, 3)
    finally:
        r.disconnect()


def test_single_arm_robot_only_has_arm_zero(robot: SimRobot) -> None:
    assert robot.arms == ("arm",) and robot.active_arm == 0
    robot.select_arm(0)
    with pytest.raises(ValueError, match="arm"):
        robot.select_arm(1)
