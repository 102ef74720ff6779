"""Student against teacher on held-out seeds, in training wording and held-out paraphrases.

    python benchmarks/bench_student_success.py [--episodes 100] [--workers 2]   # every shipped student
    python benchmarks/bench_student_success.py --shipped Stack                   # one of them
    python benchmarks/bench_student_success.py --student student:runs/multi/student.pt \
        --task PickPlace,Stack --teacher 'expert:{task}' --out runs/multi/success.json   # any student

The model cards' 100-seed rows come from this; `make train` measures the first 50 seeds itself.
A shipped student (`policies.train_all.SHIPPED`) is measured against the teacher its `distill.json`
names and written to benchmarks/results/student_success_<task>.json: success rates and the ratios
the goals name, student / teacher (goal: at least 0.95) and held-out / training wording (goal: at
least 0.9).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from policies.dataset.collect import evaluate
from policies.train_all import SHIPPED

SPLITS = {"training_wording": {}, "heldout_paraphrases": {"instruction_split": "heldout"}}


def _ratio(numerator: float, denominator: float) -> float | None:
    """None where the ratio is undefined (nothing succeeded in the denominator)."""
    return numerator / denominator if denominator > 0 else None


def measure(student: str, teacher: str, task: str, seeds: range, workers: int) -> dict:
    """Success of `student` and `teacher` (may contain {task}) on each of the comma-separated `task`s."""
    tasks = [t.strip() for t in task.split(",") if t.strip()]
    results: dict = {"task": task, "student": student, "teacher": teacher, "seeds": [seeds.start, seeds.stop]}
    for name in tasks:
        prefix = "" if len(tasks) == 1 else f"{name}/"
        rate = {}
        for split, extra in SPLITS.items():
            kwargs = {"image_size": 96, **extra}
            for role, spec in (("student", student), ("teacher", teacher.replace("{task}", name))):
                # Scripted experts read privileged state only: skip their camera rendering.
                role_kwargs = {**kwargs, "cameras": ()} if spec.startswith("expert:") else kwargs
                results[f"{prefix}{split}/{role}"] = evaluate(name, spec, seeds, workers, role_kwargs)
                rate[f"{split}/{role}"] = results[f"{prefix}{split}/{role}"]["success_rate"]
        results[f"{prefix}student_over_teacher"] = {
            split: _ratio(rate[f"{split}/student"], rate[f"{split}/teacher"]) for split in SPLITS
        }
        results[f"{prefix}heldout_over_training_wording"] = _ratio(
            rate["heldout_paraphrases/student"], rate["training_wording/student"]
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipped", action="append", choices=sorted(SHIPPED), help="(repeatable) default: all")
    parser.add_argument("--student", help="any student spec instead of the shipped ones (with --task, --teacher)")
    parser.add_argument("--teacher", default="expert:{task}", help="with --student; may contain {task}")
    parser.add_argument("--task", default="PickPlace", help="with --student: one task, or several comma-separated")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=1_000_000, help="test seeds, disjoint from training")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="with --student: where to write the JSON")
    args = parser.parse_args()
    if args.student and (args.shipped or not args.out):
        parser.error("--student needs --out and excludes --shipped")

    seeds = range(args.seed_start, args.seed_start + args.episodes)
    runs = [(args.student, args.teacher, args.task, args.out)] if args.student else []
    for task in args.shipped or ([] if args.student else list(SHIPPED)):
        settings = json.loads((SHIPPED[task] / "distill.json").read_text())
        out = Path(f"benchmarks/results/student_success_{task.lower()}.json")
        runs.append((f"student:{SHIPPED[task] / 'student.pt'}", settings["teacher"], settings["task"], out))
    for student, teacher, task, out in runs:
        results = measure(student, teacher, task, seeds, args.workers)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        summary = {key: value["success_rate"] if isinstance(value, dict) and "success_rate" in value else value
                   for key, value in results.items()}  # fmt: skip
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
