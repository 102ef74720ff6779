"""A student's auxiliary estimate on the first frame of each episode: the probes beside this file use it.

They are run as scripts (``python docs/experiments/kitting_aux_probe.py CKPT``), so this directory is on
the path and they import it as ``aux_probe``.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from policies.student.model import StudentNet
from policies.student.runtime import load_checkpoint
from sim.envs import ManufacturingEnv
from sim.tasks import TASKS

SEED_SETS = (range(0, 40), range(1_000_000, 1_000_040))  # training seeds, then test seeds


def load_student(checkpoint: str) -> StudentNet:
    logging.getLogger("robot.safety").setLevel(logging.ERROR)
    model, _ = load_checkpoint(checkpoint)
    return model.eval()


def first_frame_estimates(
    model: StudentNet, task: str, seeds: range
) -> list[tuple[dict[str, np.ndarray], np.ndarray, str]]:
    """(privileged state unpacked, auxiliary estimate in the target's units, instruction) per seed."""
    env = ManufacturingEnv(task=task, image_size=96)
    rows = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        rows.append((TASKS[task].unpack_privileged(obs["privileged"]), aux_estimate(model, obs), obs["instruction"]))
    env.close()
    return rows


def aux_estimate(model: StudentNet, obs: dict) -> np.ndarray:
    """The auxiliary head's estimate for one observation, in the target's units."""
    tokens = torch.from_numpy(model.cfg.tokenize(obs["instruction"])[None])
    with torch.no_grad():
        inputs = (torch.from_numpy(obs[key][None]) for key in ("scene_rgb", "wrist_rgb", "proprio"))
        return model.aux_estimate(model.features(*inputs, tokens))[0].numpy()
