"""Exported students (TorchScript, ONNX, dynamic int8) act like the checkpoint they came from.

Tolerances (largest absolute difference of any action component, actions in [-1, 1]):
TorchScript and ONNX 1e-5 (float32 rounding), int8 0.1 (int8 weights per channel, activations
quantised per tensor on the fly; the error grows with the gain of the last layers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from policies.export import export_student, max_action_difference
from policies.student.model import StudentConfig, StudentNet
from policies.student.runtime import load_student, save_checkpoint
from robot.cli import main as robocell

torch.set_num_threads(1)
TOLERANCE = {"ts": 1e-5, "onnx": 1e-5, "int8": 0.1}


@pytest.fixture(
    scope="module",
    params=[{}, {"film": "all", "aux_dim": 3, "word_pairs": True, "max_tokens": 128}],
    ids=["default", "film_all_aux_pairs"],
)
def checkpoint(tmp_path_factory, request) -> Path:
    """A plain student, and one as shipped: FiLM on every map, the training-only auxiliary head, word pairs."""
    torch.manual_seed(0)
    model = StudentNet(StudentConfig(image_size=48, **request.param)).eval()
    with torch.no_grad():  # spread the outputs over [-1, 1] so that differences would show
        model.head[-1].weight.mul_(5.0)
    path = tmp_path_factory.mktemp("student") / "student.pt"
    save_checkpoint(path, model)
    return path


def test_every_form_matches_the_checkpoint(checkpoint: Path, tmp_path: Path) -> None:
    written = export_student(checkpoint, tmp_path)
    assert {p.name for p in written.values()} == {"student.ts", "student.onnx", "student.int8.ts"}
    for form, path in written.items():
        diff = max_action_difference(checkpoint, path, samples=16)
        assert diff <= TOLERANCE[form], (form, diff)


def test_forms_spread_their_actions_and_load_by_extension(checkpoint: Path, tmp_path: Path) -> None:
    written = export_student(checkpoint, tmp_path, forms=("onnx",))
    rng = np.random.default_rng(1)
    obs = {k: rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for k in ("scene_rgb", "wrist_rgb")}
    obs["proprio"] = rng.normal(size=8).astype(np.float32)
    actions = []
    for path in (checkpoint, written["onnx"]):
        policy = load_student(str(path), execution="chunk")
        policy.reset("put the blue cylinder in the right bin")
        actions.append(policy.act(obs))
    assert actions[0].shape == (4, 7) and np.ptp(actions[0]) > 0.5  # a non-trivial comparison
    np.testing.assert_allclose(actions[0], actions[1], atol=TOLERANCE["onnx"])


def test_export_command_and_bad_files(checkpoint: Path, tmp_path: Path) -> None:
    assert robocell(["export", str(checkpoint), "--forms", "ts", "int8", "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "student.ts").exists() and (tmp_path / "student.int8.ts").exists()
    assert load_student(str(tmp_path / "student.int8.ts")).cfg.image_size == 48
    with pytest.raises(ValueError, match="suffix"):
        load_student(__file__)
    with pytest.raises(FileNotFoundError):
        load_student(str(tmp_path / "missing.onnx"))
