"""Where an Insert student's auxiliary head puts the named peg and the hole on an episode's first frame.

    python docs/experiments/insert_aux_probe.py runs/student_insert/round_0.pt

For training seeds (0-39) and test seeds (1,000,000-1,000,039): the median xy error of the predicted
peg and hole positions, and how often the predicted peg lies nearer the named peg than every distractor
(with one or two distractors, chance is 33-50 %). Needs the auxiliary target of `insert_distill.json`
(`peg_pose:3,grasp_yaw,hole_top:3,hole_yaw`: the peg's position first, the hole's at columns 4-6).
"""

from __future__ import annotations

import sys

import numpy as np
from aux_probe import SEED_SETS, first_frame_estimates, load_student

HOLE_COLUMNS = slice(4, 6)


def main(checkpoint: str) -> None:
    model = load_student(checkpoint)
    for seeds in SEED_SETS:
        peg_error, hole_error, nearest = [], [], []
        for state, aux, _ in first_frame_estimates(model, "Insert", seeds):
            peg = state["peg_pose"][:2]
            distractors = state["distractor_positions"].reshape(-1, 3)[state["distractor_mask"] > 0.5, :2]
            peg_error.append(np.linalg.norm(aux[:2] - peg))
            hole_error.append(np.linalg.norm(aux[HOLE_COLUMNS] - state["hole_top"][:2]))
            nearest.append(peg_error[-1] < np.linalg.norm(distractors - aux[:2], axis=1).min())
        print(f"seeds {seeds.start}-{seeds.stop - 1}: first-step aux error, named peg median "
              f"{1000 * np.median(peg_error):.0f} mm, hole {1000 * np.median(hole_error):.0f} mm; the predicted peg "
              f"nearest the named peg in {np.mean(nearest):.0%}")


if __name__ == "__main__":
    main(sys.argv[1])
