"""The robot node: owns a `Robot` backend and closes the loop over ZeroMQ.

Sockets (both bound here, loopback by default):
  * PUB  ``obs_endpoint``: topics ``obs`` (observation), ``status``, ``episode``.
  * PULL ``cmd_endpoint``: ``action`` messages from the policy node, ``estop`` from anyone.

Clocks:
  * ``lockstep``: simulated time. Each control step publishes an observation, waits for
    the action answering it (at most ``watchdog_period_s`` of wall time; then the safety
    filter holds), applies it and advances the simulation by one control period.
    Deterministic for a seed when the policy keeps up.
  * ``realtime``: wall clock. A servo loop at ``loop_hz`` reads, filters and writes every
    cycle, interpolating joint targets between policy actions that arrive at
    ``control_hz``; observations are published at ``control_hz``.
"""

from __future__ import annotations

import collections
import logging
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import zmq

from robot import transport, wire
from robot.backends import make_robot
from robot.clock import PeriodStats, Rate
from robot.controller import ActionController
from robot.description import safety_config_for
from robot.interface import EpisodeInfo, RobotState
from robot.safety import SafetyFilter

log = logging.getLogger("robot_node")

# What a backend raises when the hardware (or simulator) cannot be driven: drivers raise
# HardwareFault (a RuntimeError), lifecycle violations and bus timeouts are OSError/RuntimeError.
BACKEND_FAULTS = (RuntimeError, OSError, TimeoutError)


@dataclass
class RobotNodeConfig:
    backend: str = "sim"
    backend_args: dict[str, Any] = field(default_factory=dict)
    obs_endpoint: str = "tcp://127.0.0.1:5555"
    cmd_endpoint: str = "tcp://127.0.0.1:5556"
    mode: str = "lockstep"  # or "realtime"
    control_hz: float = 20.0  # observation / policy rate
    loop_hz: float | None = None  # realtime servo rate; defaults to control_hz
    watchdog_period_s: float = 0.1
    startup_timeout_s: float = 120.0  # lockstep: wait this long for the policy's first answer
    episodes: int | None = None  # episodic backends: run this many, then exit 0
    max_episode_steps: int | None = None  # end an episode early (tests, quick checks)
    seed: int = 0
    duration_s: float | None = None  # realtime: stop after this long (None: until signalled)
    cameras: bool = True
    status_period_s: float = 1.0
    curve: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("lockstep", "realtime"):
            raise ValueError(f"mode {self.mode!r}, expected 'lockstep' or 'realtime'")
        if self.control_hz <= 0 or (self.loop_hz is not None and self.loop_hz < self.control_hz):
            raise ValueError(f"need 0 < control_hz <= loop_hz, got {self.control_hz}, {self.loop_hz}")


@dataclass
class PendingActions:
    """Rows of the latest accepted action (a chunk plays one row per control step)."""

    rows: collections.deque = field(default_factory=collections.deque)
    mode: str = "ee_delta"
    received_s: float = 0.0


