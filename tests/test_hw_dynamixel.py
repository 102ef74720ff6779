"""The Dynamixel backend against an emulated Protocol 2.0 servo chain on a pseudo-terminal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from dynamixel_sdk import COMM_SUCCESS, PacketHandler

from robot.calibration import CalibrationError, calibrate_from_counts
from robot.cli import main as robocell
from robot.description import RobotDescription, load_description
from robot.drivers.base import HardwareFault
from robot.drivers.dynamixel import DynamixelRobot, LatencyPort
from robot.drivers.dynamixel_emulator import DynamixelEmulator, crc16, make_packet
from robot.lifecycle import LifecycleError, LifecycleState

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTION = ROOT / "assets" / "robots" / "dxl_arm_4dof.yaml"
HOME = {11: 2048, 12: 2100, 13: 1990, 14: 2048, 15: 2600}
# The emulator shares this process's CPU: allow a slow answer on a busy test machine.
BUS = {"retries": 2, "latency_timer_ms": 50.0}


@pytest.fixture
def emulator() -> Iterator[DynamixelEmulator]:
    with DynamixelEmulator(HOME, positions=HOME) as emu:
        yield emu


@pytest.fixture
def calibrated() -> RobotDescription:
    """Calibrated so that the emulator's home pose reads as all zeros."""
    desc = load_description(DESCRIPTION)
    return calibrate_from_counts(desc, np.array([HOME[i] for i in desc.bus_ids], float), np.zeros(4), "test")


@pytest.fixture
def robot(emulator: DynamixelEmulator, calibrated: RobotDescription) -> Iterator[DynamixelRobot]:
    arm = DynamixelRobot(calibrated, port=emulator.port_name, **BUS)
    yield arm
    arm.disconnect()


