"""An emulated CiA 402 servo drive on a CAN bus, built with the ``canopen`` library.

A `canopen.LocalNode` with the object dictionary of `robot.drivers.cia402`
answers SDOs, follows NMT commands, produces heartbeats (0x1017), applies the
PDO mapping a master configured (read back from its own dictionary when it is
started), runs the controlword/statusword state machine, and in cyclic
synchronous position mode (8) follows the target position at a speed limit.
Sync TPDOs are sent on every SYNC. It works on any python-can bus; tests use
``interface="virtual"``, where every bus on the same channel in one process
hears the others.

Faults to exercise a driver: `inject_fault` (drive fault with an error code and
an EMCY), `stop` (the drive drops off the bus: no heartbeat, no SDO, no PDO).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import canopen
from canopen.pdo import PdoMap

from robot.drivers import cia402 as c

TORQUE_PER_COUNT_ERROR = 0.05  # per mille of rated torque per count of following error


class EmulatedCia402Drive:
    """One drive; `start()` puts it on the bus, `stop()` takes it off."""

    def __init__(self, node_id: int, channel: str = "robocell", interface: str = "virtual",
                 position_counts: int = 0, max_speed_counts_s: float = 2.0e6) -> None:
        self.node_id, self.channel, self.interface = node_id, channel, interface
        self.node = canopen.LocalNode(node_id, c.object_dictionary(node_id))
        self.network: canopen.Network | None = None
        self.max_speed_counts_s = max_speed_counts_s
        self.position = float(position_counts)
        self.velocity = 0.0
        self.target = float(position_counts)
        self.target_velocity = 0
        self.torque_permille = 0.0
        self.statusword = c.STATUSWORD_OF["SWITCH ON DISABLED"]
        self.controlword = 0
        self.mode = 0
        self.error_code = 0
        self.sync_count = 0
        self._lock = threading.RLock()
        self._last_sync_s: float | None = None
        self.node.add_read_callback(self._on_read)
        self.node.add_write_callback(self._on_write)

    @property
    def state(self) -> str:
        return c.state_of(self.statusword)

    def start(self) -> EmulatedCia402Drive:
        """Join the bus and boot: boot-up message, then pre-operational (heartbeat per 0x1017)."""
        self.network = canopen.Network()
        self.network.NOTIFIER_CYCLE = 0.05  # a quick stop()
        self.network.connect(interface=self.interface, channel=self.channel, receive_own_messages=False)
        self.network.add_node(self.node)
        self.network.subscribe(0, self._on_nmt)
        self.network.subscribe(0x80, self._on_sync)
        self.node.nmt.send_command(0x81)  # reset node: sends the boot-up message
        self.node.nmt.send_command(0x80)  # to pre-operational, which starts the heartbeat
        return self

    def stop(self) -> None:
        """Leave the bus, as a drive does when it loses power or its cable."""
        if self.network is not None:
            self.node.nmt.stop_heartbeat()
            self.node.tpdo.stop()
            network, self.network = self.network, None
            network.disconnect()
            self.node.remove_network()

    def inject_fault(self, error_code: int = 0x2310) -> None:
        """Enter FAULT (default error: continuous over-current) and send an EMCY."""
        with self._lock:
            self.error_code = error_code
            self.statusword = c.STATUSWORD_OF["FAULT"]
            self.torque_permille = 0.0
        if self.network is not None:
            self.node.emcy.send(error_code, 0x01)

    # -- bus callbacks (python-can notifier thread) ------------------------------------
    def _on_nmt(self, can_id: int, data: bytearray, timestamp: float) -> None:
        if len(data) >= 2 and data[1] in (0, self.node_id) and data[0] == 0x01:  # start remote node
            for pdo in (self.node.rpdo, self.node.tpdo):
                pdo.read()  # the mapping the master wrote into our dictionary
            for pdo_map in self.node.rpdo.map.values():
                if self._on_rpdo not in pdo_map.callbacks:
                    pdo_map.add_callback(self._on_rpdo)

    def _on_sync(self, can_id: int, data: bytearray, timestamp: float) -> None:
        with self._lock:
            now = time.monotonic()
            dt = 0.0 if self._last_sync_s is None else min(now - self._last_sync_s, 0.1)
            self._last_sync_s = now
            self.sync_count += 1
            self._advance(dt)
            if self.node.nmt.state != "OPERATIONAL":
                return
            for pdo_map in self.node.tpdo.map.values():
                if pdo_map.enabled and pdo_map.trans_type is not None and pdo_map.trans_type <= 240:
                    for var in pdo_map:
                        var.raw = self._value(var.index)
                    pdo_map.transmit()

    def _on_rpdo(self, pdo_map: PdoMap) -> None:
        values = {var.index: var.raw for var in pdo_map}
        with self._lock:
            for index, value in values.items():
                if index != c.CONTROLWORD:
                    self._write_object(index, int(value))
            if c.CONTROLWORD in values:
                self._apply_controlword(int(values[c.CONTROLWORD]))

    def _on_read(self, index: int, subindex: int, od: Any) -> int | None:
        with self._lock:
            return self._value(index)

    def _on_write(self, index: int, subindex: int, od: Any, data: bytes) -> None:
        value = od.decode_raw(data)
        with self._lock:
            if index == c.CONTROLWORD:
                self._apply_controlword(int(value))
            else:
                self._write_object(index, int(value))

    # -- the drive ---------------------------------------------------------------------
    def _value(self, index: int) -> int | None:
        live = {
            c.STATUSWORD: self.statusword | c.SW_REMOTE
            | (c.SW_TARGET_REACHED if abs(self.target - self.position) < 1 else 0),
            c.POSITION_ACTUAL: int(round(self.position)),
            c.VELOCITY_ACTUAL: int(round(self.velocity)),
            c.TORQUE_ACTUAL: int(round(self.torque_permille)),
            c.MODES_OF_OPERATION_DISPLAY: self.mode,
            c.MODES_OF_OPERATION: self.mode,
            c.ERROR_CODE: self.error_code,
            c.ERROR_REGISTER: 1 if self.error_code else 0,
            c.CONTROLWORD: self.controlword,
            c.TARGET_POSITION: int(round(self.target)),
        }
        return live.get(index)

    def _write_object(self, index: int, value: int) -> None:
        if index == c.TARGET_POSITION:
            self.target = float(value)
        elif index == c.TARGET_VELOCITY:
            self.target_velocity = value
        elif index == c.MODES_OF_OPERATION:
            self.mode = value

    def _apply_controlword(self, cw: int) -> None:
        """The CiA 402 device control state machine (transitions 2-12 and 15)."""
        previous, self.controlword = self.controlword, cw
        state, go = self.state, None
        if state == "FAULT":
            if cw & c.CW_FAULT_RESET and not previous & c.CW_FAULT_RESET:
                go, self.error_code = "SWITCH ON DISABLED", 0
        elif not cw & 0x02:  # disable voltage
            go = "SWITCH ON DISABLED"
        elif not cw & 0x04:  # quick stop
            go = "QUICK STOP ACTIVE" if state == "OPERATION ENABLED" else "SWITCH ON DISABLED"
        elif cw & 0x0F == c.CW_SHUTDOWN and state in ("SWITCH ON DISABLED", "SWITCHED ON", "OPERATION ENABLED"):
            go = "READY TO SWITCH ON"
        elif cw & 0x0F == c.CW_SWITCH_ON and state in ("READY TO SWITCH ON", "OPERATION ENABLED"):
            go = "SWITCHED ON"
        elif cw & 0x0F == c.CW_ENABLE_OPERATION and state in ("READY TO SWITCH ON", "SWITCHED ON",
                                                              "QUICK STOP ACTIVE"):
            go = "OPERATION ENABLED"
        if go is not None and go != state:
            self.statusword = c.STATUSWORD_OF[go]

    def _advance(self, dt: float) -> None:
        start = self.position
        if self.state == "OPERATION ENABLED" and self.mode == c.MODE_CSP:
            step = self.max_speed_counts_s * dt
            self.position += min(max(self.target - self.position, -step), step)
            error = self.target - self.position
            self.torque_permille = max(-3000.0, min(3000.0, TORQUE_PER_COUNT_ERROR * error))
        elif self.state != "FAULT":
            self.torque_permille = 0.0
        self.velocity = (self.position - start) / dt if dt > 0 else 0.0
