"""Tasks by name. Importing this package registers the built-in tasks."""

from sim.tasks.base import TASKS, GripperRobot, Task, register_task, task_class
from sim.tasks.pick_place import PickPlace

__all__ = ["TASKS", "GripperRobot", "PickPlace", "Task", "register_task", "task_class"]
