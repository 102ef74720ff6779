"""Tasks by name. Importing this package registers the built-in tasks."""

from sim.tasks.base import TASKS, GripperRobot, Task, register_task, task_class
from sim.tasks.conveyor import Conveyor
from sim.tasks.insert import Insert
from sim.tasks.kitting import Kitting
from sim.tasks.pick_place import PickPlace
from sim.tasks.sort import Sort
from sim.tasks.stack import Stack

__all__ = ["TASKS", "Conveyor", "GripperRobot", "Insert", "Kitting", "PickPlace", "Sort", "Stack", "Task",
           "register_task", "task_class"]
