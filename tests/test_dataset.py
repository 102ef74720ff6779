"""Recorded datasets: the robomimic layout, parallel workers, and surviving kill -9 mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path

import h5py
import numpy as np
import pytest

from policies.dataset.arrays import Samples, append_samples
from policies.dataset.collect import collect
from policies.dataset.hdf5 import build_index, episode_files, read_episode
from policies.dataset.rollout import make_env, run_episode
from policies.dataset.toy import ToyReachExpert

ROOT = Path(__file__).resolve().parents[1]
TOY = "robocell-toy/Reach-v0"


def test_robomimic_layout_and_merged_view(tmp_path: Path) -> None:
    summary = collect(
        TOY, "toy:Reach", tmp_path, range(3), workers=0, env_kwargs={"image_size": 32}, progress=False
    )
    assert summary["episodes"] == 3 and summary["success_rate"] == 1.0
    with h5py.File(tmp_path / "dataset.hdf5", "r") as f:
        data = f["data"]
        assert json.loads(data.attrs["env_args"])["env_name"] == TOY
        assert sorted(data) == ["demo_0", "demo_1", "demo_2"]
        total = 0
        for name in data:
            demo = data[name]  # an external link into episodes/ep_*.hdf5
            n = int(demo.attrs["num_samples"])
            total += n
            assert demo["obs/scene_rgb"].shape == (n, 32, 32, 3) and demo["obs/scene_rgb"].dtype == np.uint8
            assert demo["obs/wrist_rgb"].shape == (n, 32, 32, 3)
            assert demo["obs/proprio"].shape == (n, 8)
            assert demo["actions"].shape == (n, 7)
            assert demo["rewards"].shape == (n,) and demo["dones"].shape == (n,)
            assert demo["dones"][-1] == 1 and bool(demo.attrs["success"])
            assert demo.attrs["instruction"].startswith(("move", "reach", "go"))
            assert demo.attrs["task"] == TOY and demo.attrs["teacher"] == "toy:Reach"
        assert data.attrs["total"] == total == summary["samples"]


def test_parallel_workers_record_the_same_episodes(tmp_path: Path) -> None:
    collect(
        TOY,
        "toy:Reach",
        tmp_path / "inline",
        range(4),
        workers=0,
        env_kwargs={"image_size": 16},
        progress=False,
    )
    collect(
        TOY,
        "toy:Reach",
        tmp_path / "pool",
        range(4),
        workers=2,
        env_kwargs={"image_size": 16},
        progress=False,
    )
    for a, b in zip(episode_files(tmp_path / "inline"), episode_files(tmp_path / "pool"), strict=True):
        ea, eb = read_episode(a), read_episode(b)
        assert ea.instruction == eb.instruction
        np.testing.assert_array_equal(ea.actions, eb.actions)
        np.testing.assert_array_equal(ea.obs["scene_rgb"], eb.obs["scene_rgb"])


# The collector, with HDF5 writes slowed down so that a kill lands in the middle of one.
SLOW_COLLECT = textwrap.dedent(
    """
    import sys, time, h5py
    original = h5py.Group.create_dataset
    def slow(self, *args, **kwargs):
        time.sleep(0.03)
        return original(self, *args, **kwargs)
    h5py.Group.create_dataset = slow
    from robot.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_kill_minus_9_mid_write_keeps_earlier_episodes(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    args = [
        "collect",
        "--task",
        TOY,
        "--teacher",
        "toy:Reach",
        "--episodes",
        "1000",
        "--workers",
        "0",
        "--out",
        str(out),
        "--no-progress",
        "--env-kwargs",
        '{"image_size": 48}',
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_COLLECT, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for >= 3 finished episodes and one being written
            finished = list((out / "episodes").glob("ep_*.hdf5")) if (out / "episodes").exists() else []
            partial = list((out / "episodes").glob(".ep_*.tmp")) if finished else []
            if len(finished) >= 3 and partial:
                break
            time.sleep(0.005)
        else:
            raise AssertionError("the collector never reached a mid-write state")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert list((out / "episodes").glob(".ep_*.tmp")), "the kill should have interrupted a write"
    files = episode_files(out)
    assert len(files) >= 3
    env = make_env(TOY, image_size=48)
    for path in files:  # every finished episode is complete and identical to a fresh recording
        episode = read_episode(path)
        again = run_episode(env, ToyReachExpert(), episode.seed).episode
        np.testing.assert_array_equal(episode.actions, again.actions)
        np.testing.assert_array_equal(episode.obs["scene_rgb"], again.obs["scene_rgb"])
    build_index(out)  # the merged view rebuilds from what survived
    with h5py.File(out / "dataset.hdf5", "r") as f:
        assert len(f["data"]) == len(files)
    # Rerunning resumes: finished seeds are skipped, the interrupted one is recorded, stale temps go.
    n = len(files) + 2
    summary = collect(
        TOY, "toy:Reach", out, range(n), workers=0, env_kwargs={"image_size": 48}, progress=False
    )
    assert summary["episodes"] == n
    assert not list((out / "episodes").glob(".ep_*.tmp"))
    assert [read_episode(p).seed for p in episode_files(out)] == list(range(n))


def test_dart_noise_perturbs_execution_not_labels(tmp_path: Path) -> None:
    collect(TOY, "toy:Reach", tmp_path, range(3), workers=0, env_kwargs={"image_size": 16}, progress=False,
            action_noise=0.3)
    for path in episode_files(tmp_path):
        episode = read_episode(path)
        expert = ToyReachExpert()
        labels = np.stack([expert.act({"privileged": p, "proprio": q})
                           for p, q in zip(episode.obs["privileged"], episode.obs["proprio"], strict=True)])
        np.testing.assert_allclose(episode.actions, labels, atol=1e-6)  # clean teacher labels
        assert np.abs(episode.executed_actions - episode.actions)[:, :6].max() > 0.05  # noisy execution
        np.testing.assert_array_equal(episode.executed_actions[:, 6], episode.actions[:, 6])  # gripper as labelled
        assert episode.attrs["action_noise"] == 0.3


def _samples(n: int, instructions: list[str], offset: float) -> Samples:
    rng = np.random.default_rng(n)
    return Samples(
        scene=rng.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8),
        wrist=rng.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8),
        proprio=np.full((n, 3), offset, np.float32),
        instruction_ids=np.arange(n) % len(instructions),
        instructions=instructions,
        chunks=np.full((n, 2, 7), offset, np.float32),
        mask=np.ones((n, 2), np.float32),
        episodes=1,
        aux=np.full((n, 2), offset, np.float32),
    )


