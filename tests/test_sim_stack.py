"""Stack: judging from simulator state, settling, the layout (the rest: `test_sim_tasks.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.backend import SimRobot
from sim.tasks.sort import grasp_yaw, grasp_yaw_vector
from sim.tasks.stack import STABLE_S, Stack
from sim.world import PART_SHAPES


# -- judging --------------------------------------------------------------------------------
@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(task="Stack", cameras=(), seed=3)
    r.connect()
    yield r
    r.disconnect()


def _place_top(robot: SimRobot, dx: float, dz: float) -> None:
    bottom = robot._world.body_pose(robot.task.bottom.body)
    xyz = (bottom[0] + dx, bottom[1], bottom[2] + dz)
    robot._world.client.resetBasePositionAndOrientation(robot.task.top.body, xyz, bottom[3:].tolist())


def test_top_cube_resting_on_the_bottom_one_succeeds_after_settling(robot: SimRobot) -> None:
    task = robot.task
    assert not task.success() and 0.0 <= robot.progress() < 0.3
    _place_top(robot, 0.0, 0.0405)
    robot.advance(0.05)
    assert task.stacked() and not task.success()  # not yet stable for long enough
    assert 0.9 <= robot.progress() < 1.0
    for _ in range(int(np.ceil(STABLE_S / 0.05))):
        robot.advance(0.05)
    assert task.success() and robot.episode_info().success and robot.progress() == 1.0


def test_top_cube_beside_the_bottom_one_or_on_the_table_fails(robot: SimRobot) -> None:
    task = robot.task
    _place_top(robot, 0.05, 0.0)  # beside it on the table
    for _ in range(8):
        robot.advance(0.05)
    assert not task.stacked() and not robot.episode_info().success
    _place_top(robot, 0.035, 0.0405)  # overhanging by most of its width: it tips off
    for _ in range(12):
        robot.advance(0.05)
    assert not task.stacked() and not robot.episode_info().success


def test_blocks_are_distinct_colours_and_the_layout_is_named(robot: SimRobot) -> None:
    for seed in range(10):
        robot.reset_episode(seed)
        task = robot.task
        colours = [block.colour for block in task.blocks]
        assert len(set(colours)) == len(colours) >= 2
        assert task.top.colour in task.instruction and task.bottom.colour in task.instruction
        fields = Stack.unpack_privileged(robot.read(with_cameras=False).extras["privileged"])
        assert np.allclose(fields["top_pose"][:3], robot._world.body_pose(task.top.body)[:3], atol=1e-6)
        assert np.allclose(fields["bottom_pose"][:3], robot._world.body_pose(task.bottom.body)[:3], atol=1e-6)
        assert fields["distractor_mask"].sum() == len(task.blocks) - 2
        assert np.allclose(fields["top_grasp_yaw_vector"], grasp_yaw_vector(task.top.shape, fields["top_pose"][3:]))
        assert fields["grasped"][0] == 0.0 and fields["stacked"][0] == 0.0
        speeds = [robot._world.body_speed(task.top.body), robot._world.body_speed(task.bottom.body)]
        assert np.allclose(fields["speeds"], speeds, atol=1e-6)


def _yaw_quat(degrees: float) -> np.ndarray:
    half = np.radians(degrees) / 2
    return np.array([0.0, 0.0, np.sin(half), np.cos(half)])


def test_grasp_yaw_vector_is_continuous_where_the_folded_yaw_jumps() -> None:
    cube, brick = PART_SHAPES["cube"], PART_SHAPES["brick"]
    # a cube at 44 and at 46 degrees: the folded yaw jumps by 88 degrees, the vector moves 8 degrees
    assert abs(grasp_yaw(cube, _yaw_quat(44)) - grasp_yaw(cube, _yaw_quat(46))) > np.radians(80)
    step = np.subtract(grasp_yaw_vector(cube, _yaw_quat(44)), grasp_yaw_vector(cube, _yaw_quat(46)))
    assert np.linalg.norm(step) < 0.15
    # turned by its symmetry the part reads the same; turned by less it does not
    assert np.allclose(grasp_yaw_vector(cube, _yaw_quat(10)), grasp_yaw_vector(cube, _yaw_quat(100)), atol=1e-6)
    assert np.allclose(grasp_yaw_vector(brick, _yaw_quat(10)), grasp_yaw_vector(brick, _yaw_quat(190)), atol=1e-6)
    assert not np.allclose(grasp_yaw_vector(brick, _yaw_quat(10)), grasp_yaw_vector(brick, _yaw_quat(100)), atol=0.1)
    assert grasp_yaw_vector(PART_SHAPES["cylinder"], _yaw_quat(30)) == (1.0, 0.0)  # any grasp will do
