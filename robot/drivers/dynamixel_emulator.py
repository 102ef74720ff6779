"""An emulated chain of Dynamixel X-series servos speaking Protocol 2.0 on a pseudo-terminal.

It is a real protocol counterpart, not a mock of the driver: the SDK opens the
pty's slave name as a serial port and exchanges bytes with this emulator, which
parses instruction packets (header ``FF FF FD 00``, ID, length, instruction,
parameters, byte stuffing, CRC-16 as in the Robotis e-Manual), keeps a control
table per servo and answers status packets. Supported: PING, READ, WRITE,
SYNC READ, SYNC WRITE, REBOOT. Servos move toward their goal position at their
velocity limit while torque is on, so a driver sees plausible motion.

Faults can be injected to exercise a driver: `silence` (a servo stops
answering), `corrupt_crc` (status packets with a bad CRC),
`set_hardware_error` (an alert, torque off, as a real overload does), and
`set_position` (moving a joint by hand with torque off).

Run ``python -m robot.drivers.dynamixel_emulator --ids 1 2 3`` to get a port name
for trying the `dynamixel` backend without hardware.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HEADER = b"\xff\xff\xfd\x00"
BROADCAST_ID = 0xFE
INST_PING, INST_READ, INST_WRITE, INST_REBOOT = 0x01, 0x02, 0x03, 0x08
INST_STATUS, INST_SYNC_READ, INST_SYNC_WRITE = 0x55, 0x82, 0x83
ERR_RESULT_FAIL, ERR_INSTRUCTION, ERR_CRC, ERR_DATA_RANGE, ERR_ACCESS = 1, 2, 3, 4, 7
ERR_ALERT = 0x80
TABLE_SIZE = 147

# X-series control table: name -> (address, size, signed). EEPROM is addresses < 64.
CONTROL_TABLE: dict[str, tuple[int, int, bool]] = {
    "model_number": (0, 2, False), "firmware_version": (6, 1, False), "id": (7, 1, False),
    "operating_mode": (11, 1, False), "current_limit": (38, 2, False), "velocity_limit": (44, 4, False),
    "max_position_limit": (48, 4, False), "min_position_limit": (52, 4, False),
    "torque_enable": (64, 1, False), "hardware_error_status": (70, 1, False),
    "profile_velocity": (112, 4, False), "goal_position": (116, 4, True), "moving": (122, 1, False),
    "present_current": (126, 2, True), "present_velocity": (128, 4, True), "present_position": (132, 4, True),
    "present_temperature": (146, 1, False),
}
READ_ONLY = {0, 1, 2, 3, 4, 5, 6, 70} | set(range(120, TABLE_SIZE))
OPERATING_MODES = {0, 1, 3, 4, 5, 16}
VELOCITY_UNIT_RPM = 0.229
CURRENT_PER_COUNT_ERROR = 2.0  # present current units per count of position error (a stiff P loop)


def crc16(data: bytes | bytearray) -> int:
    """CRC-16 of Protocol 2.0 (polynomial 0x8005, initial value 0, not reflected)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def stuff(packet: bytearray) -> bytearray:
    """Insert 0xFD after every FF FF FD from the instruction byte on (the CRC is added after)."""
    out = bytearray(packet[:7])
    for i in range(7, len(packet)):
        out.append(packet[i])
        if packet[i] == 0xFD and packet[i - 1] == 0xFF and packet[i - 2] == 0xFF:
            out.append(0xFD)
    return out


def unstuff(body: bytes) -> bytes:
    """Remove stuffing from a received packet without its CRC."""
    out = bytearray(body[:7])
    i = 7
    while i < len(body):
        out.append(body[i])
        if body[i] == 0xFD and body[i - 1] == 0xFF and body[i - 2] == 0xFF and i + 1 < len(body) \
                and body[i + 1] == 0xFD:
            i += 1
        i += 1
    return bytes(out)


def make_packet(dxl_id: int, instruction: int, params: bytes, error: int | None = None) -> bytes:
    """A complete packet (instruction, or status when `error` is given) with stuffing and CRC."""
    payload = bytes([instruction]) + (bytes([error]) if error is not None else b"") + params
    packet = stuff(bytearray(HEADER + bytes([dxl_id, 0, 0]) + payload))
    length = len(packet) - 7 + 2
    packet[5], packet[6] = length & 0xFF, length >> 8
    crc = crc16(packet)
    return bytes(packet + bytes([crc & 0xFF, crc >> 8]))


