"""The safety filter: every joint command passes here before any backend sees it.

It lives beside the actuators, not in a policy, so a buggy policy or a hostile
network peer cannot move the robot outside its limits. What it guarantees:

* non-finite targets are rejected (and do not feed the watchdog);
* targets are clamped to the joint position limits and rate-limited to the
  joint velocity limits (per control period), the output never leaves the
  position limits and never steps further than ``velocity * dt`` from the last
  output;
* optional acceleration limits (with braking so the joint can stop at its target);
* effort limits where the backend reports effort: a joint pushing harder than its
  limit is not commanded further in the direction it pushes;
* a soft-start ramp after torque is enabled (`start_soft_start`): the velocity
  limit grows from ``soft_start_min_scale`` to full over ``soft_start_s``;
* optional command rate limiting (commands closer together than
  ``1 / max_command_rate_hz`` are dropped);
* an end-effector workspace box with keep-out boxes (`check_workspace`), which a
  controller calls on the end-effector target before inverse kinematics;
* when no valid command arrived within ``watchdog_period_s`` the robot holds
  the position it had when the watchdog fired;
* an e-stop latch holds the robot until `reset_estop()` is called explicitly.

Every intervention is counted by kind and the latest ones are kept with the
command that caused them, so the status topic can show what safety changed.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from robot.interface import JointLimits

log = logging.getLogger(__name__)

# A filter logs the first intervention of each kind it makes; across the filters of one
# process (a data collection builds one per episode) a kind is logged at most once per
# this many seconds, with the number held back since. Counters and events keep every one.
LOG_INTERVAL_S = 10.0
_last_logged: dict[str, float] = {}
_held_back: collections.Counter[str] = collections.Counter()


def _log_intervention(kind: str, detail: str) -> None:
    now = time.monotonic()
    last = _last_logged.get(kind)
    if last is not None and now - last < LOG_INTERVAL_S:
        _held_back[kind] += 1
        return
    _last_logged[kind] = now
    more = _held_back.pop(kind, 0)
    suffix = f"; {more} more filters hit {kind} in the last {now - last:.0f} s" if more and last is not None else ""
    log.warning("safety: %s (%s)%s", kind, detail, suffix)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in the robot base frame (metres)."""

    lower: tuple[float, float, float]
    upper: tuple[float, float, float]
    name: str = ""

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if lo.shape != (3,) or hi.shape != (3,) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(
                f"box {self.name!r}: lower/upper must be 3 finite numbers, got {self.lower}, {self.upper}")
        if np.any(lo > hi):
            raise ValueError(f"box {self.name!r}: lower {self.lower} > upper {self.upper}")

    def contains(self, point: np.ndarray) -> bool:
        p = np.asarray(point, float)[:3]
        return bool(np.all(p >= self.lower) and np.all(p <= self.upper))

    def clamp(self, point: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(point, float)[:3], self.lower, self.upper)


