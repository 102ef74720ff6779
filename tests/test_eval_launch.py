"""`--via-launch`: the deployed ZeroMQ nodes play the same episodes as the in-process rollout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.evaluation import EvalConfig, evaluate, read_records

pytest.importorskip("pybullet")
pytest.importorskip("zmq")
sim = pytest.importorskip("sim")
pytest.importorskip("robot.launcher")

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("task", "robot", "seed", "index", "instruction", "success", "steps", "sim_time_s",
            "safety_interventions", "safety_by_kind")


@pytest.mark.timeout(180)
def test_via_launch_matches_the_rollout_on_the_same_seeds(tmp_path: Path) -> None:
    settings = {"policy": "expert:PickPlace", "tasks": ["PickPlace"], "episodes": 2, "seed": 0,
                "progress": False, "report": False}
    evaluate(EvalConfig(out=tmp_path / "rollout", workers=0, **settings))
    summary = evaluate(EvalConfig(out=tmp_path / "launch", backend="launch",
                                  launch_file=ROOT / "launch" / "eval.yaml", videos=1, **settings))
    rollout = {r["seed"]: r for r in read_records(tmp_path / "rollout" / "episodes.jsonl")}
    launched = {r["seed"]: r for r in read_records(tmp_path / "launch" / "episodes.jsonl")}
    assert sorted(launched) == sorted(rollout) == [0, 1]
    for seed, record in launched.items():
        assert {k: record[k] for k in COMPARED} == {k: rollout[seed][k] for k in COMPARED}
        assert record["timing"]["obs_to_action_ms"]["p50"] is not None
    video = launched[0]["video"]
    assert video and (tmp_path / "launch" / video).read_bytes().startswith(b"GIF89a")
    assert summary["overall"]["episodes"] == 2
    # the policy node reports its CPU time per answer, so the cost of a success is known through the nodes too
    assert summary["overall"]["cpu_ms_per_success"] > 0
    assert all(r["timing"]["policy_ms_p50"] is not None for r in launched.values())
    assert "episode 2/2" in (tmp_path / "launch" / "launch.log").read_text()
    run = json.loads((tmp_path / "launch" / "run.json").read_text())
    assert run["runner"].startswith("launch:")
    with pytest.raises(ValueError, match="different campaign"):  # rollout and launch records never mix
        evaluate(EvalConfig(out=tmp_path / "launch", workers=0, **settings))
