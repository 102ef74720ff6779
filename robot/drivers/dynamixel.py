"""Dynamixel X-series servos (Protocol 2.0) as a `Robot` backend, through ``dynamixel-sdk``.

One bus cycle per `read()`: a sync read of present current, velocity and position
(addresses 126..135) from every servo; one per `write_joint_targets()`: a sync
write of goal position (116). The status packet of each servo is checked on its
own, so an error names the servo ID and its joint: a servo that does not answer,
a corrupt status packet, an instruction error, or the alert bit (a hardware
error such as overload, which the servo reports at address 70 and answers by
dropping torque). A failed read is retried ``retries`` times (counted in
``counters["comm_errors"]``); after that the robot enters fault.

Activation sets the operating mode (position, or extended position when a joint
is geared), writes goal = present position so nothing jumps, then enables
torque and checks each servo accepted it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import serial
from dynamixel_sdk import (
    BROADCAST_ID,
    COMM_RX_CORRUPT,
    COMM_RX_TIMEOUT,
    COMM_SUCCESS,
    GroupSyncRead,
    GroupSyncWrite,
    PacketHandler,
    PortHandler,
)

from robot.calibration import CalibrationError, positions_to_counts
from robot.description import RobotDescription
from robot.drivers.base import HardwareFault, HardwareRobot, RawReading
from robot.lifecycle import LifecycleState

log = logging.getLogger(__name__)

ADDR_OPERATING_MODE = 11
ADDR_TORQUE_ENABLE = 64
ADDR_HARDWARE_ERROR = 70
ADDR_GOAL_POSITION = 116
ADDR_PRESENT_BLOCK = 126  # present current (2), velocity (4), position (4)
PRESENT_BLOCK_LEN = 10
VELOCITY_UNIT_RPM = 0.229
OPERATING_MODES = {"current_based_position": 5, "position": 3, "extended_position": 4}
SINGLE_TURN_COUNTS = (0, 4095)
HARDWARE_ERRORS = {0: "input voltage", 2: "overheating", 3: "motor encoder", 4: "electrical shock", 5: "overload"}


class LatencyPort(PortHandler):
    """The SDK's port with a configurable latency allowance in its packet timeout (the SDK fixes 16 ms)."""

    def __init__(self, port_name: str, latency_timer_ms: float) -> None:
        super().__init__(port_name)
        self.latency_timer_ms = latency_timer_ms

    def setPacketTimeout(self, packet_length: int) -> None:  # noqa: N802 - the SDK's name
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = self.tx_time_per_byte * packet_length + 2.0 * self.latency_timer_ms + 2.0


def describe_hardware_error(bits: int) -> str:
    names = [name for bit, name in HARDWARE_ERRORS.items() if bits & (1 << bit)]
    return f"0x{bits:02X} ({', '.join(names) or 'unknown'})"