@dataclass
class EmulatedServo:
    dxl_id: int
    model_number: int = 1020  # XM430-W350
    position: float = 2048.0  # counts, continuous (the physical shaft)
    velocity: float = 0.0  # counts/s
    silent: bool = False
    corrupt_remaining: int = 0  # status packets still to corrupt; < 0: all of them
    external_current: float = 0.0  # current units added by an outside load
    table: bytearray = field(default_factory=lambda: bytearray(TABLE_SIZE))

    def __post_init__(self) -> None:
        for name, value in (("model_number", self.model_number), ("firmware_version", 48), ("id", self.dxl_id),
                            ("operating_mode", 3), ("current_limit", 1193), ("velocity_limit", 265),
                            ("max_position_limit", 4095), ("min_position_limit", 0)):
            self.set(name, value)
        self.set("goal_position", int(round(self.position)))
        self.sync_present()

    def get(self, name: str) -> int:
        addr, size, signed = CONTROL_TABLE[name]
        return int.from_bytes(self.table[addr:addr + size], "little", signed=signed)

    def set(self, name: str, value: int) -> None:
        addr, size, signed = CONTROL_TABLE[name]
        if not signed:
            value &= (1 << (8 * size)) - 1
        self.table[addr:addr + size] = int(value).to_bytes(size, "little", signed=signed)

    def advance(self, dt_s: float) -> None:
        """Move toward the goal at the velocity limit while torque is on."""
        start = self.position
        if self.get("torque_enable") and self.get("operating_mode") in (3, 4, 5):
            goal = float(self.get("goal_position"))
            if self.get("operating_mode") == 3:
                goal = min(max(goal, self.get("min_position_limit")), self.get("max_position_limit"))
            limit = self.get("profile_velocity") or self.get("velocity_limit")
            max_step = limit * VELOCITY_UNIT_RPM / 60.0 * 4096.0 * dt_s
            self.position += min(max(goal - self.position, -max_step), max_step)
            current = CURRENT_PER_COUNT_ERROR * (goal - self.position) + self.external_current
        else:
            current = 0.0
        self.velocity = (self.position - start) / dt_s if dt_s > 0 else 0.0
        cap = self.get("current_limit")
        self.set("present_current", int(round(min(max(current, -cap), cap))))
        self.sync_present()

    def sync_present(self) -> None:
        self.set("present_position", int(round(self.position)))
        self.set("present_velocity", int(round(self.velocity / 4096.0 * 60.0 / VELOCITY_UNIT_RPM)))
        self.set("moving", int(abs(self.velocity) > 1.0))

    def write(self, addr: int, data: bytes) -> int:
        """Apply a WRITE; returns the status error code (0 = ok)."""
        end = addr + len(data)
        if end > TABLE_SIZE or any(a in READ_ONLY for a in range(addr, end)):
            return ERR_ACCESS
        if addr < 64 and self.get("torque_enable"):
            return ERR_ACCESS  # EEPROM is locked while torque is on
        torque = CONTROL_TABLE["torque_enable"][0]
        mode = CONTROL_TABLE["operating_mode"][0]
        if addr <= torque < end and data[torque - addr] not in (0, 1):
            return ERR_DATA_RANGE
        if addr <= mode < end and data[mode - addr] not in OPERATING_MODES:
            return ERR_DATA_RANGE
        if addr <= torque < end and data[torque - addr] == 1 and self.get("hardware_error_status"):
            return ERR_RESULT_FAIL  # a servo in hardware error refuses torque until rebooted
        self.table[addr:end] = data
        return 0


