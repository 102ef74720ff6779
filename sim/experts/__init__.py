"""Privileged scripted experts by task name (`expert:PickPlace` in `policies.registry`)."""

from __future__ import annotations

from policies.base import Policy
from sim.experts.pick_place import PickPlaceExpert

EXPERTS: dict[str, type] = {"PickPlace": PickPlaceExpert}


def make_expert(task: str) -> Policy:
    """A fresh expert for `task`; raises ValueError naming the known tasks."""
    if task not in EXPERTS:
        raise ValueError(f"no scripted expert for task {task!r}; known: {sorted(EXPERTS)}")
    return EXPERTS[task]()


__all__ = ["EXPERTS", "PickPlaceExpert", "make_expert"]
