"""Does an Insert student fail where the expert's turns are large?

    python docs/experiments/insert_yaw_probe.py docs/experiments/insert_failures.json

Reads a `bench_student_failures.py --task Insert` result and, for each of its seeds, the two turns the
expert makes, folded by the square's quarter turn into 0-45 degrees: from the hand's start to the
grasp (the grasp yaw less the hand's yaw on the first frame) and from the grasp to the hole (the
hole's yaw less the grasp yaw); it prints the student's successes per band of each. If averaging the
two ways round a square near 45 degrees were the fault, the last band would fail most.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np

from sim.envs import ManufacturingEnv
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.insert import Insert

BANDS_DEG = ((0, 15), (15, 30), (30, 45))


def _folded_deg(angle: float) -> float:
    return abs(float(np.degrees(wrap_angle(angle, np.pi / 2))))


def required_turns_deg(seeds: range) -> dict[str, dict[int, float]]:
    """Turn name -> seed -> degrees in [0, 45], from each reset's privileged state and proprioception."""
    env = ManufacturingEnv(task="Insert")
    turns: dict[str, dict[int, float]] = {"start to grasp": {}, "grasp to hole": {}}
    try:
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            fields = Insert.unpack_privileged(obs["privileged"])
            grasp = float(fields["grasp_yaw"][0])
            turns["start to grasp"][seed] = _folded_deg(grasp - yaw_of(np.asarray(obs["proprio"][3:7])))
            turns["grasp to hole"][seed] = _folded_deg(float(fields["hole_yaw"][0]) - grasp)
    finally:
        env.close()
    return turns


def main(result_path: str) -> None:
    logging.getLogger("robot.safety").setLevel(logging.ERROR)
    result = json.loads(Path(result_path).read_text())
    failed = {r["seed"] for r in result["failures"]}
    for name, turns in required_turns_deg(range(*result["seeds"])).items():
        for low, high in BANDS_DEG:
            seeds = [s for s, turn in turns.items() if low <= turn < high or (high == 45 and turn == 45)]
            print(f"{name}, turn {low}-{high} deg: {sum(s not in failed for s in seeds)}/{len(seeds)} succeeded")


if __name__ == "__main__":
    main(sys.argv[1])