@dataclass(frozen=True)
class SafetyConfig:
    watchdog_period_s: float = 0.1
    # Fraction of the URDF velocity limit a target may move per second.
    velocity_scale: float = 1.0
    # Per-joint acceleration limits (rad/s^2 or m/s^2); None: not limited.
    acceleration: tuple[float, ...] | None = None
    # Refuse to push further where |measured effort| exceeds JointLimits.effort (if reported).
    enforce_effort: bool = True
    # Soft start (after `start_soft_start`): velocity scale ramps from min_scale to 1 over soft_start_s.
    soft_start_s: float = 1.0
    soft_start_min_scale: float = 0.1
    # Drop commands that arrive faster than this (None: every command is used).
    max_command_rate_hz: float | None = None
    # End-effector workspace (checked by `check_workspace`); None: no box.
    workspace: Box | None = None
    keep_out: tuple[Box, ...] = ()

    def __post_init__(self) -> None:
        if not self.watchdog_period_s > 0:
            raise ValueError(f"watchdog_period_s must be > 0, got {self.watchdog_period_s}")
        if not 0 < self.velocity_scale <= 1:
            raise ValueError(f"velocity_scale must be in (0, 1], got {self.velocity_scale}")
        if self.acceleration is not None and not all(a > 0 for a in self.acceleration):
            raise ValueError(f"acceleration limits must all be > 0, got {self.acceleration}")
        if self.soft_start_s < 0 or not 0 < self.soft_start_min_scale <= 1:
            raise ValueError(
                f"soft_start_s must be >= 0 and soft_start_min_scale in (0, 1], "
                f"got {self.soft_start_s}, {self.soft_start_min_scale}"
            )
        if self.max_command_rate_hz is not None and not self.max_command_rate_hz > 0:
            raise ValueError(f"max_command_rate_hz must be > 0 or None, got {self.max_command_rate_hz}")


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
        n = len(limits.lower)
        if self.config.acceleration is not None and len(self.config.acceleration) != n:
            raise ValueError(
                f"SafetyConfig.acceleration has {len(self.config.acceleration)} entries, expected {n}")
        self.counters: collections.Counter[str] = collections.Counter()
        self.events: collections.deque[SafetyEvent] = collections.deque(maxlen=history)
        self._last_valid_s: float | None = None
        self._last_output: np.ndarray | None = None
        self._last_velocity: np.ndarray | None = None
        self._last_gripper = 1.0
        self._hold_target: np.ndarray | None = None
        self._estop_reason: str | None = None
        self._soft_start_t0: float | None = None
        self._last_accepted_s: float | None = None

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
        self._last_velocity = None
        self._hold_target = None
        self._last_valid_s = None
        self._last_accepted_s = None

    # -- soft start -----------------------------------------------------------
    def start_soft_start(self, now_s: float) -> None:
        """Call when torque is enabled: velocity limits ramp up from a small fraction over `soft_start_s`."""
        self._soft_start_t0 = now_s
        self._last_velocity = None
        self._record("soft_start", f"ramp over {self.config.soft_start_s} s", now_s)

    def soft_start_scale(self, now_s: float) -> float:
        """The current soft-start factor in [soft_start_min_scale, 1] (1 when no ramp is running)."""
        cfg = self.config
        if self._soft_start_t0 is None or cfg.soft_start_s <= 0:
            return 1.0
        progress = min(max((now_s - self._soft_start_t0) / cfg.soft_start_s, 0.0), 1.0)
        if progress >= 1.0:
            self._soft_start_t0 = None
        return cfg.soft_start_min_scale + (1.0 - cfg.soft_start_min_scale) * progress

    # -- workspace ------------------------------------------------------------
    def check_workspace(self, ee_target: np.ndarray, now_s: float = 0.0) -> np.ndarray | None:
        """The end-effector target clamped into the workspace box, or None when it must not be used.

        `ee_target` is [x y z qx qy qz qw] (only the position is checked). None is returned
        for a non-finite target or one inside a keep-out box (after clamping); the caller
        then sends no new command this cycle, and the watchdog decides what happens.
        """
        target = np.array(ee_target, dtype=np.float64)
        if target.ndim != 1 or target.shape[0] < 3 or not np.all(np.isfinite(target)):
            self._record("non_finite", f"ee_target={np.asarray(ee_target).tolist()}", now_s)
            return None
        box = self.config.workspace
        if box is not None and not box.contains(target):
            clamped = box.clamp(target)
            self._record("workspace", f"ee_target={_fmt(target[:3])} -> {_fmt(clamped)}", now_s)
            target[:3] = clamped
        for zone in self.config.keep_out:
            if zone.contains(target):
                self._record("keep_out", f"ee_target={_fmt(target[:3])} in {zone.name!r}", now_s)
                return None
        return target

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
        measured_effort: np.ndarray | None = None,
    ) -> FilteredCommand:
        """Filter one cycle's command. `target=None` means no new command arrived this cycle.

        `now_s` is the clock the watchdog uses (wall clock on a live robot, simulated
        time inside a gymnasium env); `dt_s` is the control period for rate limiting.
        `command_time_s` is when the command behind `target` arrived (default `now_s`):
        an interpolated or queued target is only as fresh as the message it came from.
        `measured_effort`, where the backend reports it, enables the effort limit.
        """
        command_s = now_s if command_time_s is None else command_time_s
        measured = np.asarray(measured, dtype=np.float64)
        interventions: list[str] = []
        if target is not None:
            target = np.asarray(target, dtype=np.float64)
            if target.shape != measured.shape:
                interventions.append(self._record(
                    "bad_shape", f"target shape {target.shape}, expected {measured.shape}", now_s))
                target = None
            elif not (np.all(np.isfinite(target)) and (gripper is None or np.isfinite(gripper))):
                interventions.append(
                    self._record("non_finite", f"target={target.tolist()} gripper={gripper}", now_s))
                target = None
            elif self._rate_limited(command_s):
                gap_s = command_s - (self._last_accepted_s or 0.0)
                interventions.append(self._record("rate_limit", f"{gap_s:.4f} s after the last", now_s))
                self._last_valid_s = command_s  # a live peer: it feeds the watchdog, but its target is dropped
                target = None

        if self.estopped:
            return self._hold(measured, "estop", interventions, now_s, record=False)
        if target is None:
            if self.watchdog_expired(now_s):
                return self._hold(measured, "watchdog", interventions, now_s)
            target = self._last_output if self._last_output is not None else measured
            gripper = self._last_gripper
        else:
            self._last_valid_s = self._last_accepted_s = command_s
            if self.watchdog_expired(now_s):
                return self._hold(measured, "watchdog", interventions, now_s)
            self._hold_target = None

        lower, upper = np.asarray(self.limits.lower, float), np.asarray(self.limits.upper, float)
        clamped = np.clip(target, lower, upper)
        if not np.array_equal(clamped, target):
            interventions.append(self._record("position_limit", f"target={_fmt(target)}", now_s))
        reference = self._last_output if self._last_output is not None else measured
        clamped = self._limit_effort(clamped, measured, measured_effort, interventions, now_s)
        limited = self._limit_motion(clamped, reference, dt_s, now_s, interventions)
        grip = float(np.clip(self._last_gripper if gripper is None else gripper, 0.0, 1.0))
        self._last_output, self._last_gripper = limited, grip
        return FilteredCommand(limited, grip, held=False, interventions=interventions)

    def _rate_limited(self, command_s: float) -> bool:
        """A new command (not the same one replayed by interpolation) too soon after the last one."""
        rate = self.config.max_command_rate_hz
        if rate is None or self._last_accepted_s is None or command_s == self._last_accepted_s:
            return False
        return command_s - self._last_accepted_s < 1.0 / rate - 1e-9

    def _limit_effort(
        self, target: np.ndarray, measured: np.ndarray, effort: np.ndarray | None,
        interventions: list[str], now_s: float,
    ) -> np.ndarray:
        """Where a joint pushes harder than its limit, do not command it further in that direction."""
        if effort is None or not self.config.enforce_effort:
            return target
        effort = np.asarray(effort, dtype=np.float64)
        if effort.shape != target.shape or not np.all(np.isfinite(effort)):
            interventions.append(self._record("bad_effort", f"measured effort {effort.tolist()}", now_s))
            return target
        limit = np.asarray(self.limits.effort, float)
        stop_at = np.clip(measured, self.limits.lower, self.limits.upper)
        over_pos, over_neg = effort > limit, effort < -limit
        out = np.where(over_pos, np.minimum(target, stop_at), target)
        out = np.where(over_neg, np.maximum(out, stop_at), out)
        if not np.array_equal(out, target):
            joints = np.flatnonzero(over_pos | over_neg).tolist()
            interventions.append(self._record(
                "effort_limit", f"joints {joints} effort={_fmt(effort)} limit={limit.tolist()}", now_s))
        return out

    def _limit_motion(
        self, target: np.ndarray, reference: np.ndarray, dt_s: float, now_s: float, interventions: list[str]
    ) -> np.ndarray:
        """Velocity- (and acceleration-) limited step from `reference` toward `target`."""
        scale = self.config.velocity_scale * self.soft_start_scale(now_s)
        max_step = np.asarray(self.limits.velocity) * scale * dt_s
        by_velocity = np.clip(target, reference - max_step, reference + max_step)
        out = by_velocity
        accel = self.config.acceleration
        if accel is not None and dt_s > 0:
            a = np.asarray(accel, float)
            v_prev = self._last_velocity if self._last_velocity is not None else np.zeros_like(reference)
            lower, upper = np.asarray(self.limits.lower, float), np.asarray(self.limits.upper, float)
            # Braking: never faster than what still lets the joint stop at its target or a limit.
            brake_to_target = np.sqrt(2.0 * a * np.abs(target - reference))
            v = np.clip((target - reference) / dt_s, -brake_to_target, brake_to_target)
            v = np.clip(v, -np.sqrt(2.0 * a * np.maximum(reference - lower, 0.0)),
                        np.sqrt(2.0 * a * np.maximum(upper - reference, 0.0)))
            v = np.clip(v, v_prev - a * dt_s, v_prev + a * dt_s)
            out = np.clip(reference + v * dt_s, reference - max_step, reference + max_step)
            # Acceleration may not carry a joint past a limit; never clamp a joint that starts outside inwards
            # by more than one velocity step (the velocity guarantee wins).
            out = np.clip(out, np.minimum(lower, reference), np.maximum(upper, reference))
            if not np.allclose(out, by_velocity, rtol=0.0, atol=1e-12):
                interventions.append(self._record("acceleration_limit", f"target={_fmt(target)}", now_s))
        if not np.array_equal(by_velocity, target):
            interventions.append(self._record("velocity_limit", f"target={_fmt(target)}", now_s))
        self._last_velocity = (out - reference) / dt_s if dt_s > 0 else np.zeros_like(reference)
        return out

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
        self._last_velocity = None
        return FilteredCommand(
            self._hold_target.copy(), self._last_gripper, held=True, interventions=interventions)

    def _record(self, kind: str, detail: str, now_s: float) -> str:
        if self.counters[kind] == 0:
            _log_intervention(kind, detail)
        self.counters[kind] += 1
        self.events.append(SafetyEvent(kind, detail, now_s))
        return kind


def _fmt(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in np.ravel(values)]
