"""PickPlace judging from simulator state: success, progress, privileged layout."""

from __future__ import annotations

import numpy as np
import pytest

from sim.backend import SimRobot
from sim.tasks import TASKS, Task, register_task
from sim.tasks.pick_place import PickPlace


@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(cameras=(), seed=21)
    r.connect()
    yield r
    r.disconnect()


def _teleport_target(robot: SimRobot, xyz: tuple[float, float, float]) -> None:
    robot._world.client.resetBasePositionAndOrientation(robot.task.target.body, xyz, [0, 0, 0, 1])


def test_part_dropped_in_the_target_bin_succeeds(robot: SimRobot) -> None:
    task = robot.task
    assert not task.success() and 0.0 <= robot.progress() < 0.3
    cx, cy = task.bin.center_xy
    _teleport_target(robot, (cx, cy, task.bin.floor_top_z + task.target.shape.half_height_m + 0.01))
    for _ in range(10):
        robot.advance(0.05)
    assert task.in_bin() and task.success()
    info = robot.episode_info()
    assert info.success and info.done and robot.progress() == 1.0


def test_part_in_the_other_bin_or_on_the_table_fails(robot: SimRobot) -> None:
    task = robot.task
    cx, cy = task.bin.center_xy
    _teleport_target(robot, (cx, -cy, 0.05))  # the other bin
    for _ in range(10):
        robot.advance(0.05)
    assert not task.in_bin() and not robot.episode_info().success


def test_privileged_layout_names_every_entry(robot: SimRobot) -> None:
    vector = robot.read(with_cameras=False).extras["privileged"]
    fields = PickPlace.unpack_privileged(vector)
    assert sum(v.size for v in fields.values()) == vector.size == PickPlace.privileged_size()
    assert np.allclose(fields["part_pose"][:3], robot._world.body_pose(robot.task.target.body)[:3], atol=1e-6)
    assert fields["grasped"][0] == 0.0 and fields["in_bin"][0] == 0.0
    n = len(robot.task.parts) - 1
    assert fields["distractor_mask"].sum() == n
    assert abs(fields["grasp_yaw"][0]) <= np.pi / 2 + 1e-6
    with pytest.raises(ValueError, match="shape"):
        PickPlace.unpack_privileged(vector[:-1])


def test_registry_rejects_nameless_and_duplicate_tasks() -> None:
    assert TASKS["PickPlace"] is PickPlace
    with pytest.raises(ValueError, match="name"):
        register_task(type("Nameless", (PickPlace,), {"name": ""}))
    with pytest.raises(ValueError, match="already registered"):
        register_task(type("Impostor", (PickPlace,), {}))
    assert issubclass(PickPlace, Task)
