"""Conveyor: the moving belt, judging, the layout, wording, interception (the rest: `test_sim_tasks.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.backend import SimRobot
from sim.experts.conveyor import intercept_time
from sim.tasks.conveyor import (
    BELT_END_X,
    BELT_SPEED_M_S,
    HELDOUT_TEMPLATES,
    PART_SPACING_M,
    TRAIN_TEMPLATES,
    Conveyor,
    conveyor_templates,
)
from sim.world import SOLVER_RESIDUAL_M_S


@pytest.fixture
def robot() -> SimRobot:
    r = SimRobot(task="Conveyor", cameras=(), seed=21)
    r.connect()
    yield r
    r.disconnect()


def test_belt_carries_every_part_toward_the_robot_and_stops_at_the_end(robot: SimRobot) -> None:
    task = robot.task
    assert BELT_SPEED_M_S[0] <= task.belt_speed <= BELT_SPEED_M_S[1]
    start = np.array([robot._world.body_pose(part.body)[:3] for part in task.parts])
    gaps = np.diff(np.sort(start[:, 0]))
    assert np.all(gaps >= PART_SPACING_M - 1e-3)
    for _ in range(20):  # one simulated second, nothing commanded
        robot.advance(0.05)
    moved = np.array([robot._world.body_pose(part.body)[:3] for part in task.parts])
    travel = start[:, 0] - moved[:, 0]
    assert np.allclose(travel, task.belt_speed * 1.0, atol=2e-3)  # carried by friction, without slipping
    assert np.allclose(moved[:, 1:], start[:, 1:], atol=1e-3)
    state = Conveyor.unpack_privileged(robot.read(with_cameras=False).extras["privileged"])
    assert state["part_velocity"][0] == pytest.approx(-task.belt_speed, abs=2e-3)
    # The belt's velocity motor is a solver constraint: it holds speed to the solver's residual.
    assert state["belt_velocity"][0] == pytest.approx(-task.belt_speed, abs=2 * SOLVER_RESIDUAL_M_S)
    for _ in range(int(0.6 / BELT_SPEED_M_S[0] * 20)):  # long enough for every pallet to reach the end stop
        robot.advance(0.05)
    state = Conveyor.unpack_privileged(robot.read(with_cameras=False).extras["privileged"])
    assert state["belt_velocity"][0] == pytest.approx(0.0, abs=1e-3)
    assert robot._world.body_pose(task.target.body)[0] >= BELT_END_X - 0.05


def _teleport_target(robot: SimRobot, xyz: tuple[float, float, float]) -> None:
    robot._world.client.resetBasePositionAndOrientation(robot.task.target.body, xyz, [0, 0, 0, 1])
    robot._world.client.resetBaseVelocity(robot.task.target.body, [0, 0, 0], [0, 0, 0])
    for _ in range(10):
        robot.advance(0.05)


def test_part_in_the_named_tote_succeeds(robot: SimRobot) -> None:
    task = robot.task
    assert not task.success() and 0.0 <= robot.progress() < 0.3
    cx, cy = task.tote.center_xy
    _teleport_target(robot, (cx, cy, task.tote.floor_top_z + task.target.shape.half_height_m + 0.01))
    assert task.in_tote() and task.success()
    assert robot.episode_info().success and robot.progress() == 1.0


def test_part_in_the_other_tote_fails(robot: SimRobot) -> None:
    task = robot.task
    cx, cy = task.tote.center_xy
    _teleport_target(robot, (cx, -cy, task.tote.floor_top_z + task.target.shape.half_height_m + 0.01))
    assert not task.in_tote() and not robot.episode_info().success


def test_privileged_layout_names_every_entry(robot: SimRobot) -> None:
    vector = robot.read(with_cameras=False).extras["privileged"]
    fields = Conveyor.unpack_privileged(vector)
    assert sum(v.size for v in fields.values()) == vector.size == Conveyor.privileged_size()
    task = robot.task
    assert np.allclose(fields["part_pose"][:3], robot._world.body_pose(task.target.body)[:3], atol=1e-6)
    assert np.sign(fields["tote_center"][1]) == (1 if task.side == "left" else -1)
    assert fields["grasped"][0] == 0.0 and fields["in_tote"][0] == 0.0
    assert fields["distractor_mask"].sum() == len(task.parts) - 1
    assert abs(fields["grasp_yaw"][0]) <= np.pi / 2 + 1e-6


def test_templates_by_split() -> None:  # disjoint and plentiful: test_sim_tasks.py
    assert conveyor_templates("train") == TRAIN_TEMPLATES and conveyor_templates("heldout") == HELDOUT_TEMPLATES
    with pytest.raises(ValueError, match="split"):
        conveyor_templates("validation")


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_episodes_draw_wording_from_their_split_and_name_one_part(split: str) -> None:
    r = SimRobot(task="Conveyor", cameras=(), instruction_split=split)
    r.connect()
    try:
        for seed in range(6):
            info = r.reset_episode(seed)
            task = r.task
            slots = {"colour": task.target.colour, "part": task.target.shape.name, "side": task.side}
            assert any(t.format(**slots) == info.instruction for t in conveyor_templates(split)), info.instruction
            assert sum((p.colour, p.shape.name) == (slots["colour"], slots["part"]) for p in task.parts) == 1
    finally:
        r.disconnect()


def test_intercept_time_meets_the_moving_part() -> None:
    part, velocity, hand = np.array([0.7, 0.0]), np.array([-0.05, 0.0]), np.array([0.4, 0.1])
    t = intercept_time(part, velocity, hand, 0.25)
    assert np.linalg.norm(part + velocity * t - hand) == pytest.approx(0.25 * t)
    assert intercept_time(hand, velocity, hand, 0.25) == 0.0
