"""Privileged scripted experts by task name (`expert:PickPlace` in `policies.registry`)."""

from __future__ import annotations

from policies.base import Policy
from sim.experts.conveyor import ConveyorExpert
from sim.experts.insert import InsertExpert
from sim.experts.kitting import KittingExpert
from sim.experts.pick_place import PickPlaceExpert
from sim.experts.sort import SortExpert
from sim.experts.stack import StackExpert

EXPERTS: dict[str, type] = {"PickPlace": PickPlaceExpert, "Insert": InsertExpert, "Conveyor": ConveyorExpert,
                           "Sort": SortExpert, "Stack": StackExpert, "Kitting": KittingExpert}


def make_expert(task: str) -> Policy:
    """A fresh expert for `task`; raises ValueError naming the known tasks."""
    if task not in EXPERTS:
        raise ValueError(f"no scripted expert for task {task!r}; known: {sorted(EXPERTS)}")
    return EXPERTS[task]()


__all__ = ["ConveyorExpert", "EXPERTS", "InsertExpert", "KittingExpert", "PickPlaceExpert", "SortExpert",
           "StackExpert", "make_expert"]
