"""CurveZMQ over real TCP on 127.0.0.1: the authorised client gets through, nobody else does."""

from __future__ import annotations

import contextlib
import logging
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from robot import auth
from robot.cli import main as robocell


@pytest.mark.parametrize("endpoint,expected", [
    ("tcp://127.0.0.1:5555", True), ("tcp://127.3.2.1:5555", True), ("tcp://localhost:5555", True),
    ("tcp://[::1]:5555", True), ("ipc:///tmp/robocell.sock", True), ("inproc://status", True),
    ("tcp://0.0.0.0:5555", False), ("tcp://*:5555", False), ("tcp://192.168.1.20:5555", False),
    ("tcp://[::]:5555", False), ("tcp://robot.local:5555", False), ("tcp://127.0.0.1:*", True),
    ("tcp://192.168.1.5;127.0.0.1:5555", True), ("udp://127.0.0.1:5555", False),
])
def test_is_loopback(endpoint: str, expected: bool) -> None:
    assert auth.is_loopback(endpoint) is expected


def test_check_endpoint_refuses_plain_sockets_off_loopback() -> None:
    auth.check_endpoint("tcp://127.0.0.1:1", secured=False)
    auth.check_endpoint("tcp://0.0.0.0:1", secured=True)
    auth.check_endpoint("tcp://0.0.0.0:1", secured=False, allow_insecure=True)
    with pytest.raises(auth.InsecureEndpointError, match="tcp://0.0.0.0:1 is reachable"):
        auth.check_endpoint("tcp://0.0.0.0:1", secured=False)
    with pytest.raises(ValueError, match="no transport"):
        auth.is_loopback("127.0.0.1:5555")


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    for name in ("server", "client", "stranger"):
        assert robocell(["keys", "--dir", str(tmp_path), "--name", name]) == 0
    (tmp_path / "authorized").mkdir()
    shutil.copy(tmp_path / "client.key", tmp_path / "authorized" / "client.key")
    return tmp_path


def test_keys_command_writes_a_private_secret(keys: Path) -> None:
    mode = stat.S_IMODE((keys / "server.key_secret").stat().st_mode)
    assert mode == 0o600 and (keys / "server.key").exists()


@pytest.fixture
def server(keys: Path) -> Iterator[tuple[zmq.Socket, auth.ServerSecurity, str]]:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    sock.linger = 0
    security = auth.secure_server(sock, keys / "server.key_secret", keys / "authorized")
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, security, f"tcp://127.0.0.1:{port}"
    sock.close()
    auth.shutdown(ctx)
    ctx.term()  # returns only because shutdown stopped the ZAP handler


def send_from(ctx: zmq.Context, endpoint: str, keys: Path, name: str | None) -> zmq.Socket:
    client = ctx.socket(zmq.PUSH)
    client.linger = 0
    if name is not None:
        auth.secure_client(client, keys / f"{name}.key_secret", keys / "server.key")
    client.connect(endpoint)
    with contextlib.suppress(zmq.Again):  # no connection admitted: nothing to queue the message on
        client.send(f"from {name}".encode(), zmq.NOBLOCK)
    return client


def test_authorised_client_gets_through_and_others_are_refused_and_logged(
        server, keys: Path, caplog: pytest.LogCaptureFixture) -> None:
    sock, security, endpoint = server
    ctx = sock.context
    with caplog.at_level(logging.WARNING, logger="robot.auth"):
        good = send_from(ctx, endpoint, keys, "client")
        assert sock.poll(2000) and sock.recv() == b"from client"
        stranger = send_from(ctx, endpoint, keys, "stranger")
        plain = send_from(ctx, endpoint, keys, None)
        assert not sock.poll(500)  # neither message arrives
        refused = _wait(lambda: security.refusals["auth_denied"] >= 1 and
                            security.refusals["protocol_mismatch"] >= 1)
    for client in (good, stranger, plain):
        client.close()
    assert refused, security.refusals
    assert "refused client (auth_denied" in caplog.text and "refused client (protocol_mismatch" in caplog.text
    assert any("client_key" in r for r in security.last_refusals)


def test_server_setup_errors_are_clear(keys: Path) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    try:
        with pytest.raises(ValueError, match="holds no secret key"):
            auth.secure_server(sock, keys / "server.key", keys / "authorized")
        with pytest.raises(FileNotFoundError, match="authorised clients directory"):
            auth.secure_server(sock, keys / "server.key_secret", keys / "nowhere")
    finally:
        sock.close(linger=0)
        auth.shutdown(ctx)
        ctx.term()


def _wait(condition, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
