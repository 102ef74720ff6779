"""The CANopen CiA 402 backend against emulated drives on python-can's virtual bus."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from robot.calibration import CalibrationError, calibrate_from_counts
from robot.description import RobotDescription, load_description
from robot.drivers import cia402 as c
from robot.drivers.base import HardwareFault
from robot.drivers.canopen_drive import CanopenRobot
from robot.drivers.cia402_emulator import EmulatedCia402Drive
from robot.lifecycle import LifecycleError, LifecycleState

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTION = ROOT / "assets" / "robots" / "canopen_arm_3dof.yaml"
HOME = {1: 1_000_000, 2: -250_000, 3: 42}
_channels = itertools.count()


@pytest.fixture
def channel() -> str:
    return f"robocell-test-{next(_channels)}"  # virtual buses with one name hear each other


@pytest.fixture
def drives(channel: str) -> Iterator[dict[int, EmulatedCia402Drive]]:
    started = {i: EmulatedCia402Drive(i, channel=channel, position_counts=p).start() for i, p in HOME.items()}
    yield started
    for drive in started.values():
        drive.stop()


@pytest.fixture
def calibrated() -> RobotDescription:
    desc = load_description(DESCRIPTION)
    return calibrate_from_counts(desc, np.array([HOME[i] for i in desc.bus_ids], float), np.zeros(3), "test")


@pytest.fixture
def robot(drives, channel: str, calibrated: RobotDescription) -> Iterator[CanopenRobot]:
    # 1 s timeouts: under a loaded `make test` the emulated drives' threads once went 0.41 s without a TPDO
    arm = CanopenRobot(calibrated, channel=channel, interface="virtual", sync_period_s=0.005,
                       heartbeat_period_s=0.02, heartbeat_timeout_s=1.0, pdo_timeout_s=1.0, sdo_timeout_s=0.3)
    yield arm
    arm.disconnect()


def wait_until(condition, timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_connect_maps_pdos_and_enables_every_drive(robot: CanopenRobot, drives) -> None:
    robot.connect()
    assert robot.lifecycle.state is LifecycleState.ACTIVE
    for drive in drives.values():
        assert drive.state == "OPERATION ENABLED" and drive.mode == c.MODE_CSP
        assert drive.node.nmt.state == "OPERATIONAL"
        assert [v.index for v in drive.node.rpdo[1]] == [c.CONTROLWORD, c.TARGET_POSITION]
        assert [v.index for v in drive.node.tpdo[1]] == [c.STATUSWORD, c.POSITION_ACTUAL]
        assert [v.index for v in drive.node.tpdo[2]] == [c.VELOCITY_ACTUAL, c.TORQUE_ACTUAL]
        assert drive.node.tpdo[1].trans_type == 1  # sent on SYNC
        assert drive.target == drive.position  # enabled at the actual position: no jump
    state = robot.read()
    assert np.allclose(state.joint_positions, 0.0) and np.all(np.isfinite(state.ee_pose))


def test_targets_are_followed_through_pdos(robot: CanopenRobot, drives) -> None:
    robot.connect()
    target = np.array([0.01, -0.02, 0.015])
    for k in range(1, 21):
        robot.write_joint_targets(target * k / 20, 1.0)
        time.sleep(0.005)
    assert wait_until(lambda: np.allclose(robot.read().joint_positions, target, atol=1e-5))
    counts_per_rad = 131072 * 50 / (2 * np.pi)
    assert drives[2].target == pytest.approx(HOME[2] - 0.02 * counts_per_rad * -1, abs=1)  # direction -1
    assert drives[1].target_velocity != 0 or drives[3].target_velocity != 0  # velocity feed-forward mapped


def test_a_drive_fault_is_reported_with_its_error_code_and_needs_a_reset(robot: CanopenRobot, drives) -> None:
    robot.connect()
    drives[2].inject_fault(0x2310)
    with pytest.raises(HardwareFault, match=r"drive node 2 \(joint 'shoulder'\) is in FAULT, error code 0x2310"):
        assert wait_until(lambda: robot.read() is None, timeout_s=1.0)
    assert robot.lifecycle.state is LifecycleState.FAULT
    robot.read()  # still observable while in fault
    with pytest.raises(LifecycleError, match="only active may move"):
        robot.write_joint_targets(np.zeros(3), 1.0)
    with pytest.raises(LifecycleError):
        robot.activate()
    robot.reset_fault()
    assert drives[2].state == "SWITCH ON DISABLED" and drives[2].error_code == 0
    robot.activate()
    assert wait_until(lambda: drives[2].state == "OPERATION ENABLED")
    robot.write_joint_targets(np.zeros(3), 1.0)


def test_a_drive_that_stops_answering_faults_on_heartbeat(robot: CanopenRobot, drives) -> None:
    robot.connect()
    drives[3].stop()
    with pytest.raises(HardwareFault, match=r"drive node 3 \(joint 'elbow'\): no (heartbeat|TPDO) for"):
        assert wait_until(lambda: robot.read() is None, timeout_s=2.0)
    assert "drive node 3" in robot.fault
    with pytest.raises(HardwareFault, match="drive node 3 .* still silent"):
        robot.reset_fault()
    assert drives[1].state == "OPERATION ENABLED"  # the healthy drives hold position while in fault...
    robot.disconnect()
    assert wait_until(lambda: drives[1].state == drives[2].state == "SWITCH ON DISABLED")  # ...until released


def test_a_missing_drive_fails_configure_on_sdo_timeout(drives, channel: str, calibrated: RobotDescription) -> None:
    joints = (*calibrated.joints[:2], replace(calibrated.joints[2], bus_id=9))
    arm = CanopenRobot(replace(calibrated, joints=joints, calibration=None), channel=channel,
                       interface="virtual", sdo_timeout_s=0.05)
    with pytest.raises(HardwareFault, match=r"drive node 9 \(joint 'elbow'\) reading device type \(0x1000\)"):
        arm.connect()
    assert arm.lifecycle.state is LifecycleState.UNCONFIGURED


def test_drives_stay_disabled_without_calibration(drives, channel: str) -> None:
    arm = CanopenRobot(DESCRIPTION, channel=channel, interface="virtual", sync_period_s=0.005)
    try:
        with pytest.raises(CalibrationError, match="no calibration"):
            arm.connect()
        assert arm.lifecycle.state is LifecycleState.INACTIVE
        assert all(d.state == "SWITCH ON DISABLED" for d in drives.values())
        assert arm.read_raw_counts().tolist() == [HOME[1], HOME[2], HOME[3]]
    finally:
        arm.disconnect()
