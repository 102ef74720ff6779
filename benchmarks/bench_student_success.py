"""Student against teacher on held-out seeds, in training wording and held-out paraphrases.

    python benchmarks/bench_student_success.py [--episodes 100] [--workers 2]
    python benchmarks/bench_student_success.py --student student:runs/multi/student.pt \
        --task PickPlace,Stack --teacher 'expert:{task}'      # a multi-task student, task by task

The model card's 100-seed rows come from this; `make train` measures the first 50 seeds itself.
Writes benchmarks/results/student_success.json with success rates and the ratios the goals name:
student / teacher (goal: at least 0.95) and held-out / training wording (goal: at least 0.9).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from policies.dataset.collect import evaluate

SPLITS = {"training_wording": {}, "heldout_paraphrases": {"instruction_split": "heldout"}}


def _ratio(numerator: float, denominator: float) -> float | None:
    """None where the ratio is undefined (nothing succeeded in the denominator)."""
    return numerator / denominator if denominator > 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", default="student:assets/student/student.pt")
    parser.add_argument("--teacher", default="expert:PickPlace?style=reactive", help="may contain {task}")
    parser.add_argument("--task", default="PickPlace", help="one task, or several comma-separated")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=1_000_000, help="test seeds, disjoint from training")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/student_success.json"))
    args = parser.parse_args()

    seeds = range(args.seed_start, args.seed_start + args.episodes)
    tasks = [t.strip() for t in args.task.split(",") if t.strip()]
    results: dict = {"task": args.task, "seeds": [seeds.start, seeds.stop]}
    for task in tasks:
        prefix = "" if len(tasks) == 1 else f"{task}/"
        teacher = args.teacher.replace("{task}", task)
        rate = {}
        for split, extra in SPLITS.items():
            kwargs = {"image_size": 96, **extra}
            for role, spec in (("student", args.student), ("teacher", teacher)):
                # Scripted experts read privileged state only: skip their camera rendering.
                role_kwargs = {**kwargs, "cameras": ()} if spec.startswith("expert:") else kwargs
                results[f"{prefix}{split}/{role}"] = evaluate(task, spec, seeds, args.workers, role_kwargs)
                rate[f"{split}/{role}"] = results[f"{prefix}{split}/{role}"]["success_rate"]
        results[f"{prefix}student_over_teacher"] = {
            split: _ratio(rate[f"{split}/student"], rate[f"{split}/teacher"]) for split in SPLITS
        }
        results[f"{prefix}heldout_over_training_wording"] = _ratio(
            rate["heldout_paraphrases/student"], rate["training_wording/student"]
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    summary = {key: value["success_rate"] if isinstance(value, dict) and "success_rate" in value else value
               for key, value in results.items()}  # fmt: skip
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
