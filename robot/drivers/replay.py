"""Stand-in backends for testing nodes without a simulator or a robot.

* `MockRobot` follows commanded joint targets with first-order dynamics (the
  ros2_control "mock hardware" idea): ``q += (target - q) * (1 - exp(-dt / tau))``.
  It reports an effort proportional to the following error, can be pushed with an
  external effort, and can be put into fault, so safety and fault handling can
  be exercised end to end.
* `ReplayRobot` plays back recorded joint states (``.npz`` written by
  `save_recording`) and keeps every command it was sent, for offline tests.

Both have the lifecycle of the hardware drivers (`connect` = configure +
activate; only ``active`` accepts targets) and advance on `advance(dt_s)`, or on
the wall clock with ``realtime=True``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robot.description import RobotDescription, parse_description
from robot.drivers.base import as_description
from robot.drivers.kinematics import DHChain
from robot.interface import JointLimits, Robot, RobotState
from robot.lifecycle import Lifecycle, LifecycleError, LifecycleState

# A UR5-like 6-joint arm: what MockRobot is when no description is given.
DEFAULT_MOCK_DESCRIPTION: dict[str, Any] = {
    "name": "mock_arm",
    "bus": "any",
    "joints": [{"name": f"joint{i + 1}", "bus_id": i + 1,
                "limits": {"lower": -3.0, "upper": 3.0, "velocity": 2.0, "acceleration": 10.0, "effort": 50.0}}
               for i in range(6)],
    "kinematics": {"dh": [[0.0, 1.5708, 0.0892, 0.0], [-0.425, 0.0, 0.0, 0.0], [-0.392, 0.0, 0.0, 0.0],
                          [0.0, 1.5708, 0.1092, 0.0], [0.0, -1.5708, 0.0947, 0.0], [0.0, 0.0, 0.0823, 0.0]]},
}
DEFAULT_MOCK_POSE = (0.0, -1.2, 1.5, -1.9, -1.57, 0.0)


class _StandIn(Robot):
    """Lifecycle and kinematics shared by the stand-in backends."""

    soft_start_on_connect = True  # behave like the hardware they stand in for

    def __init__(self, description: RobotDescription, name: str | None) -> None:
        self.description = description
        self.name = name or description.name
        self.joint_names = description.joint_names
        self.limits: JointLimits = description.joint_limits()
        self.lifecycle = Lifecycle(self.name)
        self._chain = DHChain(description.dh) if description.dh is not None else None

    @property
    def fault(self) -> str | None:
        return self.lifecycle.fault_reason

    def connect(self) -> None:
        if self.lifecycle.state is LifecycleState.UNCONFIGURED:
            self.lifecycle.configure()
        if self.lifecycle.state is LifecycleState.INACTIVE:
            self.lifecycle.activate()

    def disconnect(self) -> None:
        if self.lifecycle.state is LifecycleState.ACTIVE:
            self.lifecycle.deactivate()
        if self.lifecycle.state is LifecycleState.INACTIVE:
            self.lifecycle.cleanup("disconnect")

    def inject_fault(self, reason: str) -> None:
        """Put the robot in fault, as a driver does when its hardware fails."""
        self.lifecycle.fail(reason)

    def reset_fault(self) -> None:
        if self.lifecycle.state is not LifecycleState.FAULT:
            raise LifecycleError(f"{self.name}: reset_fault from {self.lifecycle.state.value} (not in fault)")
        self.lifecycle.reset("fault reset")

    def _ee_pose(self, q: np.ndarray) -> np.ndarray:
        return self._chain.forward(q) if self._chain is not None else np.full(7, np.nan)


class MockRobot(_StandIn):
    """Commanded targets reached with first-order dynamics; see the module docstring."""

    def __init__(
        self, description: str | Path | RobotDescription | None = None, time_constant_s: float = 0.05,
        initial_positions: Sequence[float] | None = None, stiffness: float = 20.0, realtime: bool = False,
        name: str | None = None,
    ) -> None:
        desc = as_description(description) if description is not None else parse_description(
            DEFAULT_MOCK_DESCRIPTION, "<mock default>")
        super().__init__(desc, name)
        if time_constant_s <= 0:
            raise ValueError(f"time_constant_s must be > 0, got {time_constant_s}")
        self.time_constant_s, self.stiffness, self.realtime = time_constant_s, stiffness, realtime
        n = len(self.joint_names)
        if initial_positions is None:
            initial_positions = DEFAULT_MOCK_POSE if description is None else np.zeros(n)
        self.q = np.clip(np.asarray(initial_positions, dtype=np.float64), self.limits.lower, self.limits.upper)
        if self.q.shape != (n,):
            raise ValueError(f"initial_positions has {self.q.shape[0]} entries, expected {n}")
        self.qd = np.zeros(n)
        self.target = self.q.copy()
        self.gripper, self.gripper_target = 1.0, 1.0
        self.external_effort = np.zeros(n)
        self.time_s = 0.0
        self._wall_s = time.monotonic()

    def read(self, with_cameras: bool = True) -> RobotState:
        if self.realtime:
            now = time.monotonic()
            self._integrate(now - self._wall_s)
            self._wall_s = now
        effort = self.stiffness * (self.target - self.q) + self.external_effort
        return RobotState(self.q.copy(), self.qd.copy(), effort, self._ee_pose(self.q), self.gripper,
                          time_s=self.time_s)

    def write_joint_targets(self, joint_positions: np.ndarray, gripper: float) -> None:
        self.lifecycle.require_active("write joint targets")
        target = np.asarray(joint_positions, dtype=np.float64)
        if target.shape != self.q.shape or not np.all(np.isfinite(target)):
            raise ValueError(f"{self.name}: joint targets {target.tolist()} are not {len(self.q)} finite numbers")
        self.target, self.gripper_target = target.copy(), float(np.clip(gripper, 0.0, 1.0))

    def advance(self, dt_s: float) -> None:
        if not self.realtime:
            self._integrate(dt_s)

    def solve_ik(self, ee_pose: np.ndarray, seed_joint_positions: np.ndarray) -> np.ndarray:
        if self._chain is None:
            raise NotImplementedError(f"{self.name}: the description has no kinematics.dh")
        return self._chain.inverse(ee_pose, seed_joint_positions, self.limits.lower, self.limits.upper)

    def _integrate(self, dt_s: float) -> None:
        if dt_s <= 0:
            return
        alpha = 1.0 - np.exp(-dt_s / self.time_constant_s)
        previous = self.q.copy()
        self.q = self.q + (self.target - self.q) * alpha
        self.qd = (self.q - previous) / dt_s
        self.gripper += (self.gripper_target - self.gripper) * alpha
        self.time_s += dt_s


class ReplayRobot(_StandIn):
    """Plays back a recording (zero-order hold) and keeps the commands it receives in `commands`."""

    def __init__(
        self, path: str | Path, description: str | Path | RobotDescription | None = None, loop: bool = False,
        realtime: bool = False, name: str | None = None,
    ) -> None:
        with np.load(path, allow_pickle=False) as data:
            self.recording = {key: np.asarray(data[key]) for key in data.files}
        for key in ("time_s", "joint_positions"):
            if key not in self.recording:
                raise ValueError(f"recording {path} has no {key!r} array (has {sorted(self.recording)})")
        positions = self.recording["joint_positions"]
        times = self.recording["time_s"]
        if positions.ndim != 2 or times.shape != (positions.shape[0],) or np.any(np.diff(times) < 0):
            raise ValueError(f"recording {path}: time_s {times.shape} must be increasing and match "
                             f"joint_positions {positions.shape} (T, n)")
        desc = as_description(description) if description is not None else _description_from(
            self.recording, str(path))
        super().__init__(desc, name)
        if len(self.joint_names) != positions.shape[1]:
            raise ValueError(f"recording {path} has {positions.shape[1]} joints, description {len(self.joint_names)}")
        self.loop, self.realtime = loop, realtime
        self.time_s = float(times[0])
        self._start_wall = time.monotonic()
        self.commands: list[tuple[float, np.ndarray, float]] = []

    @property
    def duration_s(self) -> float:
        times = self.recording["time_s"]
        return float(times[-1] - times[0])

    @property
    def finished(self) -> bool:
        return not self.loop and self._playback_s() >= self.duration_s

    def read(self, with_cameras: bool = True) -> RobotState:
        rec = self.recording
        t = rec["time_s"][0] + self._playback_s()
        i = max(0, int(np.searchsorted(rec["time_s"], t, side="right")) - 1)
        q = rec["joint_positions"][i].astype(np.float64)
        zeros = np.zeros_like(q)
        return RobotState(
            joint_positions=q,
            joint_velocities=rec["joint_velocities"][i].astype(np.float64) if "joint_velocities" in rec else zeros,
            joint_efforts=rec["joint_efforts"][i].astype(np.float64) if "joint_efforts" in rec else zeros,
            ee_pose=rec["ee_pose"][i].astype(np.float64) if "ee_pose" in rec else self._ee_pose(q),
            gripper=float(rec["gripper"][i]) if "gripper" in rec else 1.0,
            time_s=float(t),
        )

    def write_joint_targets(self, joint_positions: np.ndarray, gripper: float) -> None:
        self.lifecycle.require_active("write joint targets")
        self.commands.append((self.time_s, np.array(joint_positions, dtype=np.float64), float(gripper)))

    def advance(self, dt_s: float) -> None:
        self.time_s += dt_s

    def solve_ik(self, ee_pose: np.ndarray, seed_joint_positions: np.ndarray) -> np.ndarray:
        """IK from the description's kinematics; without any, the seed (a replay ignores commands anyway)."""
        if self._chain is None:
            return np.asarray(seed_joint_positions, dtype=np.float64).copy()
        return self._chain.inverse(ee_pose, seed_joint_positions, self.limits.lower, self.limits.upper)

    def _playback_s(self) -> float:
        elapsed = (time.monotonic() - self._start_wall) if self.realtime else \
            self.time_s - float(self.recording["time_s"][0])
        return elapsed % self.duration_s if self.loop and self.duration_s > 0 else elapsed


