"""`robocell compare DIR_A DIR_B`: two campaigns on the same seeds, side by side.

Episodes are paired by (task, seed), so the comparison removes the luck of the
draw: for each task it reports both success rates, the difference B - A, the
discordant pairs (solved by only one policy) and the exact McNemar p-value on
them, and the cost ratio B / A of CPU-milliseconds per success. Unpaired
episodes (seeds only one run has) are counted and left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from policies.evaluation.records import Record, read_records, write_json_atomic
from policies.evaluation.stats import mcnemar_exact
from policies.evaluation.summary import OVERALL


def compare_runs(dir_a: Path, dir_b: Path) -> dict[str, Any]:
    """{"tasks": {task: comparison}, "overall": comparison, "unpaired": {"a": n, "b": n}}."""
    runs = [_load(Path(d)) for d in (dir_a, dir_b)]
    a, b = runs
    paired = [key for key in a if key in b]
    if not paired:
        raise ValueError(f"{dir_a} and {dir_b} share no (task, seed) episodes: "
                         f"were they run with the same --seed?")
    tasks: dict[str, list[tuple[Record, Record]]] = {}
    for key in paired:
        tasks.setdefault(key[0], []).append((a[key], b[key]))
    all_pairs = [pair for pairs in tasks.values() for pair in pairs]
    return {
        "a": str(dir_a),
        "b": str(dir_b),
        "tasks": {task: compare_pairs(pairs) for task, pairs in tasks.items()},
        OVERALL: compare_pairs(all_pairs),
        "unpaired": {"a": len(a) - len(paired), "b": len(b) - len(paired)},
    }


def compare_pairs(pairs: list[tuple[Record, Record]]) -> dict[str, Any]:
    n = len(pairs)
    success_a = sum(bool(ra["success"]) for ra, _ in pairs)
    success_b = sum(bool(rb["success"]) for _, rb in pairs)
    only_a = sum(bool(ra["success"]) and not rb["success"] for ra, rb in pairs)
    only_b = sum(bool(rb["success"]) and not ra["success"] for ra, rb in pairs)
    cost_a = _cost_per_success([ra for ra, _ in pairs])
    cost_b = _cost_per_success([rb for _, rb in pairs])
    return {
        "pairs": n,
        "success_rate_a": success_a / n,
        "success_rate_b": success_b / n,
        "difference": (success_b - success_a) / n,
        "only_a": only_a,
        "only_b": only_b,
        "p_value": mcnemar_exact(only_a, only_b),
        "cpu_ms_per_success_a": cost_a,
        "cpu_ms_per_success_b": cost_b,
        "cost_ratio": cost_b / cost_a if cost_a and cost_b is not None else None,
    }


def _cost_per_success(records: list[Record]) -> float | None:
    successes = sum(bool(r["success"]) for r in records)
    cpu_values = [r["timing"].get("policy_cpu_ms") for r in records]
    return sum(cpu_values) / successes if successes and None not in cpu_values else None


def _load(directory: Path) -> dict[tuple[str, int], Record]:
    path = directory / "episodes.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: expected the output directory of `robocell eval`")
    return {(r["task"], int(r["seed"])): r for r in read_records(path)}


def format_comparison(result: dict[str, Any], alpha: float = 0.05) -> str:
    """A plain-text table, one row per task and one overall."""
    header = f"{'task':<28} {'pairs':>5} {'A':>7} {'B':>7} {'B-A':>7} {'A only':>6} {'B only':>6} " \
             f"{'p (McNemar)':>11} {'cost B/A':>8}"
    lines = [f"A = {result['a']}", f"B = {result['b']}", header, "-" * len(header)]
    for name, row in [*result["tasks"].items(), (OVERALL, result[OVERALL])]:
        mark = "*" if row["p_value"] < alpha else " "
        ratio = "-" if row["cost_ratio"] is None else f"{row['cost_ratio']:.3g}"
        lines.append(
            f"{name[-28:]:<28} {row['pairs']:>5} {100 * row['success_rate_a']:>6.1f}% "
            f"{100 * row['success_rate_b']:>6.1f}% {100 * row['difference']:>+6.1f}% "
            f"{row['only_a']:>6} {row['only_b']:>6} {row['p_value']:>10.4g}{mark} {ratio:>8}"
        )
    lines.append(f"* p < {alpha}; cost = policy CPU-ms per success; unpaired episodes: "
                 f"A {result['unpaired']['a']}, B {result['unpaired']['b']}")
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `robocell compare`."""
    parser.add_argument("dir_a", type=Path, help="output directory of the first `robocell eval`")
    parser.add_argument("dir_b", type=Path, help="output directory of the second, on the same seeds")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level to mark (default 0.05)")
    parser.add_argument("--json", type=Path, default=None, help="also write the comparison as JSON here")
    parser.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    try:
        result = compare_runs(args.dir_a, args.dir_b)
    except (ValueError, FileNotFoundError) as exc:
        print(f"robocell compare: error: {exc}", file=sys.stderr)
        return 1
    print(format_comparison(result, args.alpha))
    if args.json is not None:
        write_json_atomic(args.json, result)
    return 0


