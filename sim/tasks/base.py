"""The `Task` contract and the registry that builds tasks by name.

A task owns what varies between episodes (which parts, where, what to say) and judges
the episode from simulator state. It never steps physics or commands the robot; the
backend does. New tasks (Sort, Stack, Insert, Conveyor, Kitting, a humanoid task)
subclass `Task` and add themselves with `@register_task`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

import numpy as np

from sim.world import World


class GripperRobot(Protocol):
    """What a task may ask of the robot model: where the hand is and what it holds."""

    def ee_pose(self) -> np.ndarray: ...

    def gripper_opening(self) -> float: ...

    def finger_contact(self, body: int) -> tuple[bool, bool]: ...


class Task(ABC):
    """One kind of episode. Call `reset(rng)` after the world is rebuilt and the robot loaded.

    `privileged_layout` names the slices of `privileged_state()` in order, so experts and
    critics can read the vector by name (`unpack_privileged`) without guessing offsets.
    """

    name: ClassVar[str] = ""
    time_limit_s: ClassVar[float] = 7.5  # 150 control steps at 20 Hz
    privileged_layout: ClassVar[tuple[tuple[str, int], ...]] = ()

    def __init__(self, world: World, robot: GripperRobot, instruction_split: str = "train") -> None:
        self.world = world
        self.robot = robot
        self.instruction_split = instruction_split
        self.instruction = ""

    @abstractmethod
    def reset(self, rng: np.random.Generator) -> None:
        """Add this episode's objects to the world and choose the instruction, using only `rng`."""

    @abstractmethod
    def success(self) -> bool:
        """Whether the goal holds now, judged from simulator state."""

    @abstractmethod
    def progress(self) -> float:
        """A dense measure of how far the episode has come, in [0, 1] (1 exactly on success)."""

    @abstractmethod
    def privileged_state(self, time_fraction: float) -> np.ndarray:
        """float32 task state laid out as `privileged_layout`; `time_fraction` is elapsed / limit."""

    @classmethod
    def privileged_size(cls) -> int:
        return sum(size for _, size in cls.privileged_layout)

    @classmethod
    def unpack_privileged(cls, vector: np.ndarray) -> dict[str, np.ndarray]:
        """Split a privileged vector into named fields (views into `vector`)."""
        vector = np.asarray(vector)
        if vector.shape != (cls.privileged_size(),):
            raise ValueError(
                f"{cls.name} privileged state has shape {vector.shape}, expected ({cls.privileged_size()},)"
            )
        fields, offset = {}, 0
        for field_name, size in cls.privileged_layout:
            fields[field_name] = vector[offset : offset + size]
            offset += size
        return fields


TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make `cls` buildable by its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} needs a non-empty `name` to be registered")
    if cls.name in TASKS and TASKS[cls.name] is not cls:
        raise ValueError(f"task name {cls.name!r} is already registered by {TASKS[cls.name].__qualname__}")
    TASKS[cls.name] = cls
    return cls


def task_class(name: str) -> type[Task]:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; registered tasks: {sorted(TASKS)}")
    return TASKS[name]
