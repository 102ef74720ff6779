"""Where an Insert student's auxiliary head puts the named peg and the hole on an episode's first frame.

    python docs/experiments/insert_aux_probe.py runs/student_insert/round_0.pt

For training seeds (0-39) and test seeds (1,000,000-1,000,039): the median xy error of the predicted
peg and hole positions, and how often the predicted peg lies nearer the named peg than every distractor
(with one or two distractors, chance is 33-50 %). Needs the auxiliary target of `insert_distill.json`
(`peg_pose:3,grasp_yaw,hole_top:3,hole_yaw`: the peg's position first, the hole's at columns 4-6).
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import torch

from policies.student.runtime import load_checkpoint
from sim.envs import ManufacturingEnv
from sim.tasks.insert import Insert

HOLE_COLUMNS = slice(4, 6)


def main(checkpoint: str) -> None:
    logging.getLogger("robot.safety").setLevel(logging.ERROR)
    model, _ = load_checkpoint(checkpoint)
    model.eval()
    for seeds in (range(0, 40), range(1_000_000, 1_000_040)):
        env = ManufacturingEnv(task="Insert", image_size=96)
        peg_error, hole_error, nearest = [], [], []
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            state = Insert.unpack_privileged(obs["privileged"])
            tokens = torch.from_numpy(model.cfg.tokenize(obs["instruction"])[None])
            with torch.no_grad():
                inputs = (torch.from_numpy(obs[key][None]) for key in ("scene_rgb", "wrist_rgb", "proprio"))
                aux = model.aux_estimate(model.features(*inputs, tokens))[0].numpy()
            peg = state["peg_pose"][:2]
            distractors = state["distractor_positions"].reshape(-1, 3)[state["distractor_mask"] > 0.5, :2]
            peg_error.append(np.linalg.norm(aux[:2] - peg))
            hole_error.append(np.linalg.norm(aux[HOLE_COLUMNS] - state["hole_top"][:2]))
            nearest.append(peg_error[-1] < np.linalg.norm(distractors - aux[:2], axis=1).min())
        env.close()
        print(f"seeds {seeds.start}-{seeds.stop - 1}: first-step aux error, named peg median "
              f"{1000 * np.median(peg_error):.0f} mm, hole {1000 * np.median(hole_error):.0f} mm; the predicted peg "
              f"nearest the named peg in {np.mean(nearest):.0%}")


if __name__ == "__main__":
    main(sys.argv[1])
