"""Does a student know which part the instruction names? Read its auxiliary head while the teacher drives.

A student trained with `--aux-target part_pose:3` predicts the named part's position from the
same features its actions come from (images, proprio, instruction). Here the teacher drives on
held-out PickPlace seeds, so every student sees the same states; at every step until the named
part is grasped, the student's prediction "points at" the nearest part on the table. The score
is the fraction of those steps that point at the named part, apart from control: a student can
ground the instruction and still fumble the grasp, or the reverse.

    .venv/bin/python benchmarks/bench_student_grounding.py                 # the shipped student, 100 seeds
    .venv/bin/python benchmarks/bench_student_grounding.py --student runs/x/round_0.pt --student ...

Writes benchmarks/results/student_grounding.json.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch
from bench_student_failures import add_heldout_arguments

from policies.registry import load_policy
from policies.student.model import StudentNet
from policies.student.runtime import load_checkpoint
from sim.envs import ManufacturingEnv
from sim.tasks.pick_place import PickPlace


def predicted_xy(model: StudentNet, obs: dict, tokens: torch.Tensor) -> np.ndarray:
    """The student's estimate of the named part's (x, y) in metres, world frame."""
    with torch.no_grad():
        features = model.features(
            torch.from_numpy(obs["scene_rgb"][None]),
            torch.from_numpy(obs["wrist_rgb"][None]),
            torch.from_numpy(obs["proprio"][None]),
            tokens,
        )
        return model.aux_estimate(features)[0, :2].numpy()


def score(models: dict[str, StudentNet], episodes: int, seed_start: int, split: str) -> dict[str, dict]:
    teacher = load_policy("expert:PickPlace?style=reactive")
    env = ManufacturingEnv(task="PickPlace", image_size=96, instruction_split=split)
    hits = {name: [] for name in models}
    first = {name: [] for name in models}
    errors = {name: [] for name in models}
    try:
        for seed in range(seed_start, seed_start + episodes):
            obs, _ = env.reset(seed=seed)
            teacher.reset(obs["instruction"])
            task = env.sim.task
            assert isinstance(task, PickPlace)
            tokens = {name: torch.from_numpy(m.cfg.tokenize(obs["instruction"])[None])
                      for name, m in models.items()}  # fmt: skip
            step, done = 0, False
            while not (done or task.grasped()):
                parts = np.array([task.world.body_pose(p.body)[:2] for p in task.parts])  # the named part first
                for name, model in models.items():
                    xy = predicted_xy(model, obs, tokens[name])
                    nearest = int(np.argmin(np.linalg.norm(parts - xy, axis=1)))
                    hits[name].append(nearest == 0)
                    errors[name].append(float(np.linalg.norm(parts[0] - xy)))
                    if step == 0:
                        first[name].append(nearest == 0)
                obs, _, terminated, truncated, _ = env.step(teacher.act(obs))
                step, done = step + 1, terminated or truncated
    finally:
        env.close()
    return {
        name: {
            "steps": len(hits[name]),
            "points_at_named_part": float(np.mean(hits[name])),
            "points_at_named_part_first_step": float(np.mean(first[name])),
            "median_error_m": float(np.median(errors[name])),
        }
        for name in models
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", action="append", default=None,
                        help="checkpoint with an aux head (repeatable; default the shipped student)")  # fmt: skip
    add_heldout_arguments(parser, Path("benchmarks/results/student_grounding.json"))
    args = parser.parse_args()
    logging.getLogger("robot.safety").setLevel(logging.ERROR)
    torch.set_num_threads(1)

    models = {}
    for path in args.student or ["assets/student/student.pt"]:
        model, _ = load_checkpoint(Path(path))
        if not model.cfg.aux_dim:
            parser.error(f"{path} has no auxiliary head: train it with --aux-target part_pose:3")
        models[path] = model.eval()
    results = score(models, args.episodes, args.seed_start, args.instruction_split)
    for name, r in results.items():
        print(f"{name}: points at the named part on {100 * r['points_at_named_part']:.1f} % of {r['steps']} "
              f"pre-grasp steps ({100 * r['points_at_named_part_first_step']:.0f} % at the first step), "
              f"median error {100 * r['median_error_m']:.1f} cm")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "task": "PickPlace", "teacher": "expert:PickPlace?style=reactive", "instruction_split": args.instruction_split,
        "seeds": [args.seed_start, args.seed_start + args.episodes], "students": results,
    }, indent=2))  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
