"""End-to-end campaigns on the toy env: determinism, resume after kill -9, reports, compare."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tests.test_eval_fixtures as fixtures
from policies.evaluation import (
    EvalConfig,
    compare_runs,
    episode_seed,
    evaluate,
    format_comparison,
    mcnemar_exact,
    plan_episodes,
    read_records,
    without_timing,
)
from policies.evaluation.backends import EpisodeFailed
from policies.registry import register_policy_kind

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.test_eval_fixtures"
TASKS = ["robocelltest/ToyReach-v0", "robocelltest/ToyReachShort-v0"]
SLOW_TASK = "robocelltest/ToyReachSlow-v0"  # 10 ms per step: time to kill a campaign mid-run


def _config(out: Path, **overrides) -> EvalConfig:
    settings = {"policy": "evaltoy:1.0", "tasks": ["robocelltest/ToyReach-v0"], "out": out, "episodes": 12,
                "seed": 7, "workers": 0, "plugins": [PLUGIN], "progress": False, "report": False}
    return EvalConfig(**{**settings, **overrides})


def _reproducible(out: Path) -> list[dict]:
    records = read_records(out / "episodes.jsonl")
    return sorted((without_timing(r) for r in records), key=lambda r: (r["task"], r["seed"]))


def test_episode_seeds_follow_the_robot_nodes_numbering() -> None:
    # The robot node plays seed + episode; the same rule lets --via-launch replay any campaign.
    assert [episode_seed(1000, i) for i in range(3)] == [1000, 1001, 1002]
    jobs = plan_episodes(_config(Path("unused"), tasks=TASKS, episodes=3, videos=1))
    assert [(j.task, j.seed, j.record_video) for j in jobs[:3]] == [
        (TASKS[0], 7, True), (TASKS[1], 7, True), (TASKS[0], 8, False)]  # index-major, videos up front


def test_two_runs_give_identical_records_in_process_and_in_a_pool(tmp_path: Path) -> None:
    inline = evaluate(_config(tmp_path / "a", tasks=TASKS[:1], episodes=16))
    evaluate(_config(tmp_path / "b", tasks=TASKS[:1], episodes=16, workers=2))
    assert _reproducible(tmp_path / "a") == _reproducible(tmp_path / "b")
    records = _reproducible(tmp_path / "a")
    assert len(records) == 16
    assert 0 < inline["overall"]["successes"] < 16  # the toy campaign mixes outcomes
    record = records[0]
    assert {"task", "robot", "seed", "index", "instruction", "success", "steps", "sim_time_s",
            "safety_interventions", "policy_calls"} <= set(record)
    timing = read_records(tmp_path / "a" / "episodes.jsonl")[0]["timing"]
    assert {"wall_s", "policy_ms_p50", "policy_ms_p99", "policy_cpu_ms"} <= set(timing)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    task = summary["tasks"][TASKS[0]]
    assert task["episodes"] == 16 and task["ci_low"] <= task["success_rate"] <= task["ci_high"]
    assert task["cpu_ms_per_success"] == pytest.approx(
        sum(r["timing"]["policy_cpu_ms"] for r in read_records(tmp_path / "a" / "episodes.jsonl"))
        / task["successes"], rel=1e-3)


def test_resume_after_kill_9_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "robot.cli", "eval", "--policy", "evaltoy:1.0", "--tasks", SLOW_TASK,
               "--episodes", "24", "--seed", "7", "--workers", "2", "--out", str(out), "--plugin", PLUGIN,
               "--no-progress", "--no-report"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log_path = out / "episodes.jsonl"
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (log_path.exists() and log_path.read_bytes().count(b"\n") >= 4):
            assert process.poll() is None, "the campaign finished before it could be killed"
            assert time.monotonic() < deadline, "no episodes were written within 60 s"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # the parent only: its pool workers must notice and exit
        process.wait(10)
        _wait_for_group_to_exit(process.pid)
    finally:
        _kill_group(process.pid)
    before = log_path.read_bytes()
    done_before = before.count(b"\n")
    assert 4 <= done_before < 24
    with open(log_path, "ab") as f:
        f.write(b'{"task": "robocelltest/ToyReachSlow-v0", "rob')  # and a write torn by the kill
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = log_path.read_bytes()
    assert after.startswith(before)  # finished episodes are kept as they were, not rerun
    keys = [(r["task"], r["seed"]) for r in map(json.loads, after.splitlines())]
    assert len(keys) == len(set(keys)) == 24
    evaluate(_config(tmp_path / "reference", tasks=[SLOW_TASK], episodes=24, workers=2))
    assert _reproducible(out) == _reproducible(tmp_path / "reference")


def _wait_for_group_to_exit(pgid: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"pool workers of the killed campaign (group {pgid}) were still running")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def test_more_episodes_extend_a_campaign_and_other_settings_are_refused(tmp_path: Path) -> None:
    evaluate(_config(tmp_path, episodes=5))
    summary = evaluate(_config(tmp_path, episodes=8))
    assert summary["run"]["episodes_this_invocation"] == 3
    assert summary["overall"]["episodes"] == 8
    with pytest.raises(ValueError, match="different campaign"):
        evaluate(_config(tmp_path, policy="evaltoy:0.3"))


def test_report_renders_tables_plots_and_videos(tmp_path: Path) -> None:
    evaluate(_config(tmp_path, tasks=TASKS, episodes=6, videos=2, report=True))
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    for plot in ("success_by_task", "latency_hist", "episode_length"):
        png = tmp_path / "plots" / f"{plot}.png"
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
        assert f"plots/{plot}.png" in md and f"plots/{plot}.png" in page
    videos = [r["video"] for r in read_records(tmp_path / "episodes.jsonl") if r["video"]]
    assert len(videos) == 2 * len(TASKS)  # the first two episodes of each task, chosen up front
    for video in videos:
        assert (tmp_path / video).read_bytes().startswith(b"GIF89a")
        assert video in page and video in md
    for task in TASKS:
        assert task in md and task in page
    assert "overall" in md and "95% CI" in page


def test_mp4_videos(tmp_path: Path) -> None:
    evaluate(_config(tmp_path, episodes=1, videos=1, video_format="mp4"))
    (record,) = read_records(tmp_path / "episodes.jsonl")
    assert record["video"].endswith(".mp4")
    assert (tmp_path / record["video"]).read_bytes()[4:8] == b"ftyp"


def test_compare_pairs_episodes_by_seed(tmp_path: Path) -> None:
    evaluate(_config(tmp_path / "good", tasks=TASKS, episodes=30))
    evaluate(_config(tmp_path / "weak", tasks=TASKS, episodes=30, policy="evaltoy:0.3"))
    result = compare_runs(tmp_path / "good", tmp_path / "weak")
    good = {(r["task"], r["seed"]): r["success"] for r in read_records(tmp_path / "good" / "episodes.jsonl")}
    weak = {(r["task"], r["seed"]): r["success"] for r in read_records(tmp_path / "weak" / "episodes.jsonl")}
    only_good = sum(good[k] and not weak[k] for k in good)
    only_weak = sum(weak[k] and not good[k] for k in good)
    overall = result["overall"]
    assert overall["pairs"] == 60 and result["unpaired"] == {"a": 0, "b": 0}
    assert (overall["only_a"], overall["only_b"]) == (only_good, only_weak)
    assert overall["p_value"] == mcnemar_exact(only_good, only_weak)
    assert overall["difference"] == pytest.approx((sum(weak.values()) - sum(good.values())) / 60)
    assert overall["cost_ratio"] is not None and overall["cost_ratio"] > 0
    assert set(result["tasks"]) == set(TASKS)
    text = format_comparison(result)
    assert "McNemar" in text and "overall" in text
    evaluate(_config(tmp_path / "other", episodes=2, seed=99))
    with pytest.raises(ValueError, match="share no"):
        compare_runs(tmp_path / "good", tmp_path / "other")


class _ChunkPolicy(fixtures.ToyPolicy):
    def act(self, observation: dict) -> np.ndarray:
        return np.repeat(super().act(observation)[None], 3, axis=0)  # a (3, 7) chunk


class _BrokenPolicy(fixtures.ToyPolicy):
    def act(self, observation: dict) -> np.ndarray:
        raise RuntimeError("motor says no")


register_policy_kind("toychunk", lambda arg: _ChunkPolicy(float(arg)))
register_policy_kind("toybroken", lambda arg: _BrokenPolicy(float(arg)))


def test_action_chunks_play_one_row_per_step(tmp_path: Path) -> None:
    evaluate(_config(tmp_path, policy="toychunk:1.0", episodes=4))
    for record in read_records(tmp_path / "episodes.jsonl"):
        assert record["policy_calls"] == -(-record["steps"] // 3)


def test_a_failing_episode_names_its_seed(tmp_path: Path) -> None:
    with pytest.raises(EpisodeFailed, match=f"seed {episode_seed(7, 0)}.*motor says no"):
        evaluate(_config(tmp_path, policy="toybroken:1.0", episodes=2))


def test_the_robocell_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from robot.cli import main as robocell

    for name, policy in (("good", "evaltoy:1.0"), ("weak", "evaltoy:0.3")):
        assert robocell(["eval", "--policy", policy, "--tasks", *TASKS, "--episodes", "6", "--seed", "7",
                         "--workers", "0", "--out", str(tmp_path / name), "--plugin", PLUGIN,
                         "--no-progress", "--no-report"]) == 0
        assert "95% Wilson" in capsys.readouterr().out
    assert robocell(["compare", str(tmp_path / "good"), str(tmp_path / "weak"),
                     "--json", str(tmp_path / "compare.json")]) == 0
    assert "p (McNemar)" in capsys.readouterr().out
    assert json.loads((tmp_path / "compare.json").read_text())["overall"]["pairs"] == 12


def test_the_humanoid_is_evaluated_with_its_own_expert(tmp_path: Path) -> None:
    """`--policy expert:PickPlace --robot humanoid` plays the two-arm expert, with its 8-entry actions."""
    jobs = plan_episodes(_config(tmp_path, policy="expert:PickPlace", tasks=["PickPlace"], robot="humanoid"))
    assert {j.policy for j in jobs} == {"expert:PickPlace?robot=humanoid"}
    summary = evaluate(_config(tmp_path, policy="expert:PickPlace", tasks=["PickPlace"], robot="humanoid",
                               episodes=1, seed=1, plugins=[]))
    records = read_records(tmp_path / "episodes.jsonl")
    assert [r["robot"] for r in records] == ["humanoid"] and records[0]["success"], summary
