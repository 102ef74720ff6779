"""What every hardware driver shares: description, lifecycle, unit conversion, calibration gate, faults.

A concrete driver implements the bus-specific hooks (`_open`, `_close`,
`_enable`, `_disable`, `_set_torque`, `_read_raw`, `_write_counts`,
`_clear_fault`). This class turns them into the `Robot` interface:

* `connect()` is configure + activate, so the robot node drives hardware exactly
  as it drives simulation; `configure()` alone opens the bus with torque left as it
  is (what `robocell calibrate` needs);
* `activate()` refuses with `CalibrationError` unless the calibration is present,
  matches the description and puts every joint inside its limits;
* only an ``active`` robot accepts joint targets (`LifecycleError` otherwise);
* any bus or drive failure moves the lifecycle to ``fault`` and raises
  `HardwareFault` naming the device and the problem; `reset_fault()` is the only
  way back (to ``inactive``; `activate()` again to move).
"""

from __future__ import annotations

import collections
import logging
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robot.calibration import (
    check_calibration,
    count_rates_to_velocities,
    counts_to_positions,
    positions_to_counts,
)
from robot.description import RobotDescription, load_description
from robot.drivers.kinematics import DHChain
from robot.interface import Robot, RobotState
from robot.lifecycle import Lifecycle, LifecycleError, LifecycleState

log = logging.getLogger(__name__)


class HardwareFault(RuntimeError):
    """The hardware cannot be driven safely: a bus error, a silent device, a drive or servo fault."""


@dataclass
class RawReading:
    """One reading in motor units, before calibration is applied."""

    counts: np.ndarray  # motor counts per joint
    count_rates: np.ndarray  # motor counts per second per joint
    efforts: np.ndarray  # joint efforts (N m), already converted by the driver
    gripper: float = 1.0  # opening in [0 closed, 1 open]
    extras: dict[str, np.ndarray] = field(default_factory=dict)


def as_description(description: str | Path | RobotDescription) -> RobotDescription:
    return description if isinstance(description, RobotDescription) else load_description(description)


