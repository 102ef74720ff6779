"""One cycle timer for every loop, and the statistics of how well it kept time."""

from __future__ import annotations

import time

import numpy as np

# Sleep until this close to the deadline, then spin: time.sleep overshoots by ~50-100 us.
_SPIN_S = 0.0004


class Rate:
    """Paces a loop at `hz` against absolute deadlines, so errors do not accumulate.

    A cycle that starts after its deadline has passed by a whole period is a
    *missed cycle*: it is counted, and the schedule restarts from now instead of
    bursting to catch up.
    """

    def __init__(self, hz: float, spin: bool = True) -> None:
        if hz <= 0:
            raise ValueError(f"rate must be positive, got {hz} Hz")
        self.period_s = 1.0 / hz
        self.spin = spin
        self.missed_cycles = 0
        self._next = time.perf_counter() + self.period_s
        self.errors = PeriodStats()

    def sleep(self) -> None:
        """Wait for the next deadline and record how late this wake-up was."""
        deadline = self._next
        now = time.perf_counter()
        if now - deadline > self.period_s:
            self.missed_cycles += 1
            self.errors.add(now - deadline)
            self._next = now + self.period_s
            return
        remaining = deadline - now - (_SPIN_S if self.spin else 0.0)
        if remaining > 0:
            time.sleep(remaining)
        if self.spin:
            while time.perf_counter() < deadline:
                pass
        self.errors.add(time.perf_counter() - deadline)
        self._next = deadline + self.period_s


class PeriodStats:
    """A bounded reservoir of samples (seconds) with percentiles in milliseconds."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._samples = np.zeros(capacity)
        self._count = 0

    def add(self, value_s: float) -> None:
        self._samples[self._count % len(self._samples)] = value_s
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def summary_ms(self) -> dict[str, float]:
        n = min(self._count, len(self._samples))
        if n == 0:
            return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
        data = np.abs(self._samples[:n]) * 1e3
        p50, p99 = np.percentile(data, [50, 99])
        return {"n": self._count, "p50": float(p50), "p99": float(p99), "max": float(data.max())}