class RobotNode:
    def __init__(self, config: RobotNodeConfig) -> None:
        self.config = config
        self.robot = make_robot(config.backend, **config.backend_args)
        self.robot.connect()
        self.safety = SafetyFilter(
            self.robot.limits, safety_config_for(self.robot, watchdog_period_s=config.watchdog_period_s))
        if self.robot.soft_start_on_connect:
            self.safety.start_soft_start(time.perf_counter())
        self.controller = ActionController(self.robot, self.safety, 1.0 / config.control_hz)
        self.ctx = zmq.Context()
        curve = transport.curve_from_params(config.curve)
        self.pub = transport.open_socket(self.ctx, zmq.PUB, config.obs_endpoint, bind=True, curve=curve)
        self.pull = transport.open_socket(self.ctx, zmq.PULL, config.cmd_endpoint, bind=True, curve=curve)
        self.rejects = transport.RejectCounter("robot_node")
        self.counters: collections.Counter[str] = collections.Counter()
        self.latency = PeriodStats()  # obs published -> action received, wall clock
        self.transport_latency = PeriodStats()  # the same minus the policy's own compute time
        self.pending = PendingActions()
        self.episode_latency_s: list[float] = []  # this episode's obs->action latencies
        self.episode_compute_s: list[float] = []  # and the policy's own compute time for each
        self.episode_cpu_s = 0.0  # the policy's CPU time this episode (as it reports it)
        self.seq = 0
        self.episode = 0
        self._published_s: dict[int, float] = {}
        self._last_obs_seq_answered = -1
        self.actions_received = 0  # every decoded action message, accepted or not
        self._stop = False
        self._last_status_s = 0.0
        self._info = EpisodeInfo(instruction="")
        self.rate: Rate | None = None  # realtime mode's servo timer
        self.fault: str | None = None  # set when the backend failed

    # -- messages -------------------------------------------------------------
    def publish_observation(self, state: RobotState) -> int:
        self.seq += 1
        arrays = {
            "proprio": np.concatenate([state.ee_pose, [state.gripper]]).astype(np.float32),
            "joint_positions": np.asarray(state.joint_positions, dtype=np.float32),
        }
        for name, image in state.cameras.items():
            arrays[f"{name}_rgb"] = image
        if "privileged" in state.extras:
            arrays["privileged"] = np.asarray(state.extras["privileged"], dtype=np.float32)
        meta = {"instruction": self._info.instruction, "episode": self.episode, "sim_time": float(state.time_s)}
        transport.send(self.pub, wire.Message("observation", meta, arrays, seq=self.seq, topic=b"obs"))
        self._published_s[self.seq] = time.perf_counter()
        if len(self._published_s) > 256:
            self._published_s.pop(next(iter(self._published_s)))
        return self.seq

    def drain_commands(self, timeout_ms: int, answering: int | None = None) -> bool:
        """Read every waiting command; with `answering`, wait up to `timeout_ms` for that obs's action.

        Returns True when an action answering `answering` (or, without it, any valid action) arrived.
        """
        deadline = time.perf_counter() + timeout_ms / 1e3
        got = False
        while not self._stop:
            wait_ms = 0 if got else max(0, int((deadline - time.perf_counter()) * 1e3))
            if not self.pull.poll(wait_ms):
                return got
            msg = transport.recv(self.pull, self.rejects)
            if msg is None:
                continue
            if msg.schema == "estop":
                self._handle_estop(msg)
            elif msg.schema == "action":
                self.actions_received += 1
                got = self._accept_action(msg, answering) or got
            else:
                self.rejects.reject(wire.UnknownSchema(f"{msg.schema!r} is not accepted on the command socket"))
        return got

    def _accept_action(self, msg: wire.Message, answering: int | None) -> bool:
        obs_seq = msg.meta["obs_seq"]
        if obs_seq <= self._last_obs_seq_answered or obs_seq > self.seq:
            self._count("out_of_order", f"action answers obs {obs_seq}, latest answered {self._last_obs_seq_answered}")
            return False
        if answering is not None and obs_seq != answering:
            self._count("stale", f"action answers obs {obs_seq}, waiting for {answering}")
            return False
        if answering is None and (time.time_ns() - msg.t_ns) / 1e9 > self.config.watchdog_period_s:
            self._count("stale", f"action sent {(time.time_ns() - msg.t_ns) / 1e6:.1f} ms ago")
            return False
        action = np.asarray(msg.arrays["action"], dtype=np.float64)
        rows = action.reshape(1, -1) if action.ndim == 1 else action
        widths = (7, 8) if msg.meta["mode"] == "ee_delta" else (len(self.robot.joint_names) + 1,)
        if rows.shape[1] not in widths or len(rows) == 0:
            self._count("bad_action_shape", f"{msg.meta['mode']} action of shape {action.shape}, rows of {widths}")
            return False
        now = time.perf_counter()
        if obs_seq in self._published_s:
            latency = now - self._published_s[obs_seq]
            compute_s = float(msg.meta.get("compute_ms", 0.0)) / 1e3
            self.latency.add(latency)
            self.transport_latency.add(latency - compute_s)
            self.episode_latency_s.append(latency)
            self.episode_compute_s.append(compute_s)
            self.episode_cpu_s += float(msg.meta.get("cpu_ms", 0.0)) / 1e3
        self._last_obs_seq_answered = obs_seq
        self.pending = PendingActions(collections.deque(rows), msg.meta["mode"], now)
        return True

    def _handle_estop(self, msg: wire.Message) -> None:
        if msg.meta["engage"]:
            self.safety.engage_estop(msg.meta["reason"] or "estop message", time.perf_counter())
        else:
            self.safety.reset_estop(time.perf_counter())

    def _count(self, kind: str, detail: str) -> None:
        if self.counters[kind] == 0:
            log.warning("rejected command (%s): %s", kind, detail)
        self.counters[kind] += 1

    def next_action_row(self, now_s: float) -> np.ndarray | None:
        """The row to play this control step, or None when nothing fresh is queued."""
        horizon_s = self.config.watchdog_period_s + len(self.pending.rows) / self.config.control_hz
        if not self.pending.rows or now_s - self.pending.received_s > horizon_s:
            self.pending.rows.clear()
            return None
        return self.pending.rows.popleft()

    def publish_status(self, force: bool = False) -> dict[str, Any]:
        now = time.perf_counter()
        if not force and now - self._last_status_s < self.config.status_period_s:
            return {}
        self._last_status_s = now
        stats = self.stats()
        transport.send(self.pub, wire.Message("status", {"stats": stats}, seq=self.seq, topic=b"status"))
        return stats

    def stats(self) -> dict[str, Any]:
        events = [asdict(e) for e in list(self.safety.events)[-5:]]
        timing = {}
        if self.rate is not None:
            timing = {"period_error_ms": self.rate.errors.summary_ms(), "missed_cycles": self.rate.missed_cycles}
        return {
            **timing,
            "fault": self.fault,
            "mode": self.config.mode,
            "steps": self.seq,
            "rejected": dict(self.rejects.counts),
            "commands": dict(self.counters),
            "safety": dict(self.safety.counters),
            "safety_events": events,
            "estopped": self.safety.estopped,
            "latency_ms": self.latency.summary_ms(),
            "transport_latency_ms": self.transport_latency.summary_ms(),
        }

    # -- loops ----------------------------------------------------------------
    def run(self) -> int:
        """Run the loop until done or signalled; 0 when done, 1 without a policy, 2 on a backend fault."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        try:
            if self.config.mode == "lockstep":
                from robot.nodes.lockstep import run_lockstep

                return run_lockstep(self)
            from robot.nodes.realtime import run_realtime

            return run_realtime(self)
        except BACKEND_FAULTS as exc:
            self.fault = f"{type(exc).__name__}: {exc}"
            log.error("backend fault, robot held and node stopping: %s", self.fault)
            return 2
        finally:
            self.shutdown()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.safety.engage_estop(f"signal {signal.Signals(signum).name}", time.perf_counter())
        self._stop = True

    def hold(self) -> None:
        """Latch the e-stop and write the hold command: a stopping node leaves the robot held."""
        self.safety.engage_estop("node shutdown", time.perf_counter())
        state = self.robot.read(with_cameras=False)
        self.controller.apply(None, "ee_delta", state, time.perf_counter())

    def shutdown(self) -> None:
        try:
            try:
                self.hold()
            except BACKEND_FAULTS as exc:  # the bus may be the thing that failed
                log.error("could not write the hold command: %s", exc)
            self.publish_status(force=True)
        finally:
            self.robot.disconnect()
            self.pub.close(linger=500)  # let the last status/episode messages out
            self.pull.close()
            transport.close_context(self.ctx)
