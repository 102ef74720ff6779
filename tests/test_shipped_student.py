"""The shipped checkpoints: small, self-describing, driving the demo, and able to do their tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.dataset.collect import evaluate
from policies.student.runtime import EXECUTION_MODES, load_checkpoint
from policies.train_all import SHIPPED
from robot.launcher import load_launch_file

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / SHIPPED["PickPlace"] / "student.pt"
MAX_BYTES = 10 * 1024 * 1024


@pytest.mark.parametrize("task", sorted(SHIPPED))
def test_checkpoint_is_small_and_documented(task: str) -> None:
    assets = ROOT / SHIPPED[task]
    for name in ("student.pt", "student.onnx", "MODEL_CARD.md", "distill.json", "results.json"):
        assert (assets / name).is_file(), f"{SHIPPED[task]}/{name} is missing"
    assert (assets / "student.pt").stat().st_size <= MAX_BYTES
    model, meta = load_checkpoint(assets / "student.pt")
    assert model.cfg.execution in EXECUTION_MODES
    assert meta["config"]["task"] == task
    card = (assets / "MODEL_CARD.md").read_text()
    assert f"python -m policies.train_all --task {task}" in card


def test_demo_launch_file_runs_the_student() -> None:
    spec = load_launch_file(Path(__file__).resolve().parents[1] / "launch" / "demo.yaml")
    policies = [node.params["policy"] for node in spec.nodes if node.kind == "policy"]
    assert policies == ["student:assets/student/student.pt"]


@pytest.mark.slow
def test_shipped_student_picks_and_places() -> None:
    # Demo seeds: the shipped student solved all of 1000-1009 when it was made; allow for
    # float differences on other CPUs changing a trajectory or two.
    result = evaluate("PickPlace", f"student:{CHECKPOINT}", range(1000, 1004), env_kwargs={"image_size": 96},
                      progress=False)  # fmt: skip
    assert result["success_rate"] >= 0.5, result
