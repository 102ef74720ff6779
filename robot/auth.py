"""CurveZMQ authentication for sockets that leave the machine, and `robocell keys`.

Loopback endpoints (127.x, localhost, [::1], ipc://, inproc://) may stay plain;
anything else should be secured (`check_endpoint` enforces that policy):

* the server side (`secure_server`, before ``bind``) loads its secret key, becomes
  a CURVE server and starts a ZAP handler (``zmq.auth.thread.ThreadAuthenticator``)
  that admits only clients whose public key is in ``authorized_clients_dir``;
* the client side (`secure_client`, before ``connect``) loads its own key pair and
  the server's public key.

A refused client (unknown key, or one speaking plain ZMTP to a CURVE server)
never gets a message through; every refusal is counted and logged, the first of
each kind and every hundredth after at WARNING, so a peer retrying in a loop does
not flood the log. Make keys with ``robocell keys --dir DIR --name NAME`` and copy
a client's ``NAME.key`` (public) into the server's authorised directory.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ipaddress
import logging
import os
import threading
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

log = logging.getLogger(__name__)

LOOPBACK_NAMES = {"localhost", "lo", "ip6-localhost"}
_REFUSAL_EVENTS = {
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake_failed",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol_mismatch",  # e.g. a plaintext client
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "auth_denied",
}


class InsecureEndpointError(RuntimeError):
    """A non-loopback endpoint without CURVE security."""


def is_loopback(endpoint: str) -> bool:
    """True for endpoints that cannot be reached from another machine."""
    scheme, sep, address = endpoint.partition("://")
    if not sep:
        raise ValueError(f"endpoint {endpoint!r} has no transport (expected e.g. tcp://host:port)")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme not in ("tcp", "ws", "wss"):
        return False
    host = address.rsplit(";", 1)[-1]  # "source;destination" connect form: the destination counts
    host = host.split("/", 1)[0]
    if host.startswith("["):
        host = host[1:host.find("]")]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", a hostname or an interface name: reachable from elsewhere


def check_endpoint(endpoint: str, secured: bool, allow_insecure: bool = False) -> None:
    """Refuse a plain socket on a non-loopback endpoint unless explicitly allowed."""
    if not secured and not is_loopback(endpoint) and not allow_insecure:
        raise InsecureEndpointError(
            f"{endpoint} is reachable from other machines but has no CURVE keys; give keys "
            f"(robocell keys) or allow insecure explicitly")


class _ZapLog(logging.LoggerAdapter):
    """The ZAP handler's logger: its DENIED lines become counted refusals."""

    def __init__(self, security: ServerSecurity) -> None:
        super().__init__(logging.getLogger(f"{__name__}.zap"), {})
        self.security = security

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        text = str(msg) % args if args else str(msg)
        if text.startswith("DENIED"):
            self.security.record("auth_denied", text)
        else:
            super().debug(msg, *args, **kwargs)


class ServerSecurity:
    """What `secure_server` started: the ZAP handler and a handshake monitor. Call `stop()`."""

    def __init__(self, socket: zmq.Socket) -> None:
        self.refusals: collections.Counter[str] = collections.Counter()
        self.last_refusals: collections.deque[str] = collections.deque(maxlen=16)
        self.authenticator: ThreadAuthenticator | None = None
        self._socket = socket
        self._running = True
        self._lock = threading.Lock()
        monitor = socket.get_monitor_socket(sum(_REFUSAL_EVENTS))
        self._monitor_thread = threading.Thread(target=self._watch, args=(monitor,), name="zmq-auth-monitor",
                                                daemon=True)
        self._monitor_thread.start()

    def record(self, kind: str, detail: str) -> None:
        with self._lock:
            self.refusals[kind] += 1
            count = self.refusals[kind]
            self.last_refusals.append(f"{kind}: {detail}")
        if count == 1 or count % 100 == 0:
            log.warning("refused client (%s, %d so far): %s", kind, count, detail)

    def _watch(self, monitor: zmq.Socket) -> None:
        try:
            while self._running:
                if not monitor.poll(100):
                    continue
                event = recv_monitor_message(monitor)
                kind = _REFUSAL_EVENTS.get(event["event"])
                if kind == "auth_denied":
                    continue  # the ZAP handler already recorded it, with the client key
                if kind is not None:
                    endpoint = event["endpoint"].decode(errors="replace")
                    self.record(kind, f"on {endpoint} (code {event['value']})")
        except zmq.ZMQError:
            pass  # the context is terminating
        finally:
            monitor.close(linger=0)

    def stop(self) -> None:
        """Stop the monitor and (when its last user stops) the ZAP handler. Needed before ``ctx.term()``,
        which otherwise waits forever for the handler's sockets. Idempotent."""
        if not self._running:
            return
        self._running = False
        self._monitor_thread.join(timeout=1.0)
        with contextlib.suppress(zmq.ZMQError):
            self._socket.disable_monitor()
        context = self._socket.context
        with _AUTH_LOCK:
            users = _SECURED.get(id(context), [])
            if self in users:
                users.remove(self)
        _release_authenticator(context)


