"""Insert: judging from simulator state, the layout, wording (the rest: `test_sim_tasks.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.backend import SimRobot
from sim.tasks.insert import (
    HELDOUT_TEMPLATES,
    HOLE_DEPTH_M,
    PEG_SHAPE,
    TRAIN_TEMPLATES,
    Insert,
    insert_templates,
)
from sim.world import COLOURS


@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(task="Insert", cameras=(), seed=21)
    r.connect()
    yield r
    r.disconnect()


def _drop_peg(robot: SimRobot, dxy: tuple[float, float], dyaw: float, height: float) -> None:
    task = robot.task
    client = robot._world.client
    orientation = client.getQuaternionFromEuler([0, 0, task.fixture_yaw + dyaw])
    position = [task.hole_top[0] + dxy[0], task.hole_top[1] + dxy[1], task.hole_top[2] + height]
    client.resetBasePositionAndOrientation(task.peg, position, orientation)
    for _ in range(15):
        robot.advance(0.05)


def test_aligned_peg_drops_in_and_succeeds(robot: SimRobot) -> None:
    task = robot.task
    assert not task.success() and 0.0 <= robot.progress() < 0.25
    _drop_peg(robot, (0.0, 0.0), np.pi / 2 + 0.02, PEG_SHAPE.half_height_m + 0.005)  # a quarter turn is the same fit
    assert task.insertion_depth() == pytest.approx(HOLE_DEPTH_M, abs=1e-3)
    assert task.in_hole() and task.success()
    assert robot.episode_info().success and robot.progress() == 1.0


def test_misaligned_peg_stays_out(robot: SimRobot) -> None:
    task = robot.task
    _drop_peg(robot, (0.0, 0.0), 0.2, PEG_SHAPE.half_height_m + 0.002)  # turned 11 degrees: wider than the hole
    assert task.insertion_depth() < 0.2 * HOLE_DEPTH_M and not task.success()
    assert robot.progress() < 1.0


def test_privileged_layout_names_every_entry(robot: SimRobot) -> None:
    vector = robot.read(with_cameras=False).extras["privileged"]
    fields = Insert.unpack_privileged(vector)
    assert sum(v.size for v in fields.values()) == vector.size == Insert.privileged_size()
    task = robot.task
    assert np.allclose(fields["peg_pose"][:3], robot._world.body_pose(task.peg)[:3], atol=1e-6)
    assert np.allclose(fields["hole_top"], task.hole_top, atol=1e-6)
    assert fields["peg_bottom"][2] == pytest.approx(0.0, abs=2e-3)  # standing on the table
    assert fields["hole_half_size"][0] - PEG_SHAPE.half_extents[0] <= 0.001  # at most 2 mm clearance in all
    assert fields["grasped"][0] == 0.0 and fields["insertion_depth"][0] == 0.0
    assert fields["distractor_mask"].sum() == len(task.pegs) - 1
    assert abs(fields["grasp_yaw"][0]) <= np.pi / 4 + 1e-6 and abs(fields["hole_yaw"][0]) <= np.pi / 4 + 1e-6


def test_templates_by_split() -> None:  # disjoint and plentiful: test_sim_tasks.py
    assert insert_templates("train") == TRAIN_TEMPLATES and insert_templates("heldout") == HELDOUT_TEMPLATES
    with pytest.raises(ValueError, match="split"):
        insert_templates("validation")


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_episodes_draw_wording_from_their_split_and_name_the_target(split: str) -> None:
    r = SimRobot(task="Insert", cameras=(), instruction_split=split)
    r.connect()
    try:
        for seed in range(6):
            info = r.reset_episode(seed)
            templates = [t for t in insert_templates(split) if t.format(colour=r.task.colour) == info.instruction]
            assert templates, info.instruction
            assert sum(colour in info.instruction.split() for colour in COLOURS) == 1  # one peg has that colour
    finally:
        r.disconnect()


def test_peg_colours_name_each_pegs_rendered_colour(robot: SimRobot) -> None:
    """`peg_colours` lets a diagnosis tell a distractor peg's colour; it must be the colour drawn."""
    for seed in range(4):
        robot.reset_episode(seed)
        task = robot.task
        assert task.peg_colours[0] == task.colour and len(set(task.peg_colours)) == len(task.pegs)
        for body, colour in zip(task.pegs, task.peg_colours, strict=True):
            drawn = robot._world.client.getVisualShapeData(body)[0][7]
            np.testing.assert_allclose(drawn, COLOURS[colour], atol=1e-6)
