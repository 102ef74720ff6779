"""Shared test helpers: free loopback ports and a subscriber on a robot node's topics."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def endpoints() -> dict[str, str]:
    return {"obs_endpoint": f"tcp://127.0.0.1:{free_port()}", "cmd_endpoint": f"tcp://127.0.0.1:{free_port()}"}
