"""`robocell launch FILE.yaml`: start the nodes a launch file lists, each in its own process.

Launch file::

    name: demo
    shutdown_grace_s: 0.5        # after a node fails, let the rest hold and report this long
    nodes:
      - name: robot
        kind: robot              # robot.nodes.run.NODE_KINDS
        exit_when_done: true     # its clean exit ends the launch (e.g. after N episodes)
        params: {backend: sim, mode: lockstep, episodes: 10}
      - name: policy
        kind: policy
        params: {policy: "expert:PickPlace"}

Every output line is prefixed with the node's name. Ctrl-C, SIGTERM, or any node exiting
non-zero stops all nodes (SIGINT, then SIGTERM, then SIGKILL); children also get SIGTERM
if the launcher itself dies, so no process is left orphaned.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("launcher")

_PR_SET_PDEATHSIG = 1


@dataclass
class NodeSpec:
    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    exit_when_done: bool = False


@dataclass
class LaunchSpec:
    name: str
    nodes: list[NodeSpec]
    shutdown_grace_s: float = 0.5


def load_launch_file(path: str | Path, overrides: list[str] | None = None) -> LaunchSpec:
    """Parse and validate a launch file; `overrides` are "node.key[.key]=yaml-value" strings."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"launch file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not data["nodes"]:
        raise ValueError(f"{path}: expected a mapping with a non-empty 'nodes' list")
    nodes = []
    for i, raw in enumerate(data["nodes"]):
        if not isinstance(raw, dict) or "name" not in raw or "kind" not in raw:
            raise ValueError(f"{path}: node #{i} needs 'name' and 'kind', got {raw!r}")
        unknown = set(raw) - {"name", "kind", "params", "exit_when_done"}
        if unknown:
            raise ValueError(f"{path}: node {raw['name']!r} has unknown key(s) {sorted(unknown)}")
        nodes.append(NodeSpec(raw["name"], raw["kind"], dict(raw.get("params") or {}),
                              bool(raw.get("exit_when_done", False))))
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: node names must be unique, got {names}")
    spec = LaunchSpec(str(data.get("name", path.stem)), nodes, float(data.get("shutdown_grace_s", 0.5)))
    for override in overrides or []:
        apply_override(spec, override)
    return spec


def apply_override(spec: LaunchSpec, override: str) -> None:
    """Set one parameter: "robot.episodes=3" or "robot.backend_args.task=Sort"."""
    key, sep, value = override.partition("=")
    parts = key.split(".")
    if not sep or len(parts) < 2:
        raise ValueError(f"override {override!r} is not NODE.PARAM=VALUE")
    node = next((n for n in spec.nodes if n.name == parts[0]), None)
    if node is None:
        raise ValueError(f"override {override!r}: no node named {parts[0]!r} in {[n.name for n in spec.nodes]}")
    target = node.params
    for part in parts[1:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = yaml.safe_load(value)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the launcher dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Launch:
    """A running launch: start(), then wait() until done; stop() from anywhere."""

    def __init__(self, spec: LaunchSpec, out=None) -> None:
        self.spec = spec
        self.out = out or sys.stdout
        self.procs: dict[str, subprocess.Popen] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> Launch:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for node in self.spec.nodes:
            cmd = [sys.executable, "-m", "robot.cli", "node", node.kind, "--params", json.dumps(node.params)]
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, preexec_fn=_die_with_parent, text=True, bufsize=1,
            )
            self.procs[node.name] = proc
            thread = threading.Thread(target=self._pump, args=(node.name, proc), daemon=True)
            thread.start()
            self._threads.append(thread)
            log.info("started %s (%s) pid %d", node.name, node.kind, proc.pid)
        return self

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._lock:
                self.out.write(f"[{name}] {line}")
                self.out.flush()

    def wait(self, poll_s: float = 0.02) -> int:
        """Block until the launch ends; returns the exit code of the node that ended it."""
        done = {n.name for n in self.spec.nodes if n.exit_when_done}
        while not self._stopping.is_set():
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is None:
                    continue
                if code != 0:
                    log.error("node %s exited with %s; stopping all in %.1f s", name, code, self.spec.shutdown_grace_s)
                    self._stopping.wait(self.spec.shutdown_grace_s)
                    self.stop()
                    return code if code > 0 else 128 - code
                if name in done:
                    log.info("node %s finished; stopping the launch", name)
                    self.stop()
                    return 0
            time.sleep(poll_s)
        return 0

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGINT every live node, then SIGTERM, then SIGKILL; reap all of them."""
        self._stopping.set()
        for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            live = [p for p in self.procs.values() if p.poll() is None]
            if not live:
                break
            for proc in live:
                proc.send_signal(sig)
            deadline = time.monotonic() + wait_s
            for proc in live:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.0, deadline - time.monotonic()))
        for thread in self._threads:
            thread.join(timeout=1.0)


def run_launch(args: argparse.Namespace) -> int:
    spec = load_launch_file(args.file, args.set)
    launch = Launch(spec).start()
    interrupted = {"signal": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        interrupted["signal"] = signum
        launch._stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = launch.wait()
    if interrupted["signal"]:
        log.info("stopping on %s", signal.Signals(interrupted["signal"]).name)
        launch.stop()
        return 128 + interrupted["signal"]
    return code


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="launch file (YAML), e.g. launch/demo.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override a node parameter (repeatable), e.g. --set robot.episodes=3")
    parser.set_defaults(run=run_launch)
