"""How much the env-speed ratio against panda-gym moves from run to run on this machine.

`bench_sim.py` reports one median of alternating rounds; on a shared 2-core machine that median
itself varies. This repeats only that comparison (same rounds, same steps) and reports the
spread of the medians, so a single number is not read as more precise than it is.

    .venv/bin/python benchmarks/bench_sim_repeats.py                 # 10 repeats, about 4 min
    .venv/bin/python benchmarks/bench_sim_repeats.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import numpy as np
from bench_sim import bench_against_panda_gym


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--size", type=int, default=96, help="image size in pixels")
    parser.add_argument("--env-steps", type=int, default=300, help="our env steps per round")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per repeat")
    parser.add_argument("--out", default="benchmarks/results/sim_repeats.json")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    logging.getLogger("robot.safety").setLevel(logging.ERROR)  # random actions hit the limits often

    medians = []
    for i in range(args.repeats):
        result = bench_against_panda_gym(args.size, args.env_steps, args.rounds)
        if result is None:
            raise SystemExit("panda-gym is not installed: pip install -e '.[bench]'")
        medians.append(result["ratio_median"])
        print(f"  repeat {i + 1}/{args.repeats}: median {result['ratio_median']:.2f}x "
              f"(rounds {min(result['ratio_per_round']):.2f}x to {max(result['ratio_per_round']):.2f}x)", flush=True)
    at_goal = sum(m >= 10.0 for m in medians)
    print(f"\nmedian of {args.rounds} rounds, {args.repeats} repeats: {min(medians):.2f}x to {max(medians):.2f}x, "
          f"mean {np.mean(medians):.2f}x; at or above the 10x goal in {at_goal} of {args.repeats}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "image_size": args.size, "rounds": args.rounds, "our_steps_per_round": args.env_steps,
        "medians": medians, "mean_of_medians": float(np.mean(medians)), "at_or_above_10x": at_goal,
        "load_average_1min": os.getloadavg()[0],
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