class DynamixelRobot(HardwareRobot):
    """A chain of Dynamixel servos, one per joint (plus an optional gripper servo)."""

    def __init__(
        self, description: str | Path | RobotDescription, port: str = "/dev/ttyUSB0", baudrate: int = 1_000_000,
        operating_mode: str | None = None, retries: int = 1, latency_timer_ms: float = 16.0,
        current_unit_a: float = 0.00269, torque_off_on_disconnect: bool = True, name: str | None = None,
        calibration_tolerance_rad: float = 0.2,
    ) -> None:
        super().__init__(description, name=name, calibration_tolerance_rad=calibration_tolerance_rad)
        geared = any(j.gear_ratio != 1.0 for j in self.description.joints)
        mode = operating_mode or ("extended_position" if geared else "position")
        if mode not in OPERATING_MODES:
            raise ValueError(f"operating_mode {mode!r}, expected one of {sorted(OPERATING_MODES)}")
        self.operating_mode = mode
        self.port_name, self.baudrate, self.retries = port, int(baudrate), int(retries)
        self.current_unit_a, self.latency_timer_ms = current_unit_a, latency_timer_ms
        self.torque_off_on_disconnect = torque_off_on_disconnect
        gripper = self.description.gripper
        self.ids = self.description.bus_ids + ((gripper.bus_id,) if gripper else ())
        self._port: PortHandler | None = None
        self._packet = PacketHandler(2.0)
        self._sync_read: GroupSyncRead | None = None
        self._sync_write: GroupSyncWrite | None = None
        self._torque_on = False
        self._alerts: list[int] = []

    def role(self, dxl_id: int) -> str:
        """'servo 3 (joint 'elbow')': how errors name a device."""
        for joint in self.description.joints:
            if joint.bus_id == dxl_id:
                return f"servo {dxl_id} (joint {joint.name!r})"
        return f"servo {dxl_id} (gripper)"

    # -- lifecycle hooks -------------------------------------------------------------
    def _open(self) -> None:
        port = LatencyPort(self.port_name, self.latency_timer_ms)
        try:
            opened = port.openPort()
        except serial.SerialException as exc:
            raise HardwareFault(f"{self.name}: cannot open serial port {self.port_name}: {exc}") from exc
        if not opened or not port.setBaudRate(self.baudrate):
            raise HardwareFault(f"{self.name}: cannot open {self.port_name} at {self.baudrate} baud")
        self._port = port
        for dxl_id in self.ids:
            model, result, error = self._retry(lambda i=dxl_id: self._packet.ping(port, i))
            if result != COMM_SUCCESS:
                raise HardwareFault(f"{self.name}: {self.role(dxl_id)} did not answer ping on {self.port_name} "
                                    f"at {self.baudrate} baud: {self._comm_problem(result)}")
            log.info("%s: %s is model %d", self.name, self.role(dxl_id), model)
        self._sync_read = GroupSyncRead(port, self._packet, ADDR_PRESENT_BLOCK, PRESENT_BLOCK_LEN)
        self._sync_write = GroupSyncWrite(port, self._packet, ADDR_GOAL_POSITION, 4)
        for dxl_id in self.ids:
            self._sync_read.addParam(dxl_id)

    def configure(self) -> None:
        super().configure()
        errors = {i: self._read_byte(i, ADDR_HARDWARE_ERROR, "hardware error status") for i in self.ids}
        bad = {i: bits for i, bits in errors.items() if bits}
        if bad:
            detail = "; ".join(f"{self.role(i)}: hardware error {describe_hardware_error(b)}" for i, b in bad.items())
            raise self._fail(f"{detail}; reset_fault() reboots the servos")

    def _close(self) -> None:
        if self._port is None:
            return
        if self._torque_on and self.torque_off_on_disconnect:  # best effort, also for silent servos
            self._packet.write1ByteTxOnly(self._port, BROADCAST_ID, ADDR_TORQUE_ENABLE, 0)
            self._torque_on = False
        self._port.closePort()
        self._port = None

    def _enable(self) -> None:
        self._check_counts_range()
        mode = OPERATING_MODES[self.operating_mode]
        for dxl_id in self.ids:
            if self._read_byte(dxl_id, ADDR_OPERATING_MODE, "operating mode") != mode:
                self._write_byte(dxl_id, ADDR_TORQUE_ENABLE, 0, "torque off")  # the mode is in EEPROM
                self._write_byte(dxl_id, ADDR_OPERATING_MODE, mode, f"operating mode {self.operating_mode}")
        present = self._present()
        self._send_goals({i: int(c) for i, (c, _, _) in present.items()})
        for dxl_id in self.ids:
            self._write_byte(dxl_id, ADDR_TORQUE_ENABLE, 1, "torque enable")
        self._torque_on = True

    def _disable(self) -> None:
        self._set_torque(False)

    def _set_torque(self, enabled: bool) -> None:
        if enabled:
            self._send_goals({i: int(c) for i, (c, _, _) in self._present().items()})
        for dxl_id in self.ids:
            self._write_byte(dxl_id, ADDR_TORQUE_ENABLE, int(enabled), f"torque {'on' if enabled else 'off'}")
        self._torque_on = enabled

    def _clear_fault(self) -> None:
        assert self._port is not None
        for dxl_id in self.ids:
            _, result, _ = self._retry(lambda i=dxl_id: self._packet.ping(self._port, i))
            if result != COMM_SUCCESS:
                raise HardwareFault(f"{self.name}: cannot reset: {self.role(dxl_id)} still does not answer "
                                    f"({self._comm_problem(result)})")
            bits, result, _ = self._packet.read1ByteTxRx(self._port, dxl_id, ADDR_HARDWARE_ERROR)
            if result == COMM_SUCCESS and bits:
                log.warning("%s: rebooting %s (hardware error %s)", self.name, self.role(dxl_id),
                            describe_hardware_error(bits))
                self._packet.reboot(self._port, dxl_id)
        self._torque_on = False

    # -- bus cycle --------------------------------------------------------------------
    def _read_raw(self) -> RawReading:
        present = self._present()
        joints = self.description.joints
        counts = np.array([present[j.bus_id][0] for j in joints], dtype=np.float64)
        rates = np.array([present[j.bus_id][1] for j in joints], dtype=np.float64) * (
            VELOCITY_UNIT_RPM / 60.0 * np.array([j.counts_per_rev for j in joints]))
        current_a = np.array([present[j.bus_id][2] for j in joints], dtype=np.float64) * self.current_unit_a
        efforts = current_a * np.array([j.direction * j.torque_constant_nm_per_a * j.gear_ratio for j in joints])
        gripper = 1.0
        g = self.description.gripper
        if g is not None:
            gripper = float(np.clip((present[g.bus_id][0] - g.closed_counts) / (g.open_counts - g.closed_counts),
                                    0.0, 1.0))
        alert = np.array([float(j.bus_id in self._alerts) for j in joints])
        return RawReading(counts, rates, efforts, gripper,
                          extras={"present_current_a": current_a, "hardware_alert": alert})

    def _write_counts(self, counts: np.ndarray, gripper: float) -> None:
        goals = {j.bus_id: int(round(c)) for j, c in zip(self.description.joints, counts, strict=True)}
        g = self.description.gripper
        if g is not None:
            goals[g.bus_id] = int(round(g.closed_counts + gripper * (g.open_counts - g.closed_counts)))
        self._send_goals(goals)

    def _present(self) -> dict[int, tuple[int, int, int]]:
        """(position, velocity, current) in servo units per ID, naming the servo on any failure."""
        assert self._port is not None and self._sync_read is not None
        problem = ""
        for _attempt in range(self.retries + 1):
            result = self._sync_read.txPacket()
            if result != COMM_SUCCESS:
                problem = f"sync read could not be sent: {self._comm_problem(result)}"
                self.counters["comm_errors"] += 1
                continue
            values, alerts, problem = {}, [], ""
            for dxl_id in self.ids:
                data, result, error = self._packet.readRx(self._port, dxl_id, PRESENT_BLOCK_LEN)
                if result != COMM_SUCCESS:
                    problem = f"{self.role(dxl_id)} {self._comm_problem(result)} during sync read of present state"
                    break
                if error & 0x7F:
                    problem = f"{self.role(dxl_id)} {self._packet.getRxPacketError(error)} during sync read"
                    break
                if error & 0x80:
                    alerts.append(dxl_id)
                raw = bytes(data)
                values[dxl_id] = (int.from_bytes(raw[6:10], "little", signed=True),
                                  int.from_bytes(raw[2:6], "little", signed=True),
                                  int.from_bytes(raw[0:2], "little", signed=True))
            if not problem:
                self._alerts = alerts
                if alerts and self.lifecycle.state is not LifecycleState.FAULT:  # report once; keep reading
                    self._raise_hardware_errors(alerts)
                return values
            self.counters["comm_errors"] += 1
        raise self._fail(f"{problem} (after {self.retries + 1} tries)")

    def _raise_hardware_errors(self, ids: list[int]) -> None:
        details = []
        for dxl_id in ids:
            assert self._port is not None
            bits, result, _ = self._packet.read1ByteTxRx(self._port, dxl_id, ADDR_HARDWARE_ERROR)
            status = describe_hardware_error(bits) if result == COMM_SUCCESS else "unreadable"
            details.append(f"{self.role(dxl_id)} hardware error {status}")
        self._torque_on = self._torque_on and len(ids) < len(self.ids)
        raise self._fail("; ".join(details) + " (the servo dropped torque); reset_fault() reboots it")

    def _send_goals(self, goals: dict[int, int]) -> None:
        assert self._sync_write is not None
        self._sync_write.clearParam()
        for dxl_id, counts in goals.items():
            self._sync_write.addParam(dxl_id, list(int(counts).to_bytes(4, "little", signed=True)))
        result = self._sync_write.txPacket()
        if result != COMM_SUCCESS:
            raise self._fail(f"sync write of goal positions failed: {self._comm_problem(result)}")

    def _read_byte(self, dxl_id: int, address: int, what: str) -> int:
        assert self._port is not None
        value, result, error = self._retry(lambda: self._packet.read1ByteTxRx(self._port, dxl_id, address))
        if result != COMM_SUCCESS or error & 0x7F:
            problem = self._comm_problem(result) if result != COMM_SUCCESS else self._packet.getRxPacketError(error)
            raise self._fail(f"{self.role(dxl_id)} reading {what} (address {address}): {problem}")
        return int(value)

    def _write_byte(self, dxl_id: int, address: int, value: int, what: str) -> None:
        assert self._port is not None
        result, error = self._retry(lambda: self._packet.write1ByteTxRx(self._port, dxl_id, address, value))
        if result != COMM_SUCCESS or error & 0x7F:
            problem = self._comm_problem(result) if result != COMM_SUCCESS else self._packet.getRxPacketError(error)
            raise self._fail(f"{self.role(dxl_id)} refused {what} (address {address} = {value}): {problem}")

    def _check_counts_range(self) -> None:
        """In single-turn position mode every joint's limits must map inside the servo's 0..4095."""
        if self.operating_mode != "position":
            return
        ends = [positions_to_counts(self.description, self.limits.lower),
                positions_to_counts(self.description, self.limits.upper)]
        lo, hi = np.minimum(*ends), np.maximum(*ends)
        for joint, a, b in zip(self.description.joints, lo, hi, strict=True):
            if a < SINGLE_TURN_COUNTS[0] or b > SINGLE_TURN_COUNTS[1]:
                raise CalibrationError(
                    f"{self.name}: joint {joint.name!r} limits map to counts [{a:.0f}, {b:.0f}], outside the "
                    f"single-turn range {SINGLE_TURN_COUNTS}; recalibrate or use operating_mode extended_position")

    def _retry(self, transaction: Callable[[], tuple]) -> tuple:
        """Run a single-servo transaction up to ``retries + 1`` times while it fails on the wire."""
        for _attempt in range(self.retries):
            outcome = transaction()
            if outcome[-2] == COMM_SUCCESS:  # (value..., result, error): result is second to last
                return outcome
            self.counters["comm_errors"] += 1
        return transaction()

    def _comm_problem(self, result: int) -> str:
        if result == COMM_RX_TIMEOUT:
            return "did not answer (timeout)"
        if result == COMM_RX_CORRUPT:
            return "sent a corrupt status packet (CRC mismatch or truncated)"
        return self._packet.getTxRxResult(result)
