"""Where a Sort student's auxiliary head puts the next part and its bin on an episode's first frame.

    python docs/experiments/sort_aux_probe.py runs/sort/round_0.pt

For training seeds (0-39) and test seeds (1,000,000-1,000,039): the median xy error of the predicted next
part (the one nearest the hand, which the experts take first), how often that prediction lies nearer the
next part than the other two (33 % is chance), and how often the predicted bin lies nearer the bin that
part belongs in than the other bin (50 % is chance; this is the rule read off the instruction and the
part's colour or shape), per rule. Needs the auxiliary target `next_part` of `sort_distill.json`.
"""

from __future__ import annotations

import sys

import numpy as np
from aux_probe import SEED_SETS, first_frame_estimates, load_student

from sim.tasks.sort import N_PARTS
from sim.world import BINS, COLOURS


def main(checkpoint: str) -> None:
    model = load_student(checkpoint)
    bins = np.array([spec.center_xy for spec in BINS.values()])
    for seeds in SEED_SETS:
        error, nearest, right_bin, rule = [], [], [], []
        for state, aux, instruction in first_frame_estimates(model, "Sort", seeds):
            parts = state["part_poses"].reshape(N_PARTS, 7)[:, :2]
            target, target_bin = state["next_part"][:2], state["next_part"][3:5]
            error.append(np.linalg.norm(aux[:2] - target))
            nearest.append(error[-1] <= np.linalg.norm(parts - aux[:2], axis=1).min() + 1e-9)
            chosen = bins[np.argmin(np.linalg.norm(bins - aux[3:5], axis=1))]
            right_bin.append(np.allclose(chosen, target_bin))
            rule.append("colour" if any(colour in instruction.split() for colour in COLOURS) else "shape")
        right_bin, rule = np.array(right_bin), np.array(rule)
        per_rule = ", ".join(f"{r} {np.mean(right_bin[rule == r]):.0%}" for r in ("colour", "shape"))
        print(f"seeds {seeds.start}-{seeds.stop - 1}: first-step aux error, next part median "
              f"{1000 * np.median(error):.0f} mm, nearest the next part in {np.mean(nearest):.0%}; "
              f"the right bin in {np.mean(right_bin):.0%} ({per_rule})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/sort/round_0.pt")
