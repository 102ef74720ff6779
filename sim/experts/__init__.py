"""Privileged scripted experts by task name (`expert:PickPlace` in `policies.registry`).

A spec may name a variant after "?": `PickPlace?robot=humanoid` (the two-arm expert for the
humanoid) or `PickPlace?style=reactive` (the memoryless expert, a consistent DAgger labeller; also
for Stack, Sort and Kitting, from `sim.experts.place_reactive`, Conveyor and Insert).
"""

from __future__ import annotations

import importlib
from urllib.parse import parse_qsl

from policies.base import Policy
from sim.experts.conveyor import ConveyorExpert
from sim.experts.insert import InsertExpert
from sim.experts.kitting import KittingExpert
from sim.experts.pick_place import PickPlaceExpert
from sim.experts.sort import SortExpert
from sim.experts.stack import StackExpert

EXPERTS: dict[str, type] = {"PickPlace": PickPlaceExpert, "Insert": InsertExpert, "Conveyor": ConveyorExpert,
                           "Sort": SortExpert, "Stack": StackExpert, "Kitting": KittingExpert}
# (task, option, value) -> "module:Class", imported on use.
VARIANTS: dict[tuple[str, str, str], str] = {
    ("PickPlace", "robot", "humanoid"): "sim.experts.humanoid_pick_place:HumanoidPickPlaceExpert",
    ("Sort", "robot", "humanoid"): "sim.experts.humanoid_sort:HumanoidSortExpert",
    ("Conveyor", "robot", "humanoid"): "sim.experts.humanoid_conveyor:HumanoidConveyorExpert",
    ("Insert", "robot", "humanoid"): "sim.experts.humanoid_insert:HumanoidInsertExpert",
    ("PickPlace", "style", "reactive"): "sim.experts.pick_place_reactive:ReactivePickPlaceExpert",
    ("Stack", "style", "reactive"): "sim.experts.stack:ReactiveStackExpert",
    ("Sort", "style", "reactive"): "sim.experts.sort:ReactiveSortExpert",
    ("Kitting", "style", "reactive"): "sim.experts.kitting:ReactiveKittingExpert",
    ("Conveyor", "style", "reactive"): "sim.experts.conveyor_reactive:ReactiveConveyorExpert",
    ("Insert", "style", "reactive"): "sim.experts.insert_reactive:ReactiveInsertExpert",
}
DEFAULTS = {"robot": "panda", "style": "phases"}  # the options' values that mean the plain expert


def default_expert_spec(task: str, env_kwargs: dict | None = None) -> str:
    """The expert spec for a task's env: its robot's variant where one exists (a humanoid env once got the
    Panda expert, which drives the humanoid's arms less well), else the plain expert."""
    robot = (env_kwargs or {}).get("robot", DEFAULTS["robot"])
    return f"expert:{task}?robot={robot}" if (task, "robot", robot) in VARIANTS else f"expert:{task}"


def make_expert(spec: str) -> Policy:
    """A fresh expert for `spec` ("Task" or "Task?option=value"); raises ValueError naming what exists."""
    task, _, query = spec.partition("?")
    if task not in EXPERTS:
        raise ValueError(f"no scripted expert for task {task!r}; known: {sorted(EXPERTS)}")
    known = sorted(f"{t}?{k}={v}" for t, k, v in VARIANTS)
    try:
        options = {k: v for k, v in parse_qsl(query, strict_parsing=bool(query)) if DEFAULTS.get(k) != v}
    except ValueError:
        raise ValueError(f"expert spec {spec!r} is not Task?option=value; variants: {known}") from None
    if not options:
        return EXPERTS[task]()
    if len(options) > 1 or (task, *next(iter(options.items()))) not in VARIANTS:
        raise ValueError(f"no scripted expert {spec!r}; variants: {known}")
    module, _, name = VARIANTS[(task, *next(iter(options.items())))].partition(":")
    return getattr(importlib.import_module(module), name)()


__all__ = ["ConveyorExpert", "EXPERTS", "InsertExpert", "KittingExpert", "PickPlaceExpert", "SortExpert",
           "StackExpert", "VARIANTS", "default_expert_spec", "make_expert"]
