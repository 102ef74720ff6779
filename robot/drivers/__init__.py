"""Hardware (and stand-in) backends, looked up by the name a launch file gives.

`DRIVER_BACKENDS` maps a backend name to ``"module:Class"``; nothing is imported
until a backend is loaded, so `robocell` never pays for a bus library it does not
use. Every class takes its settings as keyword arguments straight from the launch
file (``description: assets/robots/x.yaml``, ``port``, ``baudrate``, ``channel``,
``interface`` ...).
"""

from __future__ import annotations

import importlib

DRIVER_BACKENDS: dict[str, str] = {
    "dynamixel": "robot.drivers.dynamixel:DynamixelRobot",
    "canopen": "robot.drivers.canopen_drive:CanopenRobot",
    "replay": "robot.drivers.replay:ReplayRobot",
    "mock": "robot.drivers.replay:MockRobot",
}


def load_backend(name: str) -> type:
    """The backend class registered as `name`."""
    try:
        target = DRIVER_BACKENDS[name]
    except KeyError:
        raise KeyError(f"unknown driver backend {name!r}; known: {sorted(DRIVER_BACKENDS)}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)
