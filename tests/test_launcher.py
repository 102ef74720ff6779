"""The launcher: launch-file validation, overrides, and a clean stop that leaves no orphans."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from robot.launcher import load_launch_file
from robot.nodes.run import build_config

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "launch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_launch_files_parse_and_their_params_are_known() -> None:
    for path in sorted((ROOT / "launch").glob("*.yaml")):
        spec = load_launch_file(path)
        for node in spec.nodes:
            build_config(node.kind, node.params)  # unknown parameters raise


def test_overrides_set_nested_parameters(tmp_path) -> None:
    path = _write(tmp_path, {"nodes": [{"name": "robot", "kind": "robot", "params": {"backend": "mock"}}]})
    spec = load_launch_file(path, ["robot.episodes=3", "robot.backend_args.task=Sort"])
    assert spec.nodes[0].params == {"backend": "mock", "episodes": 3, "backend_args": {"task": "Sort"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [({"nodes": []}, "non-empty 'nodes'"),
     ({"nodes": [{"name": "a"}]}, "needs 'name' and 'kind'"),
     ({"nodes": [{"name": "a", "kind": "robot", "respawn": True}]}, "unknown key"),
     ({"nodes": [{"name": "a", "kind": "robot"}, {"name": "a", "kind": "policy"}]}, "unique")],
)
def test_bad_launch_files_name_the_problem(tmp_path, data, message) -> None:
    with pytest.raises(ValueError, match=message):
        load_launch_file(_write(tmp_path, data))


def test_unknown_node_parameter_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['episodez'\]"):
        build_config("robot", {"episodez": 3})


@pytest.mark.parametrize("how", ["sigint", "sigkill"])
def test_stopping_the_launcher_stops_every_node_and_leaves_no_orphan(tmp_path, endpoints, how) -> None:
    """Ctrl-C stops the nodes cleanly; even kill -9 of the launcher takes its nodes down (PDEATHSIG)."""
    robot = {"backend": "mock", "mode": "realtime", "control_hz": 20, "loop_hz": 100, "cameras": False, **endpoints}
    policy = {"policy": "zero:7", **endpoints}
    path = _write(tmp_path, {"name": "t", "nodes": [{"name": "robot", "kind": "robot", "params": robot},
                                                     {"name": "policy", "kind": "policy", "params": policy}]})
    proc = subprocess.Popen([sys.executable, "-m", "robot.cli", "launch", str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pids: list[int] = []
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while len(pids) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "pid " in line:
            pids.append(int(line.rsplit("pid ", 1)[1]))
    time.sleep(2.0)  # let both nodes come up and exchange messages
    proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    text = "".join(lines) + out
    if how == "sigint":
        assert proc.returncode == 128 + signal.SIGINT, text
        assert "[robot] summary: realtime" in text and "[policy]" in text, text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        assert _gone(pid), f"node pid {pid} outlived the launcher ({how})"


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # exited, not yet reaped
    except OSError:
        return True
