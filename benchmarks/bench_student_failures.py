"""Why a PickPlace, Stack, Conveyor, Kitting or Insert policy fails: for every failed held-out seed, what it held.

Success rates say how often a student fails, not why. This rolls the policy out on the same
held-out seeds as `bench_student_success.py` and sorts each failed episode by what the gripper
held: the named part (then it was dropped or missed the goal), in Stack the cube it should go
on (the roles swapped), a distractor (grounding: and whether that distractor shared the target's
colour or shape), or nothing. Kitting names two parts: a failure names the first named part not
in its slot at the end, and whether it was ever held. An Insert failure with the named peg in hand says
where the peg ended (jammed tilted in the hole, in the mouth, off the hole), and every Insert episode
records how far the hand's yaw was off the peg's faces when the fingers first held it, and how the
peg met the hole when it first came down to the fixture's top (its bottom's offset from the hole's
centre, its yaw off the hole's sides, its tilt): the alignment the expert settles before it goes down.

    .venv/bin/python benchmarks/bench_student_failures.py                 # 100 seeds, one process
    .venv/bin/python benchmarks/bench_student_failures.py --policy student:runs/x/student.pt
    .venv/bin/python benchmarks/bench_student_failures.py --task Stack \
        --policy student:assets/student_stack/student.pt --out benchmarks/results/student_failures_stack.json

Writes benchmarks/results/student_failures.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from policies.dataset.rollout import first_row
from policies.registry import load_policy
from sim.envs import ManufacturingEnv
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.base import Task
from sim.tasks.conveyor import Conveyor
from sim.tasks.insert import FIXTURE_HALF_M, MAX_TILT_RAD, PEG_SHAPE, Insert
from sim.tasks.kitting import Kitting
from sim.tasks.pick_place import PickPlace, SpawnedPart
from sim.tasks.stack import Stack


def _held(task: Task, parts: list[SpawnedPart]) -> list[SpawnedPart]:
    """The parts both fingers touch now."""
    return [part for part in parts if all(task.robot.finger_contact(part.body))]


def _roles(task: Task) -> tuple[list[SpawnedPart], SpawnedPart | None, list[SpawnedPart]]:
    """The parts to move (in the instruction's order), the part they go on (Stack) or None, and the distractors."""
    if isinstance(task, (PickPlace, Conveyor)):
        return [task.target], None, [part for part in task.parts if part is not task.target]
    if isinstance(task, Stack):
        return [task.top], task.bottom, [block for block in task.blocks if block not in (task.top, task.bottom)]
    if isinstance(task, Kitting):
        return list(task.named), None, [part for part in task.parts if part not in task.named]
    if isinstance(task, Insert):
        pegs = [SpawnedPart(body, PEG_SHAPE, colour) for body, colour in zip(task.pegs, task.peg_colours, strict=True)]
        return pegs[:1], None, pegs[1:]
    raise ValueError(f"failure kinds are defined for {sorted(GRASP_YAW_FIELD)}, not {type(task).__name__}")


def _placed(task: Task, i: int) -> bool:
    """Named part `i` ended where it belongs (only Kitting names more than one)."""
    return task.placed(i) if isinstance(task, Kitting) else bool(task.success())


# the privileged field with the gripper yaw that grasps each named part (folded by the part's symmetry)
GRASP_YAW_FIELD = {"PickPlace": "grasp_yaw", "Conveyor": "grasp_yaw", "Stack": "top_grasp_yaw", "Kitting": "grasp_yaws",
                   "Insert": "grasp_yaw"}
MOUTH_BAND_M = 0.005  # a held peg whose bottom is this close above the fixture's top is at the hole's mouth
MOUTH_MEASURES = ("offset_at_mouth_mm", "yaw_off_hole_at_mouth_deg", "tilt_at_mouth_deg")
INSERT_MEASURES = ("hand_yaw_off_faces_at_grasp_deg", *MOUTH_MEASURES)


def _pose_at_mouth(fields: dict[str, np.ndarray]) -> dict[str, float] | None:
    """Insert: how the held peg meets the hole if its bottom is now at the fixture's top, over the
    fixture (else None): its bottom's xy distance from the hole's centre (mm), its yaw off the hole's
    sides (deg, folded by the square's quarter turn) and its tilt (deg)."""
    bottom, hole = fields["peg_bottom"], fields["hole_top"]
    offset = float(np.hypot(*(bottom[:2] - hole[:2])))
    if not (fields["grasped"][0] > 0.5 and bottom[2] < hole[2] + MOUTH_BAND_M and offset < FIXTURE_HALF_M):
        return None
    yaw_off = abs(wrap_angle(yaw_of(fields["peg_pose"][3:7]) - float(fields["hole_yaw"][0]), np.pi / 2))
    return {"offset_at_mouth_mm": round(offset * 1000, 1), "yaw_off_hole_at_mouth_deg": round(np.degrees(yaw_off), 1),
            "tilt_at_mouth_deg": round(float(np.degrees(fields["tilt"][0])), 1)}  # fmt: skip


def _hand_yaw_off_faces(fields: dict[str, np.ndarray], proprio: np.ndarray) -> float:
    """Insert: degrees between the hand's yaw and the yaw that closes the fingers across two faces of
    the peg, folded by the square's quarter turn (0 is the expert's grasp; 45 closes on the corners)."""
    off = wrap_angle(float(fields["grasp_yaw"][0]) - yaw_of(np.asarray(proprio[3:7])), np.pi / 2)
    return round(abs(float(np.degrees(off))), 1)


def _insert_end(task: Insert) -> str:
    """Where a held named peg ended, in a failed Insert episode."""
    if task.insertion_depth() > 0.0:
        if task.tilt() > MAX_TILT_RAD:
            return "jammed tilted in the hole"
        return "in the hole, never let go" if task.in_hole() else "in the hole's mouth, not deep enough"
    return "ended off the hole"


def diagnose(env: ManufacturingEnv, policy: Any, seed: int) -> dict[str, Any]:
    """One episode: success, and for a failure the kind of failure, how close (xy) the hand came to the
    named part, and whether the policy ever commanded the gripper shut (a hand that hovers over the
    right part without closing is a different fault from one that closes on the wrong one)."""
    obs, info = env.reset(seed=seed)
    policy.reset(obs["instruction"])
    task = env.sim.task
    targets, base, distractors = _roles(task)
    held_targets = [False] * len(targets)
    held_base = False
    held_other = None
    terminated = truncated = commanded_close = False
    closest_m, yaw_error_at_closest = np.full(len(targets), np.inf), np.full(len(targets), np.nan)
    at_mouth, at_grasp = None, None
    while not (terminated or truncated):
        action = np.asarray(policy.act(obs))
        commanded_close = commanded_close or bool(first_row(action)[-1] > 0)
        obs, _, terminated, truncated, info = env.step(action)
        fields = type(task).unpack_privileged(obs["privileged"])
        grasp_yaws = fields[GRASP_YAW_FIELD[task.name]]
        if isinstance(task, Insert) and at_mouth is None:
            at_mouth = _pose_at_mouth(fields)
        if isinstance(task, Insert) and at_grasp is None and fields["grasped"][0] > 0.5:
            at_grasp = _hand_yaw_off_faces(fields, obs["proprio"])
        for i, target in enumerate(targets):
            distance = float(np.linalg.norm(np.asarray(obs["proprio"][:2]) - task.world.body_pose(target.body)[:2]))
            if distance < closest_m[i]:
                closest_m[i] = distance
                period = min(np.pi, target.shape.yaw_symmetry_rad)  # fingers repeat every pi, parts by symmetry
                yaw_error_at_closest[i] = abs(wrap_angle(float(grasp_yaws[i]) - yaw_of(np.asarray(obs["proprio"][3:7])),
                                                         period))  # fmt: skip
            held_targets[i] = held_targets[i] or bool(_held(task, [target]))
        held_base = held_base or (base is not None and bool(_held(task, [base])))
        held_other = held_other or next(iter(_held(task, distractors)), None)
    record: dict[str, Any] = {"seed": seed, "instruction": obs["instruction"], "success": bool(info["success"]),
                              "steps": int(info["steps"])}
    if isinstance(task, Insert):
        record.update(at_mouth or dict.fromkeys(MOUTH_MEASURES), hand_yaw_off_faces_at_grasp_deg=at_grasp)
    if record["success"]:
        return record
    missed = next((i for i in range(len(targets)) if not _placed(task, i)), 0)  # the named part that failed
    target = targets[missed]
    of = f" {missed + 1} of {len(targets)}" if len(targets) > 1 else ""
    if held_targets[missed] and isinstance(task, Insert):
        kind = f"held the named peg, {_insert_end(task)}"
    elif held_targets[missed]:
        kind = f"held the named part{of}, then dropped it or missed the goal"
    elif held_base:
        kind = "held the part it should go on (roles swapped)"
    elif held_other is not None:
        same = [name for name, shared in (("colour", held_other.colour == target.colour),
                                          ("shape", held_other.shape.name == target.shape.name)) if shared]
        kind = f"held a distractor ({' and '.join(same) if same else 'neither colour nor shape'} as the named part{of})"
    else:
        kind = f"never held the named part{of}" if of else "held nothing"
    return {**record, "failure": kind, "closest_xy_to_named_part_mm": round(float(closest_m[missed]) * 1000, 1),
            "yaw_error_at_closest_deg": round(float(np.degrees(yaw_error_at_closest[missed])), 1),
            "commanded_close": commanded_close}


def _insert_measures_by_outcome(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Insert: per measure (at the grasp, at the hole's mouth), its median over the successful and over
    the failed episodes that got there."""
    out: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for measure in INSERT_MEASURES:
        out[measure] = {}
        for outcome, success in (("success", True), ("failure", False)):
            values = [r[measure] for r in records if r["success"] == success and r[measure] is not None]
            out[measure][outcome] = {"episodes": len(values),
                                     "median": round(float(np.median(values)), 1) if values else None}  # fmt: skip
    return out


def add_heldout_arguments(parser: argparse.ArgumentParser, out: Path) -> None:
    """The held-out seeds and wording these diagnostics share, and where results go."""
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=1_000_000, help="test seeds, disjoint from training")
    parser.add_argument("--instruction-split", default="train", choices=("train", "heldout"))
    parser.add_argument("--out", type=Path, default=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="student:assets/student/student.pt")
    parser.add_argument("--task", default="PickPlace", choices=sorted(GRASP_YAW_FIELD))
    add_heldout_arguments(parser, Path("benchmarks/results/student_failures.json"))
    args = parser.parse_args()
    logging.getLogger("robot.safety").setLevel(logging.ERROR)

    policy = load_policy(args.policy)
    env = ManufacturingEnv(task=args.task, instruction_split=args.instruction_split)
    try:
        records = [diagnose(env, policy, seed) for seed in range(args.seed_start, args.seed_start + args.episodes)]
    finally:
        env.close()
    failures = [r for r in records if not r["success"]]
    kinds = collections.Counter(r["failure"] for r in failures)
    print(f"{args.policy}: {len(records) - len(failures)}/{len(records)} succeeded; failures by kind:")
    for kind, n in kinds.most_common():
        of_kind = [r for r in failures if r["failure"] == kind]
        never = sum(not r["commanded_close"] for r in of_kind)
        closest = max(r["closest_xy_to_named_part_mm"] for r in of_kind)
        yaw = np.median([r["yaw_error_at_closest_deg"] for r in of_kind])
        print(f"  {n:3d}  {kind} ({never} never commanded a close; hand within {closest} mm of the named part in all;"
              f" median yaw error there {yaw:.0f} deg)")
    summary: dict[str, Any] = {
        "policy": args.policy, "task": args.task, "instruction_split": args.instruction_split,
        "seeds": [args.seed_start, args.seed_start + args.episodes], "success_rate": 1 - len(failures) / len(records),
        "failure_kinds": dict(kinds),
    }
    if args.task == "Insert":
        summary["insert_measures"] = mouth = _insert_measures_by_outcome(records)
        for measure, by_outcome in mouth.items():
            print(f"  {measure}, median (episodes that got there): {by_outcome}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**summary, "failures": failures}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
