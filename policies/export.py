"""`robocell export`: turn a student checkpoint into TorchScript, ONNX and dynamic-int8 TorchScript.

    robocell export assets/student/student.pt            # writes student.ts, student.onnx, student.int8.ts beside it
    robocell export ckpt.pt --forms onnx --out-dir /tmp

Each export embeds the student's config (TorchScript extra file / ONNX metadata), so
`policies.student.runtime.load_student` loads it by extension alone. After writing, every
form is run on random observations and its largest action difference from the float
checkpoint is logged (and returned), so a broken export fails loudly here, not on the robot.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from policies.student.model import StudentConfig, StudentNet, example_inputs
from policies.student.runtime import META_KEY, load_checkpoint, load_student

log = logging.getLogger(__name__)

FORMS = ("ts", "onnx", "int8")
SUFFIX = {"ts": ".ts", "onnx": ".onnx", "int8": ".int8.ts"}
INPUT_NAMES = ["scene", "wrist", "proprio", "tokens"]


def quantize_int8(model: StudentNet) -> nn.Module:
    """Dynamic int8 quantisation of the Linear layers (weights int8, activations quantised on the fly).

    Activations get one scale per tensor, so a layer whose input mixes very different ranges loses
    its small features. Without `feature_norm` the head's first layer takes such a mix (keypoints in
    [-1, 1] beside large pooled activations) and is left in float32.
    Weights are quantised per output channel, which roughly halves the largest action error here.
    """
    qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
    linears = {name: qconfig for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    if not model.cfg.feature_norm:
        linears.pop("head.0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, linears, dtype=torch.qint8)


def export_torchscript(model: nn.Module, cfg: StudentConfig, path: Path) -> Path:
    example = example_inputs(cfg)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, example, check_trace=False)
    traced = torch.jit.freeze(traced.eval())
    torch.jit.save(traced, str(path), _extra_files={META_KEY: json.dumps(cfg.to_dict())})
    return path


def export_onnx(model: StudentNet, path: Path) -> Path:
    import onnx

    example = example_inputs(model.cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=INPUT_NAMES,
            output_names=["actions"],
            dynamic_axes={n: {0: "batch"} for n in [*INPUT_NAMES, "actions"]},
            opset_version=17,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(model.cfg.to_dict())
    onnx.save(proto, str(path))
    return path


def export_student(
    checkpoint: Path, out_dir: Path | None = None, forms: tuple[str, ...] = FORMS
) -> dict[str, Path]:
    """Write the requested forms next to `checkpoint` (or into `out_dir`); returns form -> path."""
    model, _ = load_checkpoint(checkpoint)
    out_dir = out_dir or checkpoint.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = checkpoint.name.removesuffix(checkpoint.suffix)
    written: dict[str, Path] = {}
    for form in forms:
        if form not in FORMS:
            raise ValueError(f"export form {form!r}, expected one of {FORMS}")
        path = out_dir / f"{stem}{SUFFIX[form]}"
        if form == "ts":
            written[form] = export_torchscript(model, model.cfg, path)
        elif form == "int8":
            written[form] = export_torchscript(quantize_int8(model), model.cfg, path)
        else:
            written[form] = export_onnx(model, path)
    return written


def random_observations(cfg: StudentConfig, samples: int = 32, seed: int = 0) -> list[dict]:
    """Noise images, Gaussian proprio and word-salad instructions: inputs far from any training data."""
    rng = np.random.default_rng(seed)
    words = ["pick", "the", "red", "blue", "green", "cube", "place", "in", "left", "bin", "put", "brick"]
    observations = []
    for _ in range(samples):
        obs = {
            key: rng.integers(0, 256, (cfg.image_size, cfg.image_size, 3), dtype=np.uint8)
            for key in cfg.cameras
        }
        obs["proprio"] = rng.normal(size=cfg.proprio_dim).astype(np.float32)
        obs["instruction"] = " ".join(rng.choice(words, size=8))
        observations.append(obs)
    return observations


def dataset_observations(root: Path, samples: int = 64, seed: int = 0) -> list[dict]:
    """Observations drawn evenly from a `robocell collect` dataset: what the student really sees."""
    from policies.dataset.hdf5 import episode_files, read_episode

    files = episode_files(root)
    if not files:
        raise FileNotFoundError(f"no episodes under {root}")
    rng = np.random.default_rng(seed)
    observations = []
    for path in rng.choice(files, size=min(samples, len(files)), replace=False):
        episode = read_episode(path, keys=("scene_rgb", "wrist_rgb", "proprio"))
        t = int(rng.integers(episode.num_samples))
        obs = {key: value[t] for key, value in episode.obs.items()}
        observations.append({**obs, "instruction": episode.instruction})
    return observations


def max_action_difference(
    reference: str | Path, other: str | Path, observations: list[dict] | None = None, samples: int = 32
) -> float:
    """Largest |action difference| over whole chunks between two student files.

    On `observations` (each with an "instruction") when given, else on `random_observations`.
    """
    ref, oth = load_student(str(reference), execution="chunk"), load_student(str(other), execution="chunk")
    worst = 0.0
    for obs in observations or random_observations(ref.cfg, samples):
        ref.reset(obs["instruction"])
        oth.reset(obs["instruction"])
        worst = max(worst, float(np.abs(ref.act(obs) - oth.act(obs)).max()))
    return worst


def run(args: argparse.Namespace) -> int:
    checkpoint = Path(args.checkpoint)
    written = export_student(checkpoint, Path(args.out_dir) if args.out_dir else None, tuple(args.forms))
    for form, path in written.items():
        observations = dataset_observations(Path(args.dataset)) if args.dataset else None
        diff = max_action_difference(checkpoint, path, observations)
        log.info("%-5s %s  %.1f kB  max |action - float| = %.2e", form, path, path.stat().st_size / 1e3, diff)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="student checkpoint (.pt) written by `robocell distill`")
    parser.add_argument("--forms", nargs="+", default=list(FORMS), choices=FORMS)
    parser.add_argument("--out-dir", default=None, help="default: beside the checkpoint")
    parser.add_argument(
        "--dataset",
        default=None,
        help="compare forms on observations from this dataset (default: random inputs)",
    )
    parser.set_defaults(run=run)