def wait_until(condition, timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_crc_matches_the_sdk_and_stuffing_round_trips(emulator: DynamixelEmulator) -> None:
    sdk = PacketHandler(2.0)
    for data in (b"\x01", bytes(range(40)), b"\xff\xff\xfd\x00\x01"):
        assert crc16(data) == sdk.updateCRC(0, list(data), len(data))
    port = LatencyPort(emulator.port_name, latency_timer_ms=50.0)  # the SDK's port, busy-machine timeout
    assert port.openPort() and port.setBaudRate(1_000_000)
    try:
        assert sdk.write1ByteTxRx(port, 11, 11, 4) == (COMM_SUCCESS, 0)  # extended position mode
        value = 0x00FDFFFF  # goal bytes FF FF FD 00: stuffed on the way in and out
        assert sdk.write4ByteTxRx(port, 11, 116, value) == (COMM_SUCCESS, 0)
        assert sdk.read4ByteTxRx(port, 11, 116) == (value, COMM_SUCCESS, 0)
        assert sdk.write1ByteTxRx(port, 11, 64, 1) == (COMM_SUCCESS, 0)
        assert sdk.write1ByteTxRx(port, 11, 11, 3)[1] == 7  # EEPROM locked while torque on: access error
        assert sdk.write1ByteTxRx(port, 12, 11, 9)[1] == 4  # no operating mode 9: data range error
        packet = bytearray(make_packet(12, 0x02, bytes([132, 0, 4, 0])))
        packet[-1] ^= 0xFF
        port.writePort(bytes(packet))
        time.sleep(0.05)
        reply = bytes(port.readPort(64))
        assert reply[4] == 12 and reply[8] == 3  # status: CRC error
        assert emulator.stats["crc_errors"] == 1
    finally:
        port.closePort()


def test_connect_sync_write_and_sync_read_round_trip(robot: DynamixelRobot, emulator: DynamixelEmulator) -> None:
    robot.connect()
    assert robot.lifecycle.state is LifecycleState.ACTIVE
    assert all(emulator.register(i, "torque_enable") == 1 for i in HOME)
    assert emulator.register(13, "goal_position") == HOME[13]  # enabled at the present position: no jump
    state = robot.read()
    assert np.allclose(state.joint_positions, 0.0, atol=1e-9) and state.gripper == pytest.approx(1.0)
    target = np.array([0.3, -0.2, 0.1, 0.05])
    robot.write_joint_targets(target, 0.25)
    counts_per_rad = 4096 / (2 * np.pi)
    # a sync write has no status packet: wait for the emulator to have applied it
    assert wait_until(lambda: emulator.register(13, "goal_position") == HOME[13] - round(0.1 * counts_per_rad))
    assert emulator.register(15, "goal_position") == round(1500 + 0.25 * 1100)  # the gripper, same packet
    assert wait_until(lambda: np.allclose(robot.read().joint_positions, target, atol=2e-3)
                      and abs(robot.read().gripper - 0.25) < 1e-3)
    state = robot.read()
    assert np.all(np.isfinite(state.ee_pose)) and state.extras["raw_counts"].shape == (4,)


def test_a_corrupt_status_packet_is_retried_then_faults_naming_the_servo(
        robot: DynamixelRobot, emulator: DynamixelEmulator) -> None:
    robot.connect()
    emulator.corrupt_crc(13, count=1)
    robot.read()  # one bad packet: retried
    assert robot.counters["comm_errors"] == 1 and robot.lifecycle.state is LifecycleState.ACTIVE
    emulator.corrupt_crc(13, count=-1)
    with pytest.raises(HardwareFault, match=r"servo 13 \(joint 'elbow'\) sent a corrupt status packet"):
        robot.read()
    assert robot.lifecycle.state is LifecycleState.FAULT and "servo 13" in robot.fault
    with pytest.raises(LifecycleError, match="state is fault"):
        robot.write_joint_targets(np.zeros(4), 1.0)
    emulator.corrupt_crc(13, count=0)
    robot.reset_fault()
    robot.activate()
    robot.write_joint_targets(np.zeros(4), 1.0)


def test_a_servo_that_stops_answering_faults_with_a_timeout(robot: DynamixelRobot,
                                                             emulator: DynamixelEmulator) -> None:
    robot.connect()
    emulator.silence(14)
    started = time.monotonic()
    with pytest.raises(HardwareFault, match=r"servo 14 \(joint 'wrist'\) did not answer \(timeout\)"):
        robot.read()
    assert time.monotonic() - started < 1.0  # 3 tries of one ~100 ms packet timeout each
    with pytest.raises(HardwareFault, match="servo 14 .* still does not answer"):
        robot.reset_fault()
    assert robot.lifecycle.state is LifecycleState.FAULT
    emulator.silence(14, False)
    robot.reset_fault()
    assert robot.lifecycle.state is LifecycleState.INACTIVE


def test_an_unknown_id_fails_configure_and_leaves_the_port_free(emulator: DynamixelEmulator,
                                                                calibrated: RobotDescription) -> None:
    joints = (*calibrated.joints[:3], replace(calibrated.joints[3], bus_id=7))
    wrong = DynamixelRobot(replace(calibrated, joints=joints, calibration=None), port=emulator.port_name, **BUS)
    with pytest.raises(HardwareFault, match=r"servo 7 \(joint 'wrist'\) did not answer ping on /dev/"):
        wrong.connect()
    assert wrong.lifecycle.state is LifecycleState.UNCONFIGURED
    DynamixelRobot(calibrated, port=emulator.port_name, **BUS).configure()  # the port was released
    with pytest.raises(HardwareFault, match="cannot open serial port /nonexistent"):
        DynamixelRobot(calibrated, port="/nonexistent").connect()


def test_a_hardware_error_is_a_fault_until_the_servo_is_rebooted(robot: DynamixelRobot,
                                                                  emulator: DynamixelEmulator) -> None:
    robot.connect()
    emulator.set_hardware_error(12, 0x20)
    with pytest.raises(HardwareFault, match=r"servo 12 \(joint 'shoulder'\) hardware error 0x20 \(overload\)"):
        robot.read()
    state = robot.read()  # reported once; the arm stays observable
    assert state.extras["hardware_alert"].tolist() == [0.0, 1.0, 0.0, 0.0]
    robot.lifecycle.reset()  # skipping the reboot: activation still sees the servo's alert
    with pytest.raises(HardwareFault, match="servo 12 .* hardware error 0x20"):
        robot.activate()
    assert robot.lifecycle.state is LifecycleState.FAULT
    robot.reset_fault()
    assert emulator.register(12, "hardware_error_status") == 0
    robot.activate()
    assert emulator.register(12, "torque_enable") == 1


def test_torque_is_refused_without_a_consistent_calibration(emulator: DynamixelEmulator,
                                                            calibrated: RobotDescription) -> None:
    uncalibrated = DynamixelRobot(DESCRIPTION, port=emulator.port_name, **BUS)
    with pytest.raises(CalibrationError, match="has no calibration; run `robocell calibrate"):
        uncalibrated.connect()
    uncalibrated.disconnect()
    emulator.set_position(12, HOME[12] + 1400)  # moved by hand to ~2.1 rad, beyond the 1.6 limit
    arm = DynamixelRobot(calibrated, port=emulator.port_name, **BUS)
    with pytest.raises(CalibrationError, match="joint 'shoulder' reads 2.148 rad, outside its limits"):
        arm.connect()
    assert all(emulator.register(i, "torque_enable") == 0 for i in HOME)
    with pytest.raises(LifecycleError, match="only active may move"):
        arm.write_joint_targets(np.zeros(4), 1.0)
    arm.disconnect()


def test_disconnect_turns_torque_off(robot: DynamixelRobot, emulator: DynamixelEmulator) -> None:
    robot.connect()
    robot.disconnect()
    assert robot.lifecycle.state is LifecycleState.UNCONFIGURED
    assert all(emulator.register(i, "torque_enable") == 0 for i in HOME)


def test_calibrate_command_records_offsets_at_a_reference_pose(emulator: DynamixelEmulator, tmp_path: Path) -> None:
    pose = tmp_path / "pose.yaml"
    pose.write_text("reference_pose: {base_yaw: 0.0, shoulder: 0.5, elbow: -0.25, wrist: 0.0}\n")
    out = tmp_path / "arm.yaml"
    assert robocell(["calibrate", "--description", str(DESCRIPTION), "--port", emulator.port_name,
                     "--pose-file", str(pose), "--output", str(out), "--samples", "2",
                     "--backend-arg", "retries=2", "--backend-arg", "latency_timer_ms=50"]) == 0
    arm = DynamixelRobot(out, port=emulator.port_name, **BUS)
    arm.connect()
    try:
        assert np.allclose(arm.read().joint_positions, [0.0, 0.5, -0.25, 0.0], atol=1e-9)
        assert load_description(out).calibration.method == "pose-file"
    finally:
        arm.disconnect()
