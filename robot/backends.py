"""Robot backends selected by name in a launch file.

`robot/` never imports `sim/` or a driver directly: a backend is a
"module:Class" string looked up here and imported only when chosen, so switching
between simulation and hardware is one word in the launch file.
"""

from __future__ import annotations

import importlib
from typing import Any

from robot.interface import Robot

BACKENDS: dict[str, str] = {
    "sim": "sim.backend:SimRobot",
    "dynamixel": "robot.drivers.dynamixel:DynamixelRobot",
    "canopen": "robot.drivers.canopen_drive:CanopenRobot",
    "replay": "robot.drivers.replay:ReplayRobot",
    "mock": "robot.drivers.replay:MockRobot",
}


def register_backend(name: str, target: str) -> None:
    """Make `backend: name` in a launch file build `target` ("module:Class")."""
    BACKENDS[name] = target


def make_robot(name: str, **kwargs: Any) -> Robot:
    """Build the backend a launch file names, passing its `backend_args`."""
    if name not in BACKENDS:
        raise ValueError(f"unknown robot backend {name!r}; known: {sorted(BACKENDS)}")
    module_name, _, attr = BACKENDS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    robot = cls(**kwargs)
    if not isinstance(robot, Robot):
        raise TypeError(f"backend {name!r} built {type(robot).__name__}, which is not a robot.interface.Robot")
    return robot