def save_recording(path: str | Path, states: Sequence[RobotState], joint_names: Sequence[str] = ()) -> None:
    """Write states as a recording `ReplayRobot` plays back."""
    if not states:
        raise ValueError("no states to record")
    arrays: dict[str, np.ndarray] = {
        "time_s": np.array([s.time_s for s in states], dtype=np.float64),
        "joint_positions": np.stack([s.joint_positions for s in states]),
        "joint_velocities": np.stack([s.joint_velocities for s in states]),
        "joint_efforts": np.stack([s.joint_efforts for s in states]),
        "ee_pose": np.stack([s.ee_pose for s in states]),
        "gripper": np.array([s.gripper for s in states], dtype=np.float64),
    }
    if joint_names:
        arrays["joint_names"] = np.array(list(joint_names), dtype=np.str_)
    np.savez(path, **arrays)


def _description_from(recording: dict[str, np.ndarray], source: str) -> RobotDescription:
    """Limits that contain the recording (offline tests only: a real robot needs its real limits)."""
    q = recording["joint_positions"]
    n = q.shape[1]
    names = [str(v) for v in recording["joint_names"]] if "joint_names" in recording else \
        [f"joint{i + 1}" for i in range(n)]
    speed = np.abs(recording["joint_velocities"]).max(axis=0) if "joint_velocities" in recording else np.ones(n)
    joints = [{"name": names[i], "bus_id": i + 1,
               "limits": {"lower": float(q[:, i].min()) - 0.1, "upper": float(q[:, i].max()) + 0.1,
                          "velocity": float(max(speed[i] * 1.5, 0.1))}} for i in range(n)]
    return parse_description({"name": "replay", "bus": "any", "joints": joints}, source)