def shutdown(context: zmq.Context) -> None:
    """Stop every `ServerSecurity` started on `context`; call it before ``context.term()``."""
    with _AUTH_LOCK:
        users = list(_SECURED.pop(id(context), []))
    for security in users:
        security.stop()


_AUTHENTICATORS: dict[int, tuple[ThreadAuthenticator, str, int]] = {}
_SECURED: dict[int, list[ServerSecurity]] = {}
_AUTH_LOCK = threading.Lock()


def secure_server(socket: zmq.Socket, server_secret_file: str | Path, authorized_clients_dir: str | Path
                  ) -> ServerSecurity:
    """Make `socket` a CURVE server admitting only the authorised clients. Call before ``bind``."""
    public, secret = _load_keys(server_secret_file, need_secret=True)
    clients = Path(authorized_clients_dir)
    if not clients.is_dir():
        raise FileNotFoundError(f"authorised clients directory {clients} does not exist")
    if not any(clients.glob("*.key")):
        log.warning("no client public keys (*.key) in %s: every client will be refused", clients)
    security = ServerSecurity(socket)
    try:
        security.authenticator = _acquire_authenticator(socket.context, clients.resolve(), _ZapLog(security))
    except BaseException:
        security._running = False
        raise
    with _AUTH_LOCK:
        _SECURED.setdefault(id(socket.context), []).append(security)
    socket.curve_secretkey, socket.curve_publickey = secret, public
    socket.curve_server = True
    return security


def secure_client(socket: zmq.Socket, client_secret_file: str | Path, server_public_file: str | Path) -> None:
    """Give `socket` its CURVE key pair and the server's public key. Call before ``connect``."""
    public, secret = _load_keys(client_secret_file, need_secret=True)
    server_public, _ = _load_keys(server_public_file, need_secret=False)
    socket.curve_secretkey, socket.curve_publickey, socket.curve_serverkey = secret, public, server_public


def _load_keys(path: str | Path, need_secret: bool) -> tuple[bytes, bytes]:
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot load CURVE key file {path}: {exc}") from exc
    if need_secret and not secret:
        raise ValueError(f"{path} holds no secret key; pass the NAME.key_secret file made by `robocell keys`")
    return public, secret or b""


def _acquire_authenticator(context: zmq.Context, location: Path, zap_log: _ZapLog) -> ThreadAuthenticator:
    """One ZAP handler per context (ZeroMQ allows one); sockets sharing it must share the key directory."""
    with _AUTH_LOCK:
        entry = _AUTHENTICATORS.get(id(context))
        if entry is not None:
            auth, existing, users = entry
            if existing != str(location):
                raise ValueError(f"this context already authenticates against {existing}, not {location}")
            _AUTHENTICATORS[id(context)] = (auth, existing, users + 1)
            return auth
        auth = ThreadAuthenticator(context, log=zap_log)
        auth.start()
        auth.configure_curve(domain="*", location=str(location))
        _AUTHENTICATORS[id(context)] = (auth, str(location), 1)
        return auth


def _release_authenticator(context: zmq.Context) -> None:
    with _AUTH_LOCK:
        entry = _AUTHENTICATORS.get(id(context))
        if entry is None:
            return
        auth, location, users = entry
        if users > 1:
            _AUTHENTICATORS[id(context)] = (auth, location, users - 1)
            return
        del _AUTHENTICATORS[id(context)]
    auth.stop()


# -- `robocell keys` -----------------------------------------------------------------
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, help="directory for the key files")
    parser.add_argument("--name", required=True, help="key name: writes NAME.key and NAME.key_secret")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(directory), args.name)
    os.chmod(secret, 0o600)
    print(f"public key: {public}\nsecret key: {secret} (keep it private; mode 600)")
    return 0
