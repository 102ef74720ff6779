"""The safety filter: every joint command passes here before any backend sees it.

It lives beside the actuators, not in a policy, so a buggy policy or a hostile
network peer cannot move the robot outside its limits. What it guarantees:

* non-finite targets are rejected (and do not feed the watchdog);
* targets are clamped to the joint position limits and rate-limited to the
  joint velocity limits (per control period);
* when no valid command arrived within ``watchdog_period_s`` the robot holds
  the position it had when the watchdog fired;
* an e-stop latch holds the robot until `reset_estop()` is called explicitly.

Every intervention is counted by kind and the latest ones are kept with the
command that caused them, so the status topic can show what safety changed.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field

import numpy as np

from robot.interface import JointLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SafetyConfig:
    watchdog_period_s: float = 0.1
    # Fraction of the URDF velocity limit a target may move per second.
    velocity_scale: float = 1.0


@dataclass
class SafetyEvent:
    kind: str  # "non_finite", "position_limit", "velocity_limit", "watchdog", "estop", ...
    detail: str
    time_s: float


@dataclass
class FilteredCommand:
    """What the filter let through: the targets actually sent, and why they differ."""

    joint_positions: np.ndarray
    gripper: float
    held: bool
    interventions: list[str] = field(default_factory=list)


class SafetyFilter:
    """Clamps, rate-limits, rejects and holds; see the module docstring for the contract."""

    def __init__(self, limits: JointLimits, config: SafetyConfig | None = None, history: int = 32) -> None:
        self.limits = limits
        self.config = config or SafetyConfig()
        self.counters: collections.Counter[str] = collections.Counter()
        self.events: collections.deque[SafetyEvent] = collections.deque(maxlen=history)
        self._last_valid_s: float | None = None
        self._last_output: np.ndarray | None = None
        self._last_gripper = 1.0
        self._hold_target: np.ndarray | None = None
        self._estop_reason: str | None = None

    # -- e-stop latch -------------------------------------------------------
    @property
    def estopped(self) -> bool:
        return self._estop_reason is not None

    def engage_estop(self, reason: str, now_s: float = 0.0) -> None:
        """Latch the e-stop. Only `reset_estop()` clears it."""
        if self._estop_reason is None:
            self._estop_reason = reason or "unspecified"
            self._record("estop", f"engaged: {self._estop_reason}", now_s)

    def reset_estop(self, now_s: float = 0.0) -> None:
        """Clear the latch. The robot stays held until a fresh valid command arrives."""
        if self._estop_reason is not None:
            self._record("estop_reset", f"cleared (was: {self._estop_reason})", now_s)
        self._estop_reason = None
        self._last_valid_s = None

    def reset_reference(self) -> None:
        """Forget the last output (the world was reset, e.g. a new sim episode); keeps the e-stop latch."""
        self._last_output = None
        self._hold_target = None
        self._last_valid_s = None

    # -- the filter ---------------------------------------------------------
    def watchdog_expired(self, now_s: float) -> bool:
        return self._last_valid_s is None or now_s - self._last_valid_s > self.config.watchdog_period_s

    def filter(
        self,
        target: np.ndarray | None,
        gripper: float | None,
        measured: np.ndarray,
        now_s: float,
        dt_s: float,
        command_time_s: float | None = None,
    ) -> FilteredCommand:
        """Filter one cycle's command. `target=None` means no new command arrived this cycle.

        `now_s` is the clock the watchdog uses (wall clock on a live robot, simulated
        time inside a gymnasium env); `dt_s` is the control period for rate limiting.
        `command_time_s` is when the command behind `target` arrived (default `now_s`):
        an interpolated or queued target is only as fresh as the message it came from.
        """
        measured = np.asarray(measured, dtype=np.float64)
        interventions: list[str] = []
        if target is not None:
            target = np.asarray(target, dtype=np.float64)
            if target.shape != measured.shape:
                interventions.append(self._record(
                    "bad_shape", f"target shape {target.shape}, expected {measured.shape}", now_s))
                target = None
            elif not (np.all(np.isfinite(target)) and (gripper is None or np.isfinite(gripper))):
                interventions.append(self._record("non_finite", f"target={target.tolist()} gripper={gripper}", now_s))
                target = None

        if self.estopped:
            return self._hold(measured, "estop", interventions, now_s, record=False)
        if target is None:
            if self.watchdog_expired(now_s):
                return self._hold(measured, "watchdog", interventions, now_s)
            target = self._last_output if self._last_output is not None else measured
            gripper = self._last_gripper
        else:
            self._last_valid_s = now_s if command_time_s is None else command_time_s
            if self.watchdog_expired(now_s):
                return self._hold(measured, "watchdog", interventions, now_s)
            self._hold_target = None

        clamped = np.clip(target, self.limits.lower, self.limits.upper)
        if not np.array_equal(clamped, target):
            interventions.append(self._record("position_limit", f"target={np.round(target, 4).tolist()}", now_s))
        reference = self._last_output if self._last_output is not None else measured
        max_step = np.asarray(self.limits.velocity) * self.config.velocity_scale * dt_s
        limited = np.clip(clamped, reference - max_step, reference + max_step)
        if not np.array_equal(limited, clamped):
            interventions.append(self._record("velocity_limit", f"target={np.round(clamped, 4).tolist()}", now_s))
        grip = float(np.clip(self._last_gripper if gripper is None else gripper, 0.0, 1.0))
        self._last_output, self._last_gripper = limited, grip
        return FilteredCommand(limited, grip, held=False, interventions=interventions)

    def _hold(
        self, measured: np.ndarray, kind: str, interventions: list[str], now_s: float, record: bool = True
    ) -> FilteredCommand:
        if self._hold_target is None:
            self._hold_target = measured.copy()
            if record:
                self._record(kind, "no valid command within watchdog period; holding", now_s)
        elif kind == "estop":
            self.counters["estop_hold_cycles"] += 1
        interventions.append(kind)
        self._last_output = self._hold_target
        return FilteredCommand(self._hold_target.copy(), self._last_gripper, held=True, interventions=interventions)

    def _record(self, kind: str, detail: str, now_s: float) -> str:
        if self.counters[kind] == 0:
            log.warning("safety: %s (%s)", kind, detail)
        self.counters[kind] += 1
        self.events.append(SafetyEvent(kind, detail, now_s))
        return kind
