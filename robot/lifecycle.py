"""The hardware lifecycle: which states a robot can be in and how it moves between them.

Modelled on ros2_control's hardware component lifecycle, reduced to what a robot
here needs::

    unconfigured --configure--> inactive --activate--> active
         ^                       |  ^                    |
         +-------cleanup---------+  +-----deactivate-----+
    any state --fail(reason)--> fault --reset--> inactive
    unconfigured / inactive --shutdown--> finalized

* Only ``active`` may move the robot (`require_active`).
* ``fault`` is left only by an explicit `reset()`; nothing clears it by itself.
* Every transition is logged and kept in `history`; an invalid one raises
  `LifecycleError` naming the state, the trigger and what would have been valid.
"""

from __future__ import annotations

import collections
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class LifecycleState(str, enum.Enum):
    UNCONFIGURED = "unconfigured"
    INACTIVE = "inactive"
    ACTIVE = "active"
    FAULT = "fault"
    FINALIZED = "finalized"


class LifecycleError(RuntimeError):
    """An invalid transition, or a motion request outside the ``active`` state."""


S = LifecycleState
# (from, trigger) -> to. `fail` is allowed from every state except finalized (below).
TRANSITIONS: dict[tuple[LifecycleState, str], LifecycleState] = {
    (S.UNCONFIGURED, "configure"): S.INACTIVE,
    (S.INACTIVE, "activate"): S.ACTIVE,
    (S.ACTIVE, "deactivate"): S.INACTIVE,
    (S.INACTIVE, "cleanup"): S.UNCONFIGURED,
    (S.FAULT, "reset"): S.INACTIVE,
    (S.UNCONFIGURED, "shutdown"): S.FINALIZED,
    (S.INACTIVE, "shutdown"): S.FINALIZED,
}


@dataclass(frozen=True)
class Transition:
    from_state: LifecycleState
    to_state: LifecycleState
    trigger: str
    reason: str
    time_s: float


class Lifecycle:
    """One robot's lifecycle state. Not thread-safe: drive it from the control thread."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic, history: int = 64) -> None:
        self.name = name
        self._clock = clock
        self._state = LifecycleState.UNCONFIGURED
        self.fault_reason: str | None = None
        self.history: collections.deque[Transition] = collections.deque(maxlen=history)
        self._listeners: list[Callable[[Transition], None]] = []

    @property
    def state(self) -> LifecycleState:
        return self._state

    @property
    def can_move(self) -> bool:
        return self._state is LifecycleState.ACTIVE

    def add_listener(self, callback: Callable[[Transition], None]) -> None:
        """Call `callback(transition)` after every transition (e.g. start the soft-start ramp)."""
        self._listeners.append(callback)

    def require_active(self, action: str) -> None:
        """Raise unless the robot may move; `action` says what was attempted."""
        if self._state is not LifecycleState.ACTIVE:
            detail = f" ({self.fault_reason})" if self._state is LifecycleState.FAULT else ""
            raise LifecycleError(
                f"{self.name}: cannot {action}: state is {self._state.value}{detail}; only active may move"
            )

    # -- triggers -------------------------------------------------------------
    def configure(self, reason: str = "") -> None:
        self._trigger("configure", reason)

    def activate(self, reason: str = "") -> None:
        self._trigger("activate", reason)

    def deactivate(self, reason: str = "") -> None:
        self._trigger("deactivate", reason)

    def cleanup(self, reason: str = "") -> None:
        self._trigger("cleanup", reason)

    def shutdown(self, reason: str = "") -> None:
        self._trigger("shutdown", reason)

    def reset(self, reason: str = "") -> None:
        """Leave ``fault`` for ``inactive``. The caller must have cleared the hardware fault first."""
        self._trigger("reset", reason)
        self.fault_reason = None

    def fail(self, reason: str) -> None:
        """Enter ``fault`` from any live state. A second fault keeps the first reason and is logged."""
        if self._state is LifecycleState.FINALIZED:
            raise LifecycleError(f"{self.name}: cannot fail from finalized (reason: {reason})")
        if self._state is LifecycleState.FAULT:
            log.warning("%s: further fault while in fault: %s", self.name, reason)
            return
        self.fault_reason = reason or "unspecified"
        self._move("fail", LifecycleState.FAULT, self.fault_reason)

    def _trigger(self, trigger: str, reason: str) -> None:
        target = TRANSITIONS.get((self._state, trigger))
        if target is None:
            valid = sorted(t for (s, t) in TRANSITIONS if s is self._state)
            if self._state is not LifecycleState.FINALIZED:
                valid.append("fail")
            raise LifecycleError(
                f"{self.name}: invalid transition {trigger!r} from {self._state.value}; valid: {valid}"
            )
        self._move(trigger, target, reason)

    def _move(self, trigger: str, target: LifecycleState, reason: str) -> None:
        transition = Transition(self._state, target, trigger, reason, self._clock())
        self._state = target
        self.history.append(transition)
        level = logging.ERROR if target is LifecycleState.FAULT else logging.INFO
        log.log(level, "%s: %s -> %s (%s)%s", self.name, transition.from_state.value, target.value, trigger,
                f": {reason}" if reason else "")
        for callback in self._listeners:
            callback(transition)
