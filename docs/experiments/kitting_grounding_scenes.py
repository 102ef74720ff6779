"""Does a Kitting student's auxiliary head find the named parts in new scenes when it sees more scenes?

    python docs/experiments/kitting_grounding_scenes.py [--scenes 1000,8000] [--steps 6000] [--out OUT.json]
        [--clip-grad 1.0] [--normalisation-from CHECKPOINT]

The distilled Kitting students locate the named parts on training scenes but not on new ones
(`docs/experiments/README.md`). Demonstrations cost an episode a scene; the auxiliary target costs
only a reset and a rendered frame. This trains a fresh student (the `kitting_distill.json` network)
on the auxiliary loss alone, from the first frames of the first N training seeds, for the same
number of gradient steps whatever N, and reads off its predictions on training seeds and on test
seeds 1,000,000 onwards: the median xy error for each named part, and how often the prediction
for the first named part lies nearer it than the second (0.5 is chance). `--clip-grad` and
`--normalisation-from` (take the proprioception and auxiliary-target mean and spread from a
distilled checkpoint, i.e. from its demos) bring it closer to `robocell distill`'s grounding epochs.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch
from tqdm import tqdm

from policies.dataset.arrays import Samples
from policies.dataset.scenes import first_frames
from policies.distill import _shift, privileged_columns
from policies.student.model import StudentConfig, StudentNet
from policies.student.runtime import load_checkpoint

AUX_TARGET = "0:3,7:10,24:26,28:30"  # kitting_distill.json's: both named parts' poses, then the slots
TEST_SEED_START = 1_000_000
CAMERAS = ("scene_rgb", "wrist_rgb")


def render(seeds: range) -> Samples:
    """First frames and auxiliary targets for `seeds` (what `--grounding-scenes` adds to a distillation)."""
    columns = privileged_columns("Kitting", AUX_TARGET)
    return first_frames("Kitting", seeds, CAMERAS, 96, columns, chunk=4, action_dim=7, env_kwargs={"image_size": 96})


def train(data: Samples, n: int, steps: int, seed: int = 0, clip_grad: float = 0.0,
          normalisation: StudentNet | None = None) -> StudentNet:
    """A fresh student trained on the auxiliary loss alone, on the first `n` scenes of `data`."""
    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    model = StudentNet(StudentConfig(film="all", aux_dim=data.aux.shape[1]))
    model.proprio_mean.copy_(torch.from_numpy(data.proprio[:n].mean(0)))
    model.proprio_std.copy_(torch.from_numpy(data.proprio[:n].std(0)).clamp(min=1e-2))
    model.aux_mean.copy_(torch.from_numpy(data.aux[:n].mean(0)))
    model.aux_std.copy_(torch.from_numpy(data.aux[:n].std(0)).clamp(min=1e-3))
    if normalisation is not None:
        for name in ("proprio_mean", "proprio_std", "aux_mean", "aux_std"):
            getattr(model, name).copy_(getattr(normalisation, name))
    tokens = _tokens(model, data, slice(0, n))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=5e-5)
    model.train()
    bar = tqdm(range(steps), desc=f"train n={n}", unit="step", mininterval=5)
    for _ in bar:
        idx = np.sort(gen.choice(n, min(64, n), replace=False))
        batch_tokens = tokens[idx] * torch.from_numpy(gen.random(tokens[idx].shape) >= 0.1)
        features = model.features(
            _shift(data.scene[idx], 4, gen),
            _shift(data.wrist[idx], 4, gen),
            torch.from_numpy(data.proprio[idx]),
            batch_tokens,
        )
        target = (torch.from_numpy(data.aux[idx]) - model.aux_mean) / model.aux_std
        loss = ((model.aux(features) - target) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    model.eval()
    return model


def probe(model: StudentNet, data: Samples, rows: slice) -> dict[str, float]:
    """Median xy errors (mm) and the nearer-first rate of `model`'s predictions on `data[rows]`."""
    tokens = _tokens(model, data, rows)
    with torch.no_grad():
        features = model.features(
            torch.from_numpy(data.scene[rows]),
            torch.from_numpy(data.wrist[rows]),
            torch.from_numpy(data.proprio[rows]),
            tokens,
        )
        pred = model.aux_estimate(features).numpy()
    truth = data.aux[rows]
    first, second = truth[:, 0:2], truth[:, 3:5]
    to_first = np.linalg.norm(pred[:, 0:2] - first, axis=1)
    return {
        "first_part_error_mm": round(float(np.median(to_first)) * 1000, 1),
        "second_part_error_mm": round(float(np.median(np.linalg.norm(pred[:, 3:5] - second, axis=1))) * 1000, 1),
        "nearer_first": round(float(np.mean(to_first < np.linalg.norm(pred[:, 0:2] - second, axis=1))), 3),
    }


def _tokens(model: StudentNet, data: Samples, rows: slice) -> torch.Tensor:
    return torch.from_numpy(np.stack([model.cfg.tokenize(data.instructions[i]) for i in data.instruction_ids[rows]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", default="1000,8000", help="training scene counts to compare")
    parser.add_argument("--steps", type=int, default=6000, help="gradient steps (batch 64) for every count")
    parser.add_argument("--test-scenes", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="")
    parser.add_argument("--clip-grad", type=float, default=0.0, help="gradient norm clip (distill: 1.0)")
    parser.add_argument("--normalisation-from", default="", help="a checkpoint whose normalisation to use")
    args = parser.parse_args()
    logging.getLogger("robot.safety").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    counts = sorted(int(c) for c in args.scenes.split(","))
    start = time.perf_counter()
    data = render(range(0, counts[-1]))
    test = render(range(TEST_SEED_START, TEST_SEED_START + args.test_scenes))
    results: dict = {"steps": args.steps, "test_scenes": args.test_scenes, "render_seconds": 0.0, "runs": {},
                     "clip_grad": args.clip_grad, "normalisation_from": args.normalisation_from}
    results["render_seconds"] = round(time.perf_counter() - start, 1)
    reference = load_checkpoint(args.normalisation_from)[0] if args.normalisation_from else None
    for n in counts:
        began = time.perf_counter()
        model = train(data, n, args.steps, clip_grad=args.clip_grad, normalisation=reference)
        results["runs"][str(n)] = {
            "train_seconds": round(time.perf_counter() - began, 1),
            "training_scenes": probe(model, data, slice(0, min(n, args.test_scenes))),
            "test_scenes": probe(model, test, slice(None)),
        }
        print(n, json.dumps(results["runs"][str(n)]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
