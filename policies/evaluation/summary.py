"""Aggregate episode records into `summary.json`: per task and overall.

For each group: episodes, successes, success rate with its 95% Wilson interval,
mean steps and simulated time, safety interventions, policy latency p50/p99
(merged from the episodes' histograms) and the cost of a success: CPU
milliseconds of policy compute over all episodes divided by the successes
(null when nothing succeeded: the cost is unbounded, or when it was not measured).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from policies.evaluation.records import Record
from policies.evaluation.stats import histogram_percentile, merge_histograms, wilson_interval

OVERALL = "overall"


def summarize(records: Iterable[Record], confidence: float = 0.95) -> dict[str, Any]:
    """{"tasks": {task: group}, "overall": group}; tasks in first-seen order."""
    records = list(records)
    tasks: dict[str, list[Record]] = {}
    for record in records:
        tasks.setdefault(record["task"], []).append(record)
    return {
        "confidence": confidence,
        "tasks": {task: summarize_group(group, confidence) for task, group in tasks.items()},
        OVERALL: summarize_group(records, confidence),
    }


def summarize_group(records: Sequence[Record], confidence: float = 0.95) -> dict[str, Any]:
    n = len(records)
    successes = sum(bool(r["success"]) for r in records)
    low, high = wilson_interval(successes, n, confidence)
    cpu_values = [r["timing"].get("policy_cpu_ms") for r in records]
    cpu_ms = None if None in cpu_values else sum(cpu_values)  # None: not measured (e.g. via launch)
    histogram = merge_histograms(r["timing"].get("policy_ms_hist", []) for r in records)
    sim_times = [r["sim_time_s"] for r in records if r.get("sim_time_s") is not None]
    return {
        "episodes": n,
        "successes": successes,
        "success_rate": successes / n if n else None,
        "ci_low": low,
        "ci_high": high,
        "mean_steps": _mean([r["steps"] for r in records]),
        "mean_sim_time_s": _mean(sim_times),
        "safety_interventions": sum(int(r.get("safety_interventions", 0)) for r in records),
        "policy_calls": sum(int(r.get("policy_calls") or 0) for r in records),
        "policy_cpu_ms": None if cpu_ms is None else _significant(cpu_ms),
        "cpu_ms_per_success": _significant(cpu_ms / successes) if successes and cpu_ms is not None else None,
        "policy_ms_p50": _finite(histogram_percentile(histogram, 50)),
        "policy_ms_p99": _finite(histogram_percentile(histogram, 99)),
        "mean_wall_s": _mean([r["timing"]["wall_s"] for r in records]),
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _significant(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


def _finite(value: float) -> float | None:
    return None if value != value else _significant(value, 4)  # NaN -> None
