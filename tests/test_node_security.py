"""Nodes bind to loopback by default; off loopback they need CurveZMQ, and unknown clients get nothing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import zmq.auth

from robot.auth import InsecureEndpointError
from robot.nodes.policy_node import PolicyNode, PolicyNodeConfig
from robot.nodes.robot_node import RobotNode, RobotNodeConfig
from tests.conftest import free_port


def _robot_config(obs: str, cmd: str, curve: dict | None = None) -> RobotNodeConfig:
    return RobotNodeConfig(backend="mock", mode="realtime", control_hz=20, loop_hz=100, duration_s=1.5,
                           cameras=False, obs_endpoint=obs, cmd_endpoint=cmd, curve=curve)


def test_non_loopback_bind_without_keys_is_refused() -> None:
    with pytest.raises(InsecureEndpointError, match="0.0.0.0"):
        RobotNode(_robot_config(f"tcp://0.0.0.0:{free_port()}", f"tcp://0.0.0.0:{free_port()}"))


def _keys(tmp_path: Path) -> dict[str, Path]:
    server_pub, server_secret = zmq.auth.create_certificates(str(tmp_path), "robot")
    client_pub, client_secret = zmq.auth.create_certificates(str(tmp_path), "policy")
    _, stranger_secret = zmq.auth.create_certificates(str(tmp_path), "stranger")
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    shutil.copy(client_pub, authorized)
    return {"server_pub": Path(server_pub), "server_secret": Path(server_secret), "authorized": authorized,
            "client_secret": Path(client_secret), "stranger_secret": Path(stranger_secret)}


@pytest.mark.parametrize("client", ["authorized", "stranger"])
def test_curve_secured_nodes_talk_only_to_authorized_clients(tmp_path, client) -> None:
    keys = _keys(tmp_path)
    obs, cmd = f"tcp://0.0.0.0:{free_port()}", f"tcp://0.0.0.0:{free_port()}"
    server_curve = {"secret_key": str(keys["server_secret"]), "authorized_dir": str(keys["authorized"])}
    secret = keys["client_secret"] if client == "authorized" else keys["stranger_secret"]
    client_curve = {"secret_key": str(secret), "server_public_key": str(keys["server_pub"])}
    node = RobotNode(_robot_config(obs, cmd, server_curve))
    policy = PolicyNode(PolicyNodeConfig(policy="zero:7", obs_endpoint=obs.replace("0.0.0.0", "127.0.0.1"),
                                         cmd_endpoint=cmd.replace("0.0.0.0", "127.0.0.1"), curve=client_curve))
    stop = threading.Event()
    server = threading.Thread(target=lambda: [policy.step(50) for _ in iter(stop.is_set, True)], daemon=True)
    server.start()
    try:
        assert node.run() == 0
    finally:
        stop.set()
        server.join(timeout=5)
    answered = node.latency.summary_ms()["n"]
    if client == "authorized":
        assert answered >= 10, node.stats()
    else:
        assert answered == 0 and policy.answered == 0
