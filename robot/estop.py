"""`robocell estop`: engage (or explicitly reset) a robot node's e-stop latch from any shell."""

from __future__ import annotations

import argparse
import time

import zmq

from robot import transport, wire


def send_estop(cmd_endpoint: str, engage: bool, reason: str, repeats: int = 3) -> None:
    """Push an `estop` message to a robot node's command socket.

    Sent a few times over ~100 ms because a fresh PUSH socket may still be connecting;
    engaging or resetting the latch is idempotent, so repeats are harmless.
    """
    ctx = zmq.Context()
    push = transport.open_socket(ctx, zmq.PUSH, cmd_endpoint, bind=False)
    try:
        for _ in range(repeats):
            transport.send(push, wire.Message("estop", {"engage": engage, "reason": reason}, topic=b"estop"))
            time.sleep(0.03)
    finally:
        push.close(linger=500)
        ctx.term()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5556", help="the robot node's cmd_endpoint")
    parser.add_argument("--reset", action="store_true", help="clear the latch instead of engaging it")
    parser.add_argument("--reason", default="operator")
    parser.set_defaults(run=lambda a: send_estop(a.endpoint, not a.reset, a.reason))