def test_appending_samples_joins_them_and_frees_the_old_arrays() -> None:
    """A DAgger round is appended to ~10 GB of demos: the demos' old arrays must go as their joined copies
    come, or memory doubles."""
    a, b = _samples(5, ["pick red", "pick blue"], 0.0), _samples(3, ["pick blue", "pick green"], 1.0)
    expected_scene = np.concatenate([a.scene, b.scene])
    expected_text = [a.instructions[i] for i in a.instruction_ids] + [b.instructions[i] for i in b.instruction_ids]
    old = weakref.ref(a.scene)
    joined = append_samples(a, b)
    assert old() is None  # the demos' scene array was released, not kept beside the joined one
    assert len(joined) == 8 and joined.episodes == 2
    np.testing.assert_array_equal(joined.scene, expected_scene)
    assert [joined.instructions[i] for i in joined.instruction_ids] == expected_text
    assert joined.instructions == ["pick red", "pick blue", "pick green"]
    np.testing.assert_array_equal(joined.aux[:, 0], [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(joined.chunks[5:], b.chunks)


def test_samples_with_and_without_aux_labels_do_not_join() -> None:
    a, b = _samples(2, ["x"], 0.0), _samples(2, ["x"], 1.0)
    b.aux = None
    with pytest.raises(ValueError, match="auxiliary"):
        append_samples(a, b)


class _PreciseOnEvenSteps(ToyReachExpert):
    """A teacher that calls every other step precise (as Insert's expert does at the hole)."""

    def reset(self, instruction: str) -> None:
        self.steps, self.precise = 0, False

    def act(self, observation: dict) -> np.ndarray:
        self.precise, self.steps = self.steps % 2 == 0, self.steps + 1
        return super().act(observation)


def test_dart_noise_skips_the_steps_a_teacher_calls_precise() -> None:
    env = make_env(TOY, image_size=16)
    try:
        episode = run_episode(env, _PreciseOnEvenSteps(), seed=0, action_noise=0.3).episode
    finally:
        env.close()
    assert len(episode.actions) >= 4
    np.testing.assert_array_equal(episode.executed_actions[0::2], episode.actions[0::2])  # precise: as labelled
    assert np.abs(episode.executed_actions[1::2] - episode.actions[1::2])[:, :6].max() > 0.05  # the rest: noisy
