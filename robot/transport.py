"""Sockets for nodes: loopback by default, CurveZMQ required anywhere else.

`open_socket` is the only place nodes create sockets, so the rule "a node
reachable from another host requires authentication" is enforced once (the
loopback test and the CurveZMQ setup live in `robot.auth`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import zmq

from robot import auth, wire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurveConfig:
    """Key files from `robocell keys`. Servers need `secret_key` + `authorized_dir`;
    clients need `secret_key` + `server_public_key`."""

    secret_key: str
    authorized_dir: str | None = None
    server_public_key: str | None = None


def open_socket(
    ctx: zmq.Context, kind: int, endpoint: str, bind: bool, curve: CurveConfig | None = None
) -> zmq.Socket:
    """Create, secure and bind/connect a socket; refuses an insecure non-loopback bind."""
    if bind:
        auth.check_endpoint(endpoint, secured=curve is not None)
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        if bind:
            auth.secure_server(sock, curve.secret_key, curve.authorized_dir)
        else:
            auth.secure_client(sock, curve.secret_key, curve.server_public_key)
    (sock.bind if bind else sock.connect)(endpoint)
    return sock


def close_context(ctx: zmq.Context) -> None:
    """Stop the context's CurveZMQ authenticator (if any), then terminate it."""
    auth.shutdown(ctx)
    ctx.term()


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
