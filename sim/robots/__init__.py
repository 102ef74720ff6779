"""Robot models by name (the `robot:` argument of `SimRobot`), imported only when chosen."""

from __future__ import annotations

import importlib

from sim.robots.base import Kinematics, RobotModel

ROBOT_MODELS: dict[str, str] = {
    "panda": "sim.robots.panda:PandaModel",
    "humanoid": "sim.robots.humanoid:HumanoidModel",
}


def register_robot_model(name: str, target: str) -> None:
    """Make `robot: name` build `target` ("module:Class", a `RobotModel`)."""
    ROBOT_MODELS[name] = target


def robot_model_class(name: str) -> type[RobotModel]:
    if name not in ROBOT_MODELS:
        raise ValueError(f"unknown robot model {name!r}; known: {sorted(ROBOT_MODELS)}")
    module_name, _, attr = ROBOT_MODELS[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)


__all__ = ["ROBOT_MODELS", "Kinematics", "RobotModel", "register_robot_model", "robot_model_class"]
