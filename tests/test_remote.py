"""The remote teacher: labels round-trip over a real TCP socket, per-client state, errors, the CLI server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import free_port

from policies.dataset.collect import collect
from policies.dataset.hdf5 import episode_files, read_episode
from policies.dataset.toy import ToyReachExpert
from policies.remote import RemotePolicy, RemotePolicyError, serve_policy
from policies.student.model import StudentConfig, StudentNet
from policies.student.runtime import load_student, save_checkpoint

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
TOY = "robocell-toy/Reach-v0"


class RecordingPolicy:
    """Counts resets per instance and fails on request (to test error replies)."""

    instances: list[RecordingPolicy] = []

    def __init__(self) -> None:
        self.resets: list[str] = []
        RecordingPolicy.instances.append(self)

    def reset(self, instruction: str) -> None:
        self.resets.append(instruction)

    def act(self, observation: dict) -> np.ndarray:
        if observation["proprio"][0] < -100:
            raise ValueError("proprio out of range")
        return np.full(7, float(len(self.resets)), np.float32)


def serve(factory) -> Iterator[str]:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=serve_policy, args=(factory, endpoint, stop), kwargs={"ready": ready}, daemon=True
    )
    thread.start()
    assert ready.wait(5)
    yield endpoint
    stop.set()
    thread.join(5)


@pytest.fixture
def expert_server() -> Iterator[str]:
    yield from serve(ToyReachExpert)


@pytest.fixture
def recording_server() -> Iterator[str]:
    RecordingPolicy.instances.clear()
    yield from serve(RecordingPolicy)


def test_remote_labels_equal_local_labels(tmp_path: Path, expert_server: str) -> None:
    kwargs = {"image_size": 24}
    collect(TOY, "toy:Reach", tmp_path / "local", range(3), workers=0, env_kwargs=kwargs, progress=False)
    collect(
        TOY,
        f"remote:{expert_server}",
        tmp_path / "remote",
        range(3),
        workers=0,
        env_kwargs=kwargs,
        progress=False,
    )
    local, remote = episode_files(tmp_path / "local"), episode_files(tmp_path / "remote")
    assert len(local) == len(remote) == 3
    for a, b in zip(local, remote, strict=True):
        ea, eb = read_episode(a), read_episode(b)
        np.testing.assert_array_equal(ea.actions, eb.actions)
        assert eb.attrs["teacher"] == f"remote:{expert_server}"


def test_each_client_gets_its_own_policy_and_resets(recording_server: str) -> None:
    obs = {"proprio": np.zeros(8, np.float32), "scene_rgb": np.zeros((8, 8, 3), np.uint8)}
    a, b = RemotePolicy(recording_server), RemotePolicy(recording_server)
    a.reset("first")
    assert a.act(obs)[0] == 1.0 and a.act(obs)[0] == 1.0  # one reset per episode, not per step
    b.reset("other")
    assert b.act(obs)[0] == 1.0  # a second client has its own instance
    a.reset("second")
    assert a.act(obs)[0] == 2.0
    assert sorted(len(p.resets) for p in RecordingPolicy.instances) == [1, 2]
    with pytest.raises(RemotePolicyError, match="proprio out of range"):
        a.act({"proprio": np.full(8, -1000, np.float32)})
    assert a.act(obs)[0] == 2.0  # the server survived the failure
    a.close()
    b.close()


def test_unreachable_server_raises_after_retries() -> None:
    policy = RemotePolicy(f"tcp://127.0.0.1:{free_port()}", timeout_ms=100, retries=1)
    policy.reset("anything")
    start = time.monotonic()
    with pytest.raises(RemotePolicyError, match="no reply after 2 attempts"):
        policy.act({"proprio": np.zeros(8, np.float32)})
    assert time.monotonic() - start < 2.0


def test_serve_policy_command_serves_a_student(tmp_path: Path) -> None:
    """`robocell serve-policy` in its own process answers exactly what the local student would."""
    cfg = StudentConfig(image_size=32)
    save_checkpoint(tmp_path / "s.pt", StudentNet(cfg).eval())
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robot.cli",
            "serve-policy",
            "--policy",
            f"student:{tmp_path / 's.pt'}",
            "--bind",
            endpoint,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        rng = np.random.default_rng(0)
        obs = {k: rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for k in cfg.cameras}
        obs["proprio"] = rng.normal(size=8).astype(np.float32)
        remote, local = (
            RemotePolicy(endpoint, timeout_ms=30_000, retries=0),
            load_student(str(tmp_path / "s.pt")),
        )
        for policy in (remote, local):
            policy.reset("pick the red cube and place it in the left bin")
        np.testing.assert_allclose(remote.act(obs), local.act(obs), atol=1e-6)
        remote.close()
    finally:
        server.terminate()
        server.wait(10)
