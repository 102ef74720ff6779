"""Student against teacher on held-out seeds, in training wording and held-out paraphrases.

    python benchmarks/bench_student_success.py [--episodes 100] [--workers 2]

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", default="student:assets/student/student.pt")
    parser.add_argument("--teacher", default="expert:PickPlace?style=reactive")
    parser.add_argument("--task", default="PickPlace")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=1_000_000, help="test seeds, disjoint from training")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/student_success.json"))
    args = parser.parse_args()

    seeds = range(args.seed_start, args.seed_start + args.episodes)
    results: dict = {"task": args.task, "seeds": [seeds.start, seeds.stop]}
    for split, extra in SPLITS.items():
        kwargs = {"image_size": 96, **extra}
        for role, spec in (("student", args.student), ("teacher", args.teacher)):
            results[f"{split}/{role}"] = evaluate(args.task, spec, seeds, args.workers, kwargs)
    rate = {key: value["success_rate"] for key, value in results.items() if isinstance(value, dict)}
    results["student_over_teacher"] = {
        split: rate[f"{split}/student"] / max(rate[f"{split}/teacher"], 1e-9) for split in SPLITS
    }
    results["heldout_over_training_wording"] = rate["heldout_paraphrases/student"] / max(
        rate["training_wording/student"], 1e-9
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    ratios = ("student_over_teacher", "heldout_over_training_wording")
    print(json.dumps({"success": rate, **{key: results[key] for key in ratios}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
