"""Sockets for nodes: loopback by default, CurveZMQ required anywhere else.

`open_socket` is the only place nodes create sockets, so the rule "a node
reachable from another host requires authentication" is enforced once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import zmq

from robot import wire

log = logging.getLogger(__name__)


class InsecureEndpointError(RuntimeError):
    """A bind to a non-loopback address without CurveZMQ keys."""


@dataclass(frozen=True)
class CurveConfig:
    """Key files from `robocell keys`. Servers need `secret_key` + `authorized_dir`;
    clients need `secret_key` + `server_public_key`."""

    secret_key: str
    authorized_dir: str | None = None
    server_public_key: str | None = None


def is_loopback(endpoint: str) -> bool:
    """True for endpoints no other host can reach (ipc, inproc, tcp on loopback)."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    if not endpoint.startswith("tcp://"):
        return False
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    return host == "localhost" or host.startswith("127.") or host == "::1"


def open_socket(
    ctx: zmq.Context, kind: int, endpoint: str, bind: bool, curve: CurveConfig | None = None
) -> zmq.Socket:
    """Create, secure and bind/connect a socket; refuses an insecure non-loopback bind."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        from robot import auth  # only needed off loopback

        if bind:
            auth.secure_server(sock, curve.secret_key, curve.authorized_dir)
        else:
            auth.secure_client(sock, curve.secret_key, curve.server_public_key)
    elif bind and not is_loopback(endpoint):
        sock.close()
        raise InsecureEndpointError(
            f"refusing to bind {endpoint} without CurveZMQ keys: set `curve:` in the launch file "
            "(make keys with `robocell keys`) or bind to 127.0.0.1"
        )
    (sock.bind if bind else sock.connect)(endpoint)
    return sock


def curve_from_params(params: dict | None) -> CurveConfig | None:
    if not params:
        return None
    for key in ("secret_key", "authorized_dir", "server_public_key"):
        if params.get(key) and not Path(params[key]).exists():
            raise FileNotFoundError(f"curve.{key}: {params[key]} does not exist")
    return CurveConfig(**params)


class RejectCounter:
    """Counts malformed messages by kind and logs the first of each kind (never floods)."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.counts: dict[str, int] = {}

    def reject(self, error: Exception) -> None:
        kind = getattr(error, "kind", type(error).__name__)
        if kind not in self.counts:
            log.warning("%s: rejected malformed message (%s): %s", self.node, kind, error)
        self.counts[kind] = self.counts.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def send(sock: zmq.Socket, msg: wire.Message, flags: int = 0) -> None:
    """Encode and send without copying large buffers."""
    sock.send_multipart(wire.encode(msg), flags=flags, copy=False)


def recv(sock: zmq.Socket, rejects: RejectCounter, flags: int = 0) -> wire.Message | None:
    """Receive one message; a malformed one is counted, logged once per kind, and returns None."""
    frames = sock.recv_multipart(flags=flags, copy=False)
    try:
        return wire.decode(frames)
    except wire.WireError as exc:
        rejects.reject(exc)
        return None
