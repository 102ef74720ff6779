"""The policy node: observations in, actions out, for any `Policy`.

SUB ``obs_endpoint`` (topic ``obs``) and PUSH ``cmd_endpoint``, both connected,
so the node survives a robot-node restart: ZeroMQ reconnects by itself. Only the
newest observation is answered; older ones waiting in the queue are dropped and
counted (acting on a stale frame is worse than skipping it).
"""

from __future__ import annotations

import importlib
import logging
import signal
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import zmq

from robot import transport, wire

log = logging.getLogger("policy_node")


@dataclass
class PolicyNodeConfig:
    policy: str = "expert:PickPlace"  # a spec for `policy_loader`
    policy_loader: str = "policies.registry:load_policy"  # "module:callable(spec) -> Policy"
    obs_endpoint: str = "tcp://127.0.0.1:5555"
    cmd_endpoint: str = "tcp://127.0.0.1:5556"
    mode: str = "ee_delta"
    curve: dict[str, str] | None = None


def observation_from_message(msg: wire.Message) -> dict[str, Any]:
    """The Policy-facing observation dict (see policies.base) from a wire message."""
    obs: dict[str, Any] = dict(msg.arrays)
    obs["instruction"] = msg.meta["instruction"]
    return obs


class PolicyNode:
    def __init__(self, config: PolicyNodeConfig) -> None:
        self.config = config
        module_name, _, attr = config.policy_loader.partition(":")
        self.policy = getattr(importlib.import_module(module_name), attr)(config.policy)
        self.ctx = zmq.Context()
        curve = transport.curve_from_params(config.curve)
        self.sub = transport.open_socket(self.ctx, zmq.SUB, config.obs_endpoint, bind=False, curve=curve)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"obs")
        self.push = transport.open_socket(self.ctx, zmq.PUSH, config.cmd_endpoint, bind=False, curve=curve)
        self.push.setsockopt(zmq.SNDHWM, 4)
        self.rejects = transport.RejectCounter("policy_node")
        self.dropped = 0
        self.answered = 0
        self._episode: int | None = None
        self._seq = 0
        self._stop = False

    def step(self, timeout_ms: int = 100) -> bool:
        """Answer the newest waiting observation; False when none arrived in time."""
        if not self.sub.poll(timeout_ms):
            return False
        msg = None
        while self.sub.poll(0):  # keep only the newest
            newest = transport.recv(self.sub, self.rejects)
            if newest is not None:
                if msg is not None:
                    self.dropped += 1
                msg = newest
        if msg is None or msg.schema != "observation":
            return False
        if msg.meta["episode"] != self._episode:
            self._episode = msg.meta["episode"]
            self.policy.reset(msg.meta["instruction"])
        started, cpu_started = time.perf_counter(), time.thread_time()
        action = np.asarray(self.policy.act(observation_from_message(msg)), dtype=np.float32)
        compute_ms = (time.perf_counter() - started) * 1e3
        cpu_ms = (time.thread_time() - cpu_started) * 1e3
        self._seq += 1
        meta = {"obs_seq": msg.seq, "mode": self.config.mode, "compute_ms": compute_ms, "cpu_ms": cpu_ms}
        try:
            transport.send(self.push, wire.Message("action", meta, {"action": action}, seq=self._seq, topic=b"act"),
                           flags=zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1  # robot node gone; ZeroMQ reconnects when it returns
        self.answered += 1
        return True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            while not self._stop:
                self.step()
        finally:
            log.info("answered %d observations, dropped %d, rejected %s",
                     self.answered, self.dropped, self.rejects.counts or 0)
            self.sub.close()
            self.push.close()
            transport.close_context(self.ctx)
        return 0

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self._stop = True
