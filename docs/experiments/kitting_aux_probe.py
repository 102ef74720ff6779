"""Where a Kitting student's auxiliary head puts the two named parts on an episode's first frame.

    python docs/experiments/kitting_aux_probe.py [runs/student_kitting/round_0.pt]

For training seeds (0-39) and test seeds (1,000,000-1,000,039): the median xy error of the predicted
positions of the first and second named part, and how often the first prediction lies nearer the first
named part than the second (0.5 is chance). Needs the auxiliary target `0:3,7:10,...` of
`kitting_distill.json` (the two named parts' positions first).
"""

from __future__ import annotations

import sys

import numpy as np
from aux_probe import SEED_SETS, first_frame_estimates, load_student


def main(checkpoint: str) -> None:
    model = load_student(checkpoint)
    for seeds in SEED_SETS:
        error_a, error_b, nearer_a, apart = [], [], [], []
        for state, aux, _ in first_frame_estimates(model, "Kitting", seeds):
            a, b = state["part_poses"][:2], state["part_poses"][7:9]
            error_a.append(np.linalg.norm(aux[:2] - a))
            error_b.append(np.linalg.norm(aux[3:5] - b))
            nearer_a.append(np.linalg.norm(aux[:2] - a) < np.linalg.norm(aux[:2] - b))
            apart.append(np.linalg.norm(a - b))
        print(f"seeds {seeds.start}-{seeds.stop - 1}: first-step aux error, first named part median "
              f"{1000 * np.median(error_a):.0f} mm, second {1000 * np.median(error_b):.0f} mm; the first prediction "
              f"nearer the first part than the second in {np.mean(nearer_a):.0%}; the parts a median "
              f"{1000 * np.median(apart):.0f} mm apart")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/student_kitting/round_0.pt")