class DynamixelEmulator:
    """A chain of emulated servos behind one pseudo-terminal; `port_name` is what a driver opens."""

    def __init__(self, servo_ids: Iterable[int], positions: Mapping[int, float] | None = None,
                 model_number: int = 1020) -> None:
        positions = positions or {}
        self.servos: dict[int, EmulatedServo] = {
            i: EmulatedServo(i, model_number, float(positions.get(i, 2048))) for i in servo_ids}
        self.stats: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)
        self.port_name = os.ttyname(self._slave_fd)
        self._wake_r, self._wake_w = os.pipe()
        self._buffer = bytearray()
        self._last_s = time.monotonic()
        self._thread: threading.Thread | None = None
        self._running = False

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> DynamixelEmulator:
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="dxl-emulator", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._running = False
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(timeout=2.0)
            self._thread = None
        for fd in (self._master_fd, self._slave_fd, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master_fd = self._slave_fd = -1

    def __enter__(self) -> DynamixelEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a test (or a person at the bench) does to the servos --------------------
    def set_position(self, dxl_id: int, counts: float) -> None:
        """Move a servo's shaft, as a hand does with torque off."""
        with self._lock:
            servo = self.servos[dxl_id]
            servo.position = float(counts)
            servo.sync_present()

    def position(self, dxl_id: int) -> float:
        with self._lock:
            self._advance()
            return self.servos[dxl_id].position

    def register(self, dxl_id: int, name: str) -> int:
        with self._lock:
            return self.servos[dxl_id].get(name)

    def silence(self, dxl_id: int, silent: bool = True) -> None:
        with self._lock:
            self.servos[dxl_id].silent = silent

    def corrupt_crc(self, dxl_id: int, count: int = 1) -> None:
        """Send the next `count` status packets of `dxl_id` with a wrong CRC (count < 0: from now on)."""
        with self._lock:
            self.servos[dxl_id].corrupt_remaining = count

    def set_hardware_error(self, dxl_id: int, bits: int = 0x20) -> None:
        """Raise a hardware error (default: overload, bit 5); the servo drops torque like a real one."""
        with self._lock:
            servo = self.servos[dxl_id]
            servo.table[CONTROL_TABLE["hardware_error_status"][0]] = bits & 0xFF
            servo.set("torque_enable", 0)

    def set_external_current(self, dxl_id: int, current_units: float) -> None:
        with self._lock:
            self.servos[dxl_id].external_current = current_units

    # -- the serial side ------------------------------------------------------------
    def _serve(self) -> None:
        while self._running:
            ready, _, _ = select.select([self._master_fd, self._wake_r], [], [], 0.1)
            if self._wake_r in ready or not self._running:
                break
            try:
                chunk = os.read(self._master_fd, 4096)
            except OSError:
                time.sleep(0.01)
                continue
            with self._lock:
                self._buffer += chunk
                replies = self._process()
            if replies:
                os.write(self._master_fd, replies)

    def _process(self) -> bytes:
        replies = bytearray()
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                del self._buffer[:max(0, len(self._buffer) - 3)]
                return bytes(replies)
            del self._buffer[:start]
            if len(self._buffer) < 7:
                return bytes(replies)
            total = 7 + int.from_bytes(self._buffer[5:7], "little")
            if len(self._buffer) < total:
                return bytes(replies)
            packet = bytes(self._buffer[:total])
            del self._buffer[:total]
            self.stats["packets"] += 1
            replies += self._handle(packet)

    def _advance(self) -> None:
        now = time.monotonic()
        for servo in self.servos.values():
            servo.advance(now - self._last_s)
        self._last_s = now

    def _status(self, servo: EmulatedServo, error: int, params: bytes = b"") -> bytes:
        if servo.silent:
            return b""
        if servo.get("hardware_error_status"):
            error |= ERR_ALERT
        packet = bytearray(make_packet(servo.dxl_id, INST_STATUS, params, error))
        if servo.corrupt_remaining:
            packet[-1] ^= 0xFF
            servo.corrupt_remaining -= 1 if servo.corrupt_remaining > 0 else 0
            self.stats["corrupted_replies"] += 1
        return bytes(packet)

    def _handle(self, packet: bytes) -> bytes:
        dxl_id = packet[4]
        if crc16(packet[:-2]) != int.from_bytes(packet[-2:], "little"):
            self.stats["crc_errors"] += 1
            servo = self.servos.get(dxl_id)
            return self._status(servo, ERR_CRC) if servo else b""
        body = unstuff(packet[:-2])
        instruction, params = body[7], body[8:]
        if dxl_id != BROADCAST_ID and dxl_id not in self.servos:
            self.stats["other_ids"] += 1  # another device's packet: a real servo stays quiet
            return b""
        self._advance()
        targets = sorted(self.servos) if dxl_id == BROADCAST_ID else [dxl_id]
        if instruction == INST_PING:
            return b"".join(self._status(self.servos[i], 0, bytes([self.servos[i].model_number & 0xFF,
                            self.servos[i].model_number >> 8, 48])) for i in targets)
        if instruction == INST_READ and dxl_id != BROADCAST_ID:
            return self._read(self.servos[dxl_id], params)
        if instruction == INST_WRITE:
            addr = int.from_bytes(params[:2], "little")
            errors = {i: self.servos[i].write(addr, params[2:]) for i in targets}
            return b"" if dxl_id == BROADCAST_ID else self._status(self.servos[dxl_id], errors[dxl_id])
        if instruction == INST_SYNC_READ and dxl_id == BROADCAST_ID:
            ids = [i for i in params[4:] if i in self.servos]
            return b"".join(self._read(self.servos[i], params[:4]) for i in ids)
        if instruction == INST_SYNC_WRITE and dxl_id == BROADCAST_ID:
            addr, size = int.from_bytes(params[:2], "little"), int.from_bytes(params[2:4], "little")
            for k in range(4, len(params) - size, size + 1):
                servo = self.servos.get(params[k])
                if servo is not None and servo.write(addr, params[k + 1:k + 1 + size]):
                    self.stats["sync_write_rejected"] += 1
            return b""
        if instruction == INST_REBOOT:
            for i in targets:
                servo = self.servos[i]
                servo.table[CONTROL_TABLE["hardware_error_status"][0]] = 0
                servo.set("torque_enable", 0)
                servo.external_current = 0.0
            return b"" if dxl_id == BROADCAST_ID else self._status(self.servos[dxl_id], 0)
        self.stats["bad_instruction"] += 1
        return b"" if dxl_id == BROADCAST_ID else self._status(self.servos[dxl_id], ERR_INSTRUCTION)

    def _read(self, servo: EmulatedServo, params: bytes) -> bytes:
        addr, size = int.from_bytes(params[:2], "little"), int.from_bytes(params[2:4], "little")
        if addr + size > TABLE_SIZE:
            return self._status(servo, ERR_ACCESS)
        return self._status(servo, 0, bytes(servo.table[addr:addr + size]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve emulated Dynamixel X-series servos on a pty.")
    parser.add_argument("--ids", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    with DynamixelEmulator(args.ids) as emulator:
        print(f"emulating servos {args.ids} on {emulator.port_name} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
