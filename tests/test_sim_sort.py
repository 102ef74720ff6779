"""Sort: judging from simulator state, the rule, the privileged layout (the rest: `test_sim_tasks.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.backend import SimRobot
from sim.tasks import TASKS
from sim.tasks.sort import N_PARTS, Sort
from sim.world import BINS


# -- judging --------------------------------------------------------------------------------
@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(task="Sort", cameras=(), seed=4)
    r.connect()
    yield r
    r.disconnect()


def _drop_into(robot: SimRobot, part: int, bin_name: str, spot: tuple[float, float]) -> None:
    spec = BINS[bin_name]
    body = robot.task.parts[part].body
    xyz = (spec.center_xy[0] + spot[0], spec.center_xy[1] + spot[1], spec.floor_top_z + 0.03)
    robot._world.client.resetBasePositionAndOrientation(body, xyz, [0, 0, 0, 1])


def test_every_part_in_its_bin_succeeds_and_one_astray_fails(robot: SimRobot) -> None:
    task = robot.task
    assert not task.success() and 0.0 <= robot.progress() < 1.0 / N_PARTS
    spots = [(-0.04, -0.04), (0.04, 0.04), (0.04, -0.04)]
    wrong = next(name for name in BINS if BINS[name] is not task.goal_bins[0])
    _drop_into(robot, 0, wrong, spots[0])
    for i in range(1, N_PARTS):
        _drop_into(robot, i, task.goal_bins[i].name, spots[i])
    for _ in range(10):
        robot.advance(0.05)
    assert not task.success() and not task.in_goal(0) and task.in_goal(1)
    assert (N_PARTS - 1) / N_PARTS <= robot.progress() < 1.0
    _drop_into(robot, 0, task.goal_bins[0].name, spots[0])
    for _ in range(10):
        robot.advance(0.05)
    assert task.success() and robot.episode_info().success and robot.progress() == 1.0


def test_rule_sends_matching_parts_to_the_named_bin(robot: SimRobot) -> None:
    for seed in range(12):
        robot.reset_episode(seed)
        task = robot.task
        key = {"colour": lambda p: p.colour, "shape": lambda p: p.shape.name}[task.rule]
        goals = [spec.name for spec in task.goal_bins]
        assert goals == [task.bin_name if key(p) == task.key else task.other_bin_name for p in task.parts]
        assert set(goals) == set(BINS)  # both bins get a part
        assert task.key in task.instruction and task.bin_name in task.instruction


def test_privileged_layout_names_every_entry(robot: SimRobot) -> None:
    vector = robot.read(with_cameras=False).extras["privileged"]
    fields = Sort.unpack_privileged(vector)
    assert sum(v.size for v in fields.values()) == vector.size == Sort.privileged_size()
    poses = fields["part_poses"].reshape(N_PARTS, 7)
    for part, pose in zip(robot.task.parts, poses, strict=True):
        assert np.allclose(pose[:3], robot._world.body_pose(part.body)[:3], atol=1e-6)
    assert not fields["grasped"].any() and not fields["in_goal"].any()
    speeds = [robot._world.body_speed(part.body) for part in robot.task.parts]
    assert np.allclose(fields["part_speeds"], speeds, atol=1e-6)
    assert TASKS["Sort"] is Sort


def _next_part(robot: SimRobot) -> np.ndarray:
    return Sort.unpack_privileged(robot.read(with_cameras=False).extras["privileged"])["next_part"]


def test_next_part_is_the_pending_part_nearest_the_hand_with_its_bin(robot: SimRobot) -> None:
    task = robot.task
    hand = robot.task.robot.ee_pose()[:2]
    xyz = [robot._world.body_pose(part.body)[:3] for part in task.parts]
    nearest = int(np.argmin([np.linalg.norm(p[:2] - hand) for p in xyz]))
    assert np.allclose(_next_part(robot), [*xyz[nearest], *task.goal_bins[nearest].center_xy], atol=1e-6)

    _drop_into(robot, nearest, task.goal_bins[nearest].name, (0.0, 0.0))  # placed: no longer next
    robot.advance(0.05)
    pending = [i for i in range(N_PARTS) if i != nearest]
    xyz = [robot._world.body_pose(part.body)[:3] for part in task.parts]
    after = min(pending, key=lambda i: float(np.linalg.norm(xyz[i][:2] - hand)))
    assert np.allclose(_next_part(robot)[3:], task.goal_bins[after].center_xy)
    assert np.allclose(_next_part(robot)[:3], xyz[after], atol=1e-6)
