"""The episode log survives torn writes and never holds an episode twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.evaluation.records import DirectoryLock, EpisodeLog, read_records, without_timing


def _record(seed: int, success: bool = True) -> dict:
    return {"task": "T", "robot": "panda", "seed": seed, "index": seed, "success": success, "steps": 3,
            "timing": {"wall_s": 0.1, "policy_cpu_ms": 1.0}}


def test_append_is_durable_and_deduplicated(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    with EpisodeLog(path) as log:
        assert log.append(_record(1))
        assert not log.append(_record(1, success=False))  # same (task, robot, seed): ignored
        assert log.append(_record(2))
    lines = path.read_text().splitlines()
    assert [json.loads(line)["seed"] for line in lines] == [1, 2]
    with EpisodeLog(path) as log:
        assert log.keys == {("T", "panda", 1), ("T", "panda", 2)}


def test_a_torn_last_line_is_dropped_and_truncated(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    with EpisodeLog(path) as log:
        log.append(_record(1))
    with open(path, "ab") as f:
        f.write(b'{"task": "T", "robot": "panda", "se')  # a write cut by kill -9
    assert [r["seed"] for r in read_records(path)] == [1]
    with EpisodeLog(path) as log:
        assert len(log.records) == 1
        log.append(_record(2))
    assert [json.loads(line)["seed"] for line in path.read_text().splitlines()] == [1, 2]


def test_duplicate_and_garbage_lines_in_the_middle_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    lines = [json.dumps(_record(1)), "not json", json.dumps(_record(1, success=False)), json.dumps(_record(2))]
    path.write_text("\n".join(lines) + "\n")
    records = read_records(path)
    assert [(r["seed"], r["success"]) for r in records] == [(1, True), (2, True)]  # the first record wins


def test_without_timing_keeps_only_reproducible_fields() -> None:
    assert "timing" not in without_timing(_record(1))
    assert without_timing(_record(1))["seed"] == 1


def test_a_directory_is_locked_while_evaluated(tmp_path: Path) -> None:
    with DirectoryLock(tmp_path), pytest.raises(RuntimeError, match="in use by another evaluation"), \
            DirectoryLock(tmp_path):
        pass
    with DirectoryLock(tmp_path):  # released on exit
        pass
