"""Stand-in backends (mock and replay), the driver registry, and DH kinematics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot.backends import BACKENDS, make_robot
from robot.controller import ActionController
from robot.drivers import DRIVER_BACKENDS, load_backend
from robot.drivers.replay import MockRobot, ReplayRobot, save_recording
from robot.interface import Robot, RobotState
from robot.lifecycle import LifecycleError
from robot.safety import SafetyFilter

ROOT = Path(__file__).resolve().parents[1]


def test_registry_names_import_to_robot_classes() -> None:
    for name, target in DRIVER_BACKENDS.items():
        assert BACKENDS[name] == target  # the lead's registry points at the same classes
        assert issubclass(load_backend(name), Robot)
    with pytest.raises(KeyError, match="unknown driver backend 'ethercat'"):
        load_backend("ethercat")


def test_mock_follows_targets_with_first_order_dynamics() -> None:
    mock = make_robot("mock", time_constant_s=0.1)
    mock.connect()
    start = mock.read().joint_positions
    target = start + 0.2
    mock.write_joint_targets(target, 0.0)
    mock.advance(0.1)  # one time constant: 63 % of the way
    assert np.allclose(mock.read().joint_positions - start, 0.2 * (1 - np.exp(-1)))
    for _ in range(100):
        mock.advance(0.01)
    state = mock.read()
    assert np.allclose(state.joint_positions, target, atol=1e-4) and state.gripper < 0.01
    assert state.time_s == pytest.approx(1.1)


def test_mock_through_controller_and_safety_reaches_an_ee_target() -> None:
    mock = MockRobot()
    mock.connect()
    safety = SafetyFilter(mock.limits, mock.description.safety_config())
    controller = ActionController(mock, safety, control_period_s=0.05)
    start = mock.read().ee_pose
    action = np.array([1.0, 0, 0, 0, 0, 0, -1.0])  # +x at full scale, gripper open
    for k in range(20):
        controller.apply(action, "ee_delta", mock.read(), now_s=k * 0.05)
        mock.advance(0.05)
    moved = mock.read().ee_pose[:3] - start[:3]
    assert moved[0] > 0.1 and abs(moved[1]) < 0.02 and abs(moved[2]) < 0.02
    assert safety.counters["non_finite"] == 0


def test_mock_effort_fault_and_lifecycle() -> None:
    mock = MockRobot(stiffness=10.0)
    with pytest.raises(LifecycleError, match="only active may move"):
        mock.write_joint_targets(np.zeros(6), 1.0)
    mock.connect()
    q = mock.read().joint_positions
    mock.write_joint_targets(q + 0.1, 1.0)
    assert np.allclose(mock.read().joint_efforts, 1.0)
    mock.inject_fault("test overload")
    with pytest.raises(LifecycleError, match="test overload"):
        mock.write_joint_targets(q, 1.0)
    mock.reset_fault()
    mock.connect()
    mock.write_joint_targets(q, 1.0)


def test_mock_accepts_a_hardware_description() -> None:
    mock = make_robot("mock", description=str(ROOT / "assets/robots/dxl_arm_4dof.yaml"))
    assert mock.joint_names == ("base_yaw", "shoulder", "elbow", "wrist")
    assert np.all(np.isfinite(mock.read().ee_pose))


def test_replay_plays_back_a_recording_and_keeps_commands(tmp_path: Path) -> None:
    states = [RobotState(np.array([0.1 * k, -0.1 * k]), np.array([1.0, -1.0]), np.zeros(2),
                         np.array([k, 0, 0, 0, 0, 0, 1.0]), 1.0 - 0.1 * k, time_s=0.1 * k) for k in range(5)]
    path = tmp_path / "run.npz"
    save_recording(path, states, joint_names=("a", "b"))
    replay = make_robot("replay", path=str(path))
    replay.connect()
    assert replay.joint_names == ("a", "b") and replay.duration_s == pytest.approx(0.4)
    assert replay.read().joint_positions.tolist() == [0.0, 0.0]
    replay.advance(0.25)
    state = replay.read()
    assert np.allclose(state.joint_positions, [0.2, -0.2]) and state.gripper == pytest.approx(0.8)
    replay.write_joint_targets(np.array([0.3, -0.3]), 0.5)
    assert replay.commands[0][0] == pytest.approx(0.25) and replay.commands[0][2] == 0.5
    replay.advance(1.0)
    assert replay.finished and replay.read().joint_positions.tolist() == pytest.approx([0.4, -0.4])
    looped = ReplayRobot(path, loop=True)
    looped.advance(0.55)
    assert not looped.finished and np.allclose(looped.read().joint_positions, [0.1, -0.1])
    assert np.allclose(looped.limits.lower, [-0.1, -0.5]) and np.allclose(looped.limits.upper, [0.5, 0.1])


def test_replay_rejects_a_malformed_recording(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", time_s=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="no 'joint_positions' array"):
        ReplayRobot(tmp_path / "bad.npz")
    np.savez(tmp_path / "backwards.npz", time_s=np.array([1.0, 0.0]), joint_positions=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be increasing"):
        ReplayRobot(tmp_path / "backwards.npz")


def test_dh_ik_inverts_fk_within_limits() -> None:
    mock = MockRobot()
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = rng.uniform(-1.5, 1.5, 6)
        pose = mock._chain.forward(q)
        seed = q + rng.normal(0, 0.1, 6)
        solved = mock.solve_ik(pose, seed)
        assert np.allclose(mock._chain.forward(solved)[:3], pose[:3], atol=1e-4)
        assert np.all(solved >= mock.limits.lower) and np.all(solved <= mock.limits.upper)
