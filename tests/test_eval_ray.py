"""The Ray backend returns the same records as the local one on the same seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.evaluation import EvalConfig, evaluate, read_records, without_timing

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
TASKS = ["robocelltest/ToyReach-v0", "robocelltest/ToyReachShort-v0"]


@pytest.fixture(scope="module")
def local_ray():
    # Workers find `tests.test_eval_fixtures` (the plugin) through PYTHONPATH, wherever pytest ran from.
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield
    ray.shutdown()


def _run(out: Path, backend: str, workers: int) -> list[dict]:
    evaluate(EvalConfig(policy="evaltoy:1.0", tasks=TASKS, out=out, episodes=10, seed=3, workers=workers,
                        backend=backend, plugins=["tests.test_eval_fixtures"], videos=1, progress=False,
                        report=False))
    return sorted((without_timing(r) for r in read_records(out / "episodes.jsonl")),
                  key=lambda r: (r["task"], r["seed"]))


@pytest.mark.timeout(120)
def test_ray_records_equal_local_records(tmp_path: Path, local_ray: None) -> None:
    on_ray = _run(tmp_path / "ray", "ray", workers=2)
    local = _run(tmp_path / "local", "local", workers=0)
    assert on_ray == local and len(on_ray) == 20
    assert ray.is_initialized()  # a Ray the caller started is left running for the caller
    for record in on_ray:
        if record["video"]:  # videos encoded on Ray workers come back as the same files
            assert (tmp_path / "ray" / record["video"]).read_bytes() == \
                (tmp_path / "local" / record["video"]).read_bytes()
