"""robocell simulation: PyBullet work cell, robot models, tasks, scripted experts, gymnasium envs.

Importing `sim` registers the gymnasium ids (``robocell/PickPlace-v0``); building an
env or a `SimRobot` is what starts a simulator.
"""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = {"robocell/PickPlace-v0": "PickPlace", "robocell/Insert-v0": "Insert",
           "robocell/Conveyor-v0": "Conveyor",
           "robocell/Sort-v0": "Sort", "robocell/Stack-v0": "Stack", "robocell/Kitting-v0": "Kitting"}


def _register_envs() -> None:
    for env_id, task in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="sim.envs:ManufacturingEnv", kwargs={"task": task})


_register_envs()
