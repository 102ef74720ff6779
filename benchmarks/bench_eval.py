"""Evaluation throughput: episodes per minute with 1 and 2 local workers and with Ray, in one run.

    .venv/bin/python benchmarks/bench_eval.py                       # toy env (2 ms CPU per step)
    .venv/bin/python benchmarks/bench_eval.py --policy expert:PickPlace --task PickPlace --episodes 40

Each configuration runs the same campaign (same seeds) and the records are checked
equal across configurations. Reported:

* episodes/min end to end: includes spawning pool workers and their imports,
  and Ray's task start-up on an already started local Ray (`ray.init` itself is
  timed separately: a cluster is normally already up);
* episodes/min after the first result (steady state, start-up excluded);
* scaling efficiency: rate(2 workers) / (2 x rate(1 worker)), both ways;
* Ray overhead: 1 - rate(Ray, 2 CPUs) / rate(local, 2 workers), both ways;
* CPU-seconds per episode (simulator + policy, summed over workers) and the
  workers' CPU share (CPU time / (wall time x workers)): the same work should cost
  the same CPU everywhere, so a low share means the machine, not the backend, was slow;
* a machine check: how much of two cores two busy processes actually get, since
  shared or throttled machines give less than `os.cpu_count()` suggests.

Configurations run interleaved for `--rounds` rounds and the best round of each is
reported (load from other processes only slows a round down).

Results go to benchmarks/results/eval.json. Episodes run exactly as `robocell eval`
runs them (plan, backend, durable append); only the summary and report are skipped.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies.evaluation import EpisodeLog, EvalConfig, plan_episodes, without_timing  # noqa: E402
from policies.evaluation.backends import run_episodes  # noqa: E402

TOY_PLUGIN = "tests.test_eval_fixtures"


def run_once(args: argparse.Namespace, out: Path, backend: str, workers: int) -> dict:
    """The body of `evaluate` (plan, run, append durably), timed at the first and last result."""
    config = EvalConfig(policy=args.policy, tasks=[args.task], out=out, episodes=args.episodes, seed=args.seed,
                        workers=workers, backend=backend, plugins=args.plugins, progress=False, report=False)
    jobs = plan_episodes(config)
    started = time.perf_counter()
    first = last = started
    with EpisodeLog(out / "episodes.jsonl") as log:
        for result in run_episodes(jobs, backend, workers):
            log.append(result.record)
            last = time.perf_counter()
            first = last if len(log.records) == 1 else first
        records = sorted((without_timing(r) for r in log.records), key=lambda r: r["seed"])
        cpu_s = sum(r["timing"]["cpu_s"] for r in log.records)
    n = len(jobs)
    return {
        "records": records,
        "cpu_s_per_episode": round(cpu_s / n, 4),
        "cpu_share": round(cpu_s / ((last - started) * max(workers, 1)), 3),
        "wall_s": round(last - started, 3),
        "first_result_s": round(first - started, 3),
        "episodes_per_min": round(60 * n / (last - started), 1),
        "steady_episodes_per_min": round(60 * (n - 1) / (last - first), 1) if n > 1 else None,
    }


def _spin(iterations: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i
    return time.perf_counter() - started


def machine_parallelism(iterations: int = 5_000_000) -> float:
    """How many cores' worth of pure-Python work the machine gives two processes right now (ideal: 2)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # start both workers first
        alone = pool.apply(_spin, (iterations,))
        together = max(pool.map(_spin, [iterations, iterations]))
    return 2 * alone / together


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="evaltoy:1.0")
    parser.add_argument("--task", default="robocelltest/ToyReachHeavy-v0")
    parser.add_argument("--episodes", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; the best is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plugin", action="append", dest="plugins", default=None)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "eval.json",
                        help="write the results here as JSON (default benchmarks/results/eval.json)")
    args = parser.parse_args()
    if args.plugins is None:
        args.plugins = [TOY_PLUGIN] if args.policy.startswith("evaltoy:") else []
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    print(f"{args.episodes} episodes of {args.task} with {args.policy}, best of {args.rounds} interleaved "
          f"rounds; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    parallelism = machine_parallelism()
    print(f"machine check: two busy processes get {parallelism:.2f} cores' worth of CPU (ideal 2.00)")

    configurations = [("local, 1 worker", "local", 1), ("local, 2 workers", "local", 2)]
    if not args.no_ray:
        configurations.append(("ray, 2 CPUs", "ray", 2))
    rounds: dict[str, list[dict]] = {name: [] for name, _, _ in configurations}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(args.rounds):
            for name, backend, workers in configurations:
                out = Path(tmp) / f"{round_index}_{backend}_{workers}"
                run = _run_configuration(args, out, backend, workers)
                records = run.pop("records")
                reference = records if reference is None else reference
                if records != reference:
                    raise AssertionError(f"{name}: records differ from the first configuration's")
                rounds[name].append(run)
                print(f"  round {round_index + 1} {name:<18} {run['episodes_per_min']:>7.1f} episodes/min end to "
                      f"end, {run['steady_episodes_per_min']:>7.1f} after the first result; "
                      f"{run['cpu_s_per_episode']:.3f} CPU-s/episode, workers busy {100 * run['cpu_share']:.0f}% "
                      f"of the time", flush=True)

    results = {name: _best(runs) for name, runs in rounds.items()}
    for name, best in results.items():
        init = f"; ray.init {best['ray_init_s']:.2f} s not included" if best["ray_init_s"] else ""
        print(f"{name:<18} {best['episodes_per_min']:>7.1f} episodes/min end to end, "
              f"{best['steady_episodes_per_min']:>7.1f} after the first result "
              f"(first result after {best['first_result_s']:.2f} s{init})")
    one, two = results["local, 1 worker"], results["local, 2 workers"]
    summary: dict = {"task": args.task, "policy": args.policy, "episodes": args.episodes, "rounds": rounds,
                     "best": results, "cpu_count": os.cpu_count(), "machine_parallelism": round(parallelism, 3)}
    for key, label in (("episodes_per_min", "end to end"), ("steady_episodes_per_min", "steady")):
        efficiency = two[key] / (2 * one[key])
        summary[f"scaling_efficiency_{label.replace(' ', '_')}"] = round(efficiency, 3)
        line = f"{label:>10}: scaling efficiency 1 -> 2 workers {100 * efficiency:.0f}%"
        if "ray, 2 CPUs" in results:
            overhead = 1 - results["ray, 2 CPUs"][key] / two[key]
            summary[f"ray_overhead_{label.replace(' ', '_')}"] = round(overhead, 3)
            line += f"; Ray overhead vs the local pool at 2 workers {100 * overhead:+.0f}%"
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


def _run_configuration(args: argparse.Namespace, out: Path, backend: str, workers: int) -> dict:
    init_s = 0.0
    if backend == "ray":
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - started
    try:
        return {**run_once(args, out, backend, workers), "ray_init_s": round(init_s, 3)}
    finally:
        if backend == "ray":
            ray.shutdown()


def _best(runs: list[dict]) -> dict:
    """The fastest round: other load on the machine only ever slows a round down."""
    return max(runs, key=lambda run: run["episodes_per_min"])


if __name__ == "__main__":
    sys.exit(main())
