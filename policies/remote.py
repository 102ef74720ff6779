"""Policies over ZeroMQ: `RemotePolicy` (client) and `robocell serve-policy` (server).

    robocell serve-policy --policy expert:PickPlace --bind tcp://127.0.0.1:5600
    robocell collect --task PickPlace --teacher remote:tcp://127.0.0.1:5600 ...

The exchange is REQ -> ROUTER using `robot.wire` (no pickle): the client sends an
`observation` message (images, proprio, joint_positions, privileged when present; meta
instruction / episode / sim_time) and the server answers with an `action` message whose
`obs_seq` echoes the request's seq. A policy that raises is answered with a `status`
message carrying {"error": ...}, which the client raises as `RemotePolicyError`.

The server keeps one policy instance per connected client (ROUTER identity), so parallel
collection workers never share an expert's episode state, and calls `reset(instruction)`
whenever a client's (episode, instruction) changes. It binds loopback by default; the
channel is unauthenticated, so bind other interfaces only on a trusted network.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import zmq

from policies.base import Observation, Policy
from robot.wire import Message, WireError, decode, encode

log = logging.getLogger(__name__)

DEFAULT_BIND = "tcp://127.0.0.1:5600"


class RemotePolicyError(RuntimeError):
    """The server's policy raised, or the server could not be reached."""


class RemotePolicy:
    """A `Policy` whose `act` asks a server. Retries a lost request `retries` times (lazy pirate)."""

    def __init__(self, endpoint: str, timeout_ms: int = 5000, retries: int = 2) -> None:
        self.endpoint, self.timeout_ms, self.retries = endpoint, timeout_ms, retries
        self._ctx = zmq.Context.instance()
        self._sock: zmq.Socket | None = None
        self._instruction, self._episode, self._seq = "", 0, 0

    def reset(self, instruction: str) -> None:
        self._instruction = instruction
        self._episode += 1

    def act(self, observation: Observation) -> np.ndarray:
        self._seq += 1
        frames = encode(observation_message(observation, self._instruction, self._episode, self._seq))
        for _attempt in range(self.retries + 1):
            sock = self._socket()
            sock.send_multipart(frames, copy=False)
            if sock.poll(self.timeout_ms, zmq.POLLIN):
                reply = decode(sock.recv_multipart(copy=False))
                if reply.schema == "status":
                    raise RemotePolicyError(
                        f"{self.endpoint}: {reply.meta['stats'].get('error', reply.meta)}"
                    )
                if reply.schema != "action" or reply.meta["obs_seq"] != self._seq:
                    raise RemotePolicyError(
                        f"{self.endpoint}: expected the action for seq {self._seq}, "
                        f"got {reply.schema!r} seq {reply.meta.get('obs_seq')}"
                    )
                return np.array(reply.arrays["action"], dtype=np.float32)
            self._drop_socket()  # a REQ socket that lost its reply is stuck; start over
            log.warning("no reply from %s within %d ms; retrying", self.endpoint, self.timeout_ms)
        raise RemotePolicyError(
            f"{self.endpoint}: no reply after {self.retries + 1} attempts of {self.timeout_ms} ms"
        )

    def close(self) -> None:
        self._drop_socket()

    def _socket(self) -> zmq.Socket:
        if self._sock is None:
            self._sock = self._ctx.socket(zmq.REQ)
            self._sock.setsockopt(zmq.LINGER, 0)
            self._sock.connect(self.endpoint)
        return self._sock

    def _drop_socket(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None


def observation_message(observation: Observation, instruction: str, episode: int, seq: int) -> Message:
    """The wire form of a policy observation (only numeric arrays travel; the instruction goes in meta)."""
    arrays = {
        "proprio": np.asarray(observation["proprio"], dtype=np.float32),
        "joint_positions": np.asarray(observation.get("joint_positions", np.zeros(0)), dtype=np.float32),
    }
    if "privileged" in observation:
        arrays["privileged"] = np.asarray(observation["privileged"], dtype=np.float32)
    for key, value in observation.items():
        if key.endswith("_rgb"):
            arrays[key] = np.asarray(value, dtype=np.uint8)
    meta = {
        "instruction": instruction,
        "episode": episode,
        "sim_time": float(observation.get("sim_time", 0.0)),
    }
    return Message("observation", meta=meta, arrays=arrays, seq=seq)


def serve_policy(
    make_policy: Callable[[], Policy],
    bind: str = DEFAULT_BIND,
    stop: threading.Event | None = None,
    max_clients: int = 64,
    ready: threading.Event | None = None,
) -> dict[str, int]:
    """Answer observations with `make_policy()`'s actions until `stop` is set; returns counters.

    One policy per client identity (the least recently used is dropped beyond `max_clients`).
    """
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(bind)
    if not bind.startswith(("tcp://127.", "tcp://localhost", "ipc://", "inproc://")):
        log.warning("serving on %s: the channel is unauthenticated; use it only on a trusted network", bind)
    log.info("serving on %s", bind)
    clients: OrderedDict[bytes, tuple[Policy, tuple[int, str] | None]] = OrderedDict()
    counts = {"requests": 0, "errors": 0, "malformed": 0}
    if ready is not None:
        ready.set()
    try:
        while stop is None or not stop.is_set():
            if not sock.poll(100, zmq.POLLIN):
                continue
            identity, empty, *frames = sock.recv_multipart(copy=False)
            counts["requests"] += 1
            try:
                msg = decode(frames)
                if msg.schema != "observation":
                    raise WireError(f"expected an 'observation' message, got {msg.schema!r}")
                reply = _answer(clients, identity.bytes, msg, make_policy, max_clients)
            except WireError as exc:
                counts["malformed"] += 1
                reply = Message("status", meta={"stats": {"error": f"{type(exc).__name__}: {exc}"}})
            except Exception as exc:  # the policy failed: tell the client instead of dying
                counts["errors"] += 1
                log.exception("policy failed")
                reply = Message("status", meta={"stats": {"error": f"{type(exc).__name__}: {exc}"}})
            sock.send_multipart([identity, empty, *encode(reply)], copy=False)
    finally:
        sock.close(linger=0)
    return counts


def _answer(
    clients: OrderedDict, identity: bytes, msg: Message, make_policy: Callable[[], Policy], max_clients: int
) -> Message:
    if identity not in clients:
        if len(clients) >= max_clients:
            clients.popitem(last=False)
        clients[identity] = (make_policy(), None)
    clients.move_to_end(identity)
    policy, episode_key = clients[identity]
    key = (msg.meta["episode"], msg.meta["instruction"])
    if key != episode_key:
        policy.reset(msg.meta["instruction"])
        clients[identity] = (policy, key)
    observation = {**msg.arrays, "instruction": msg.meta["instruction"], "sim_time": msg.meta["sim_time"]}
    action = np.ascontiguousarray(policy.act(observation), dtype=np.float32)
    return Message("action", meta={"obs_seq": msg.seq, "mode": "ee_delta"}, arrays={"action": action})


def run(args: argparse.Namespace) -> int:
    from policies.registry import load_policy

    load_policy(args.policy)  # fail now, not on the first request, if the spec is wrong
    counts = serve_policy(lambda: load_policy(args.policy), args.bind, max_clients=args.max_clients)
    log.info("served: %s", counts)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="policy spec, e.g. expert:PickPlace or student:PATH")
    parser.add_argument(
        "--bind", default=DEFAULT_BIND, help=f"ZeroMQ endpoint (default {DEFAULT_BIND}, loopback)"
    )
    parser.add_argument("--max-clients", type=int, default=64)
    parser.set_defaults(run=run)
