"""Kitting: judging from simulator state, slots, the layout (the rest: `test_sim_tasks.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.backend import SimRobot
from sim.tasks.kitting import N_KIT, Kitting, Slot


# -- judging --------------------------------------------------------------------------------
@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(task="Kitting", cameras=(), seed=8)
    r.connect()
    yield r
    r.disconnect()


def _drop_into(robot: SimRobot, part: int, slot: Slot) -> None:
    client = robot._world.client
    xyz = (*slot.center_xy, slot.floor_z + robot.task.named[part].shape.half_height_m + 0.004)
    orientation = client.getQuaternionFromEuler([0, 0, slot.yaw])
    client.resetBasePositionAndOrientation(robot.task.named[part].body, xyz, orientation)


def test_named_parts_in_their_slots_succeed_and_a_swap_fails(robot: SimRobot) -> None:
    task = robot.task
    assert not task.success() and 0.0 <= robot.progress() < 1.0 / N_KIT
    _drop_into(robot, 0, task.slots[0])
    for _ in range(8):
        robot.advance(0.05)
    assert task.in_slot(0) and not task.in_slot(1) and not task.success()
    assert 1.0 / N_KIT <= robot.progress() < 1.0
    _drop_into(robot, 1, task.slots[0])  # the other kind's slot
    _drop_into(robot, 0, task.slots[1])
    for _ in range(8):
        robot.advance(0.05)
    assert not task.in_slot(0) and not task.in_slot(1) and not robot.episode_info().success
    _drop_into(robot, 0, task.slots[0])
    _drop_into(robot, 1, task.slots[1])
    for _ in range(8):
        robot.advance(0.05)
    assert task.success() and robot.episode_info().success and robot.progress() == 1.0


def test_layout_names_distinct_kinds_and_one_part_per_description(robot: SimRobot) -> None:
    for seed in range(10):
        robot.reset_episode(seed)
        task = robot.task
        kinds = [part.shape.name for part in task.named]
        assert len(set(kinds)) == N_KIT and [slot.kind for slot in task.slots] == kinds
        described = [(part.colour, part.shape.name) for part in task.named]
        assert all(sum((p.colour, p.shape.name) == d for p in task.parts) == 1 for d in described)
        assert all(f"{colour} {kind}" in task.instruction for colour, kind in described)
        fields = Kitting.unpack_privileged(robot.read(with_cameras=False).extras["privileged"])
        assert sum(v.size for v in fields.values()) == Kitting.privileged_size()
        poses = fields["part_poses"].reshape(N_KIT, 7)
        for part, pose in zip(task.named, poses, strict=True):
            assert np.allclose(pose[:3], robot._world.body_pose(part.body)[:3], atol=1e-6)
        assert fields["distractor_mask"].sum() == len(task.parts) - N_KIT
        assert not fields["in_slot"].any() and not fields["grasped"].any()
        speeds = [robot._world.body_speed(part.body) for part in task.named]
        assert np.allclose(fields["part_speeds"], speeds, atol=1e-6)