class HardwareRobot(Robot):
    """Base of the bus drivers; see the module docstring for the contract."""

    soft_start_on_connect = True

    def __init__(
        self, description: str | Path | RobotDescription, name: str | None = None,
        calibration_tolerance_rad: float = 0.2,
    ) -> None:
        self.description = as_description(description)
        self.name = name or self.description.name
        self.joint_names = self.description.joint_names
        self.limits = self.description.joint_limits()
        self.lifecycle = Lifecycle(self.name)
        self.calibration_tolerance_rad = calibration_tolerance_rad
        self.counters: collections.Counter[str] = collections.Counter()
        self._chain = DHChain(self.description.dh) if self.description.dh is not None else None

    @property
    def fault(self) -> str | None:
        """Why the robot is in fault, or None."""
        return self.lifecycle.fault_reason

    # -- lifecycle ----------------------------------------------------------------
    def connect(self) -> None:
        if self.lifecycle.state is LifecycleState.UNCONFIGURED:
            self.configure()
        if self.lifecycle.state is LifecycleState.INACTIVE:
            self.activate()

    def configure(self) -> None:
        """Open the bus and check every device answers; torque is left as it is."""
        if self.lifecycle.state is not LifecycleState.UNCONFIGURED:
            raise LifecycleError(f"{self.name}: configure from {self.lifecycle.state.value}")
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        self.lifecycle.configure()

    def activate(self) -> None:
        """Check calibration against the current reading, then enable torque at the current position."""
        if self.lifecycle.state is not LifecycleState.INACTIVE:
            raise LifecycleError(f"{self.name}: activate from {self.lifecycle.state.value} (needs inactive)")
        check_calibration(self.description, self.read_raw_counts(), self.calibration_tolerance_rad)
        self._enable()
        self.lifecycle.activate()

    def deactivate(self) -> None:
        self._disable()
        self.lifecycle.deactivate()

    def disconnect(self) -> None:
        state = self.lifecycle.state
        if state is LifecycleState.ACTIVE:
            try:
                self.deactivate()
            except Exception as exc:  # closing must go on: the bus is released either way
                log.error("%s: disabling on disconnect failed: %s", self.name, exc)
        self._close()
        if self.lifecycle.state is LifecycleState.INACTIVE:
            self.lifecycle.cleanup("disconnect")

    def reset_fault(self) -> None:
        """Clear the device faults and return to ``inactive`` (explicitly; nothing does this by itself)."""
        if self.lifecycle.state is not LifecycleState.FAULT:
            raise LifecycleError(f"{self.name}: reset_fault from {self.lifecycle.state.value} (not in fault)")
        self._clear_fault()
        self.lifecycle.reset("fault reset")

    def set_torque(self, enabled: bool) -> None:
        """Torque on/off outside ``active`` (calibration by hand). Enabling holds the current position."""
        if self.lifecycle.state is not LifecycleState.INACTIVE:
            raise LifecycleError(
                f"{self.name}: set_torque needs inactive, state is {self.lifecycle.state.value}")
        self._set_torque(enabled)

    # -- Robot interface -------------------------------------------------------------
    def read(self, with_cameras: bool = True) -> RobotState:
        if self.lifecycle.state in (LifecycleState.UNCONFIGURED, LifecycleState.FINALIZED):
            raise LifecycleError(f"{self.name}: read while {self.lifecycle.state.value}; configure first")
        raw = self._read_raw()
        positions = counts_to_positions(self.description, raw.counts)
        extras = {"raw_counts": np.asarray(raw.counts, dtype=np.float64), **raw.extras}
        return RobotState(
            joint_positions=positions,
            joint_velocities=count_rates_to_velocities(self.description, raw.count_rates),
            joint_efforts=np.asarray(raw.efforts, dtype=np.float64),
            ee_pose=self.forward_kinematics(positions),
            gripper=float(raw.gripper),
            time_s=time.monotonic(),
            extras=extras,
        )

    def read_raw_counts(self) -> np.ndarray:
        """Motor counts per joint, without calibration (works while ``inactive``)."""
        return np.asarray(self._read_raw().counts, dtype=np.float64)

    def write_joint_targets(self, joint_positions: np.ndarray, gripper: float) -> None:
        self.lifecycle.require_active("write joint targets")
        q = np.asarray(joint_positions, dtype=np.float64)
        if q.shape != (len(self.joint_names),) or not np.all(np.isfinite(q)) or not np.isfinite(gripper):
            raise ValueError(f"{self.name}: joint targets {q.tolist()} / gripper {gripper} are not "
                             f"{len(self.joint_names)} finite numbers; they must come from the safety filter")
        self._write_counts(positions_to_counts(self.description, q), float(np.clip(gripper, 0.0, 1.0)))

    def forward_kinematics(self, joint_positions: np.ndarray) -> np.ndarray:
        """End-effector pose from the description's DH table; NaN when it has none."""
        if self._chain is None:
            return np.full(7, np.nan)
        return self._chain.forward(joint_positions)

    def solve_ik(self, ee_pose: np.ndarray, seed_joint_positions: np.ndarray) -> np.ndarray:
        if self._chain is None:
            raise NotImplementedError(
                f"{self.name}: description {self.description.source} has no kinematics.dh, so end-effector "
                f"actions cannot be solved; use action mode joint_position or add a DH table")
        return self._chain.inverse(ee_pose, seed_joint_positions, self.limits.lower, self.limits.upper)

    # -- for drivers -----------------------------------------------------------------
    def _fail(self, message: str) -> HardwareFault:
        """Enter fault with `message` and return the exception for the caller to raise."""
        if self.lifecycle.state is not LifecycleState.FINALIZED:
            self.lifecycle.fail(message)
        self.counters["faults"] += 1
        return HardwareFault(f"{self.name}: {message}")

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _enable(self) -> None: ...

    @abstractmethod
    def _disable(self) -> None: ...

    @abstractmethod
    def _set_torque(self, enabled: bool) -> None: ...

    @abstractmethod
    def _read_raw(self) -> RawReading: ...

    @abstractmethod
    def _write_counts(self, counts: np.ndarray, gripper: float) -> None: ...

    @abstractmethod
    def _clear_fault(self) -> None: ...
