"""CANopen CiA 402 servo drives as a `Robot` backend, through ``canopen`` and ``python-can``.

One drive per joint (node ID = the joint's ``bus_id``). Configuring the robot:

1. reads each drive's device type over SDO (it must be a CiA 402 drive);
2. sets its heartbeat producer time and maps the PDOs
   (RPDO1: controlword + target position, RPDO2: target velocity;
   TPDO1: statusword + position actual, TPDO2: velocity actual + torque actual,
   both sent on SYNC);
3. selects cyclic synchronous position mode, starts the nodes (NMT) and a
   SYNC producer at ``sync_period_s``.

Activation walks the CiA 402 state machine to OPERATION ENABLED (with
``canopen.profiles.p402.BaseNode402``) after setting each target to the actual
position. Every `read()` checks that each drive is alive (heartbeat within
``heartbeat_timeout_s``, TPDOs within ``pdo_timeout_s``) and not faulted; a
silent or faulted drive puts the robot in fault with a message naming the node,
its joint and what went wrong. `reset_fault()` sends the fault reset.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import can
import canopen
import numpy as np
from canopen.emcy import EmcyError
from canopen.pdo import PdoMap
from canopen.profiles.p402 import BaseNode402

from robot.description import RobotDescription
from robot.drivers import cia402 as c
from robot.drivers.base import HardwareFault, HardwareRobot, RawReading
from robot.lifecycle import LifecycleState

log = logging.getLogger(__name__)
T = TypeVar("T")
INT32 = (-(2**31), 2**31 - 1)


def describe_error_code(code: int) -> str:
    return f"0x{code:04X} ({EmcyError(code, 0, b'', 0.0).get_desc() or 'unknown'})"


class CanopenRobot(HardwareRobot):
    """A set of CiA 402 drives on one CAN bus, one per joint."""

    def __init__(
        self, description: str | Path | RobotDescription, channel: str = "can0", interface: str = "socketcan",
        bitrate: int = 1_000_000, sync_period_s: float = 0.01, heartbeat_period_s: float = 0.05,
        heartbeat_timeout_s: float | None = None, pdo_timeout_s: float | None = None, sdo_timeout_s: float = 0.3,
        name: str | None = None, calibration_tolerance_rad: float = 0.2,
    ) -> None:
        super().__init__(description, name=name, calibration_tolerance_rad=calibration_tolerance_rad)
        self.channel, self.interface, self.bitrate = channel, interface, int(bitrate)
        self.sync_period_s, self.heartbeat_period_s = sync_period_s, heartbeat_period_s
        self.heartbeat_timeout_s = heartbeat_timeout_s or max(3 * heartbeat_period_s, 0.1)
        self.pdo_timeout_s = pdo_timeout_s or max(10 * sync_period_s, 0.1)
        self.sdo_timeout_s = sdo_timeout_s
        self.network: canopen.Network | None = None
        self.nodes: dict[int, BaseNode402] = {}
        self._lock = threading.Lock()
        self._latest: dict[int, dict[int, int]] = {}
        self._tpdo_s: dict[int, float] = {}
        self._heartbeat_s: dict[int, float] = {}
        self._last_write: tuple[float, np.ndarray] | None = None

    def role(self, node_id: int) -> str:
        joint = next(j for j in self.description.joints if j.bus_id == node_id)
        return f"drive node {node_id} (joint {joint.name!r})"

    # -- lifecycle hooks -------------------------------------------------------------
    def _open(self) -> None:
        network = canopen.Network()
        network.NOTIFIER_CYCLE = 0.05  # bounds how long disconnect waits for the receive thread
        kwargs: dict[str, Any] = {"interface": self.interface, "channel": self.channel}
        if self.interface != "virtual":
            kwargs["bitrate"] = self.bitrate
        try:
            network.connect(**kwargs)
        except (can.CanError, OSError, ValueError) as exc:
            raise HardwareFault(f"{self.name}: cannot open CAN {self.interface} channel {self.channel}: {exc}") \
                from exc
        self.network = network
        now = time.monotonic()
        for joint in self.description.joints:
            node = BaseNode402(joint.bus_id, c.object_dictionary(joint.bus_id))
            network.add_node(node)
            node.sdo.RESPONSE_TIMEOUT = self.sdo_timeout_s
            node.nmt.add_heartbeat_callback(lambda state, i=joint.bus_id: self._on_heartbeat(i))
            self._heartbeat_s[joint.bus_id] = now
            self.nodes[joint.bus_id] = node
            self._setup_node(node)
        for node in self.nodes.values():
            node.nmt.state = "OPERATIONAL"
        network.sync.start(self.sync_period_s)
        deadline = time.monotonic() + max(1.0, 5 * self.pdo_timeout_s)
        while time.monotonic() < deadline and len(self._tpdo_s) < len(self.nodes):
            time.sleep(self.sync_period_s)
        for node_id in self.nodes:
            if node_id not in self._tpdo_s:
                raise HardwareFault(f"{self.name}: {self.role(node_id)} sent no TPDO after NMT start and SYNC")

    def _setup_node(self, node: BaseNode402) -> None:
        i = node.id
        device_type = self._sdo(i, "reading device type (0x1000)", lambda: node.sdo[c.DEVICE_TYPE].raw)
        if device_type & 0xFFFF != c.PROFILE_402:
            raise HardwareFault(f"{self.name}: {self.role(i)} has device type 0x{device_type:08X}, "
                                f"not a CiA 402 drive")
        node.nmt.state = "PRE-OPERATIONAL"
        heartbeat_ms = max(1, int(round(self.heartbeat_period_s * 1000)))
        self._sdo(i, "setting heartbeat time (0x1017)", lambda: setattr(node.sdo[c.HEARTBEAT_TIME], "raw",
                                                                         heartbeat_ms))
        layout = ((node.rpdo[1], (c.CONTROLWORD, c.TARGET_POSITION), 0x200, 255),
                  (node.rpdo[2], (c.TARGET_VELOCITY,), 0x300, 255),
                  (node.tpdo[1], (c.STATUSWORD, c.POSITION_ACTUAL), 0x180, 1),
                  (node.tpdo[2], (c.VELOCITY_ACTUAL, c.TORQUE_ACTUAL), 0x280, 1))
        for pdo_map, objects, base, trans_type in layout:
            pdo_map.clear()
            for index in objects:
                pdo_map.add_variable(index)
            pdo_map.cob_id, pdo_map.trans_type, pdo_map.enabled = base + i, trans_type, True
            self._sdo(i, f"mapping {pdo_map.name}", pdo_map.save)
        for pdo_map in (node.tpdo[1], node.tpdo[2]):
            pdo_map.add_callback(self._on_tpdo)
        self._sdo(i, "selecting CSP mode (0x6060)", lambda: setattr(node.sdo[c.MODES_OF_OPERATION], "raw",
                                                                     c.MODE_CSP))
        mode = self._sdo(i, "reading mode display (0x6061)", lambda: node.sdo[c.MODES_OF_OPERATION_DISPLAY].raw)
        if mode != c.MODE_CSP:
            raise HardwareFault(f"{self.name}: {self.role(i)} stays in mode {mode}, not CSP ({c.MODE_CSP})")
        node.setup_pdos(upload=False)  # state machine helpers use the maps set above

    def _close(self) -> None:
        network, self.network = self.network, None
        if network is None:
            return
        network.sync.stop()
        for node_id, node in self.nodes.items():
            if self._state(node_id) == "OPERATION ENABLED":  # e.g. the healthy drives after another's fault
                with contextlib.suppress(can.CanError):
                    node.controlword = c.CW_DISABLE_VOLTAGE  # one PDO, best effort: nothing to wait for
            node.nmt.state = "PRE-OPERATIONAL"
        network.disconnect()
        self.nodes.clear()
        self._tpdo_s.clear()

    def _enable(self) -> None:
        self._check_health(enabled=False)
        for node_id, node in self.nodes.items():
            actual = self._latest[node_id][c.POSITION_ACTUAL]
            node.rpdo[1][c.TARGET_POSITION].raw = actual
            self._to_state(node_id, "OPERATION ENABLED")

    def _disable(self) -> None:
        for node_id in self.nodes:
            self._to_state(node_id, "SWITCH ON DISABLED")

    def _set_torque(self, enabled: bool) -> None:
        self._enable() if enabled else self._disable()

    def _clear_fault(self) -> None:
        now = time.monotonic()
        for node_id in self.nodes:
            age = now - self._heartbeat_s[node_id]
            if age > self.heartbeat_timeout_s:
                raise HardwareFault(f"{self.name}: cannot reset: {self.role(node_id)} still silent "
                                    f"(no heartbeat for {age:.2f} s)")
            if self._state(node_id) == "FAULT":
                self._to_state(node_id, "SWITCH ON DISABLED")  # the fault reset (controlword bit 7)

    # -- bus cycle --------------------------------------------------------------------
    def _read_raw(self) -> RawReading:
        self._check_health(enabled=self.lifecycle.state is LifecycleState.ACTIVE)
        joints = self.description.joints
        with self._lock:
            latest = [dict(self._latest[j.bus_id]) for j in joints]
        counts = np.array([v[c.POSITION_ACTUAL] for v in latest], dtype=np.float64)
        rates = np.array([v.get(c.VELOCITY_ACTUAL, 0) for v in latest], dtype=np.float64)
        torque = np.array([v.get(c.TORQUE_ACTUAL, 0) for v in latest], dtype=np.float64) / 1000.0
        efforts = torque * np.array([j.direction * j.rated_torque_nm * j.gear_ratio for j in joints])
        statuswords = np.array([v[c.STATUSWORD] for v in latest], dtype=np.float64)
        return RawReading(counts, rates, efforts, 1.0, extras={"statusword": statuswords})

    def _write_counts(self, counts: np.ndarray, gripper: float) -> None:
        assert self.network is not None
        now = time.monotonic()
        targets = np.clip(np.round(counts), *INT32)
        velocity = np.zeros_like(targets)
        if self._last_write is not None and now > self._last_write[0]:
            velocity = np.clip((targets - self._last_write[1]) / (now - self._last_write[0]), *INT32)
        self._last_write = (now, targets)
        try:
            for joint, target, vel in zip(self.description.joints, targets, velocity, strict=True):
                node = self.nodes[joint.bus_id]
                node.rpdo[1][c.TARGET_POSITION].raw = int(target)
                node.rpdo[1].transmit()
                node.rpdo[2][c.TARGET_VELOCITY].raw = int(vel)
                node.rpdo[2].transmit()
        except can.CanError as exc:
            raise self._fail(f"sending target PDOs failed: {exc}") from exc

    def _check_health(self, enabled: bool) -> None:
        now = time.monotonic()
        in_fault = self.lifecycle.state is LifecycleState.FAULT
        for node_id in self.nodes:
            heartbeat_age, pdo_age = now - self._heartbeat_s[node_id], now - self._tpdo_s.get(node_id, 0.0)
            if heartbeat_age > self.heartbeat_timeout_s:
                raise self._fail(f"{self.role(node_id)}: no heartbeat for {heartbeat_age:.2f} s (limit "
                                 f"{self.heartbeat_timeout_s:.3g} s); the drive stopped answering")
            if pdo_age > self.pdo_timeout_s:
                raise self._fail(f"{self.role(node_id)}: no TPDO for {pdo_age:.2f} s (limit {self.pdo_timeout_s:.3g} s)"
                                 f" although SYNC runs every {self.sync_period_s} s")
            state = self._state(node_id)
            if in_fault:
                continue  # already reported; keep reading so the state stays observable
            if state == "FAULT":
                code = self._error_code(node_id)
                raise self._fail(f"{self.role(node_id)} is in FAULT, error code {code}; reset_fault() to clear")
            if enabled and state != "OPERATION ENABLED":
                raise self._fail(f"{self.role(node_id)} left OPERATION ENABLED: state is {state}")

    # -- helpers ------------------------------------------------------------------------
    def _on_heartbeat(self, node_id: int) -> None:
        self._heartbeat_s[node_id] = time.monotonic()

    def _on_tpdo(self, pdo_map: PdoMap) -> None:
        node_id = pdo_map.cob_id & 0x7F
        values = {var.index: int(var.raw) for var in pdo_map}
        with self._lock:
            self._latest.setdefault(node_id, {}).update(values)
            if c.STATUSWORD in values:
                self._tpdo_s[node_id] = time.monotonic()

    def _state(self, node_id: int) -> str:
        with self._lock:
            return c.state_of(self._latest.get(node_id, {}).get(c.STATUSWORD, 0))

    def _error_code(self, node_id: int) -> str:
        try:
            return describe_error_code(int(self.nodes[node_id].sdo[c.ERROR_CODE].raw))
        except (canopen.SdoCommunicationError, canopen.SdoAbortedError) as exc:
            return f"unreadable ({exc})"

    def _to_state(self, node_id: int, target: str) -> None:
        node = self.nodes[node_id]
        try:
            node.state = target
        except (RuntimeError, ValueError) as exc:
            raise self._fail(f"{self.role(node_id)} did not reach {target}: {exc} "
                             f"(state {node.state}, statusword 0x{node.statusword:04X})") from exc

    def _sdo(self, node_id: int, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except (canopen.SdoCommunicationError, canopen.SdoAbortedError) as exc:
            raise HardwareFault(f"{self.name}: {self.role(node_id)} {what}: {exc}") from exc
