"""Student benchmark: size, compute and one-core latency of every saved form, and how far they disagree.

    .venv/bin/python benchmarks/bench_student.py                       # the shipped assets/student/student.pt
    .venv/bin/python benchmarks/bench_student.py --checkpoint runs/x/round_3.pt --iters 2000

For each form (checkpoint, TorchScript, ONNX, int8 TorchScript) it times `Policy.act` on a
full observation (two 96x96 cameras, proprio; the instruction is tokenised at `reset`), batch
1, one intra-op thread, with the process pinned to one CPU core. It reports p50/p90/p99 in
milliseconds, the parameter count, multiply-accumulates per step, file size, and the largest
absolute action difference from the float checkpoint over random observations.
Writes JSON to `--out` (default benchmarks/results/student.json) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from policies.export import dataset_observations, export_student, max_action_difference  # noqa: E402
from policies.student.model import StudentConfig, StudentNet, count_macs, example_inputs  # noqa: E402
from policies.student.runtime import load_checkpoint, load_student, save_checkpoint  # noqa: E402

DEFAULT_CHECKPOINT = Path("assets/student/student.pt")


def time_policy(path: Path, iters: int, seed: int = 0) -> dict[str, float]:
    policy = load_student(str(path), threads=1)
    rng = np.random.default_rng(seed)
    size = policy.cfg.image_size
    obs = {key: rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for key in policy.cfg.cameras}
    obs["proprio"] = rng.normal(size=policy.cfg.proprio_dim).astype(np.float32)
    policy.reset("pick the red cube and place it in the left bin")
    for _ in range(max(iters // 10, 20)):
        policy.act(obs)
    times = np.empty(iters)
    for i in range(iters):
        start = time.perf_counter()
        policy.act(obs)
        times[i] = time.perf_counter() - start
    ms = times * 1e3
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--core", type=int, default=0, help="CPU core to pin to (-1: do not pin)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/student.json"))
    parser.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="also compare forms on observations from this dataset (e.g. runs/.../demos)",
    )
    args = parser.parse_args()
    if args.core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if not checkpoint.exists():
            print(f"{checkpoint} not found: benchmarking an untrained student of the default size")
            checkpoint = Path(tmp) / "student.pt"
            save_checkpoint(checkpoint, StudentNet(StudentConfig()).eval())
        model, _ = load_checkpoint(checkpoint)
        real = dataset_observations(args.dataset) if args.dataset else None
        forms = {"checkpoint": checkpoint, **export_student(checkpoint, Path(tmp) / "exports")}
        report = {
            "checkpoint": str(args.checkpoint),
            "parameters": sum(p.numel() for p in model.parameters()),
            "macs": count_macs(model, example_inputs(model.cfg)),
            "image_size": model.cfg.image_size,
            "cameras": list(model.cfg.cameras),
            "chunk": model.cfg.chunk,
            "torch": torch.__version__,
            "forms": {},
        }
        for name, path in forms.items():
            entry = {
                "file": path.name,
                "kilobytes": round(path.stat().st_size / 1e3, 1),
                **time_policy(path, args.iters),
            }
            entry["max_abs_action_diff_vs_checkpoint"] = (
                0.0 if name == "checkpoint" else max_action_difference(checkpoint, path, samples=64)
            )
            if real is not None:
                entry["max_abs_action_diff_on_dataset"] = (
                    0.0 if name == "checkpoint" else max_action_difference(checkpoint, path, real)
                )
            report["forms"][name] = entry

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"parameters {report['parameters']:,}   MACs/step {report['macs']:,}   "
        f"input 2 x {report['image_size']}x{report['image_size']} + proprio + instruction"
    )
    print(
        f"{'form':<11}{'file':<18}{'kB':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
        f"{'max|da| rand':>14}{'max|da| data':>14}"
    )
    for name, e in report["forms"].items():
        on_data = e.get("max_abs_action_diff_on_dataset")
        print(
            f"{name:<11}{e['file']:<18}{e['kilobytes']:>8.0f}{e['p50_ms']:>9.3f}{e['p90_ms']:>9.3f}"
            f"{e['p99_ms']:>9.3f}{e['max_abs_action_diff_vs_checkpoint']:>14.2e}"
            + (f"{on_data:>14.2e}" if on_data is not None else f"{'-':>14}")
        )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
