"""What every manufacturing task shares: env conformance, determinism, the expert, wording splits.

Parametrised over the tasks; each task's own judging and layout tests live in
`test_sim_<task>.py` (PickPlace's in `test_sim_env.py`, `test_sim_task.py`, `test_sim_expert.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sim  # noqa: F401 - registers the robocell/*-v0 ids
from policies.base import Policy
from sim.backend import SimRobot
from sim.envs import ManufacturingEnv
from sim.experts import make_expert
from sim.experts.motions import PickAndPlace, PlaceConfig, Placement
from sim.tasks import Task, conveyor, insert, kitting, sort, stack
from sim.tasks.language import INSTRUCTION_CHARSET, MAX_INSTRUCTION_LENGTH
from sim.tasks.pick_place import RESTING_SPEED_M_S
from sim.world import BINS, COLOURS, PART_SHAPES
from tests.sim_rollouts import assert_identical, play_expert, rollout

TASK_NAMES = ["Insert", "Conveyor", "Sort", "Stack", "Kitting"]


@dataclass(frozen=True)
class Wording:
    """A task's templates by kind, how to fill one template every way, and which kind an episode uses."""

    train: Mapping[str, tuple[str, ...]]
    heldout: Mapping[str, tuple[str, ...]]
    fill: Callable[[str], set[str]]
    kind: Callable[[Task], str]


WORDING = {
    "Insert": Wording(
        {"insert": insert.insert_templates("train")},
        {"insert": insert.insert_templates("heldout")},
        lambda t: {t.format(colour=c) for c in COLOURS},
        lambda task: "insert",
    ),
    "Conveyor": Wording(
        {"conveyor": conveyor.conveyor_templates("train")},
        {"conveyor": conveyor.conveyor_templates("heldout")},
        lambda t: {t.format(colour=c, part=p, side=s) for c in COLOURS for p in PART_SHAPES for s in BINS},
        lambda task: "conveyor",
    ),
    "Sort": Wording(
        sort.TRAIN_PARAPHRASES,
        sort.HELDOUT_PARAPHRASES,
        lambda t: {
            t.format(colour=c, part=s, parts=s + "s", bin=b, other=o)
            for c in COLOURS
            for s in PART_SHAPES
            for b in BINS
            for o in BINS
            if o != b
        },
        lambda task: task.rule,
    ),
    "Stack": Wording(
        stack.TRAIN_PARAPHRASES,
        stack.HELDOUT_PARAPHRASES,
        lambda t: {t.format(top=a, bottom=b) for a in COLOURS for b in COLOURS if a != b},
        lambda task: "stack",
    ),
    "Kitting": Wording(
        kitting.TRAIN_PARAPHRASES,
        kitting.HELDOUT_PARAPHRASES,
        lambda t: {
            t.format(colour_a=ca, part_a=pa, colour_b=cb, part_b=pb)
            for ca in COLOURS
            for cb in COLOURS
            for pa in kitting.KIT_KINDS
            for pb in kitting.KIT_KINDS
            if pa != pb
        },
        lambda task: "kit",
    ),
}
KINDS = {
    "Insert": {"insert"},
    "Conveyor": {"conveyor"},
    "Sort": set(sort.RULES),
    "Stack": {"stack"},
    "Kitting": {"kit"},
}


def _filled(wording: Wording, templates: tuple[str, ...]) -> set[str]:
    return {sentence for t in templates for sentence in wording.fill(t)}


# -- the env ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASK_NAMES)
def test_check_env_passes(task: str) -> None:
    env = gym.make(f"robocell/{task}-v0", image_size=32, render_mode="rgb_array")
    try:
        check_env(env.unwrapped)
    finally:
        env.close()


@pytest.mark.parametrize("task", TASK_NAMES)
def test_same_seed_and_actions_give_identical_observations_and_images(task: str) -> None:
    first, second = ManufacturingEnv(task=task, image_size=32), ManufacturingEnv(task=task, image_size=32)
    try:
        reference = rollout(first, seed=7, steps=12)
        rollout(second, seed=3, steps=6)  # some unrelated history first
        assert_identical(reference, rollout(second, seed=7, steps=12))
        assert {"scene_rgb", "wrist_rgb"} <= set(reference[0])
        assert not np.array_equal(reference[-1]["scene_rgb"], reference[0]["scene_rgb"])  # the arm moved
        assert not np.array_equal(rollout(first, seed=6, steps=0)[0]["privileged"], reference[0]["privileged"])
    finally:
        first.close()
        second.close()


# -- the expert ---------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASK_NAMES)
def test_expert_succeeds_on_at_least_19_of_20_seeds(task: str) -> None:
    env = ManufacturingEnv(task=task, cameras=())  # the expert reads proprio + privileged only
    expert = make_expert(task)
    assert isinstance(expert, Policy)
    try:
        successes = [play_expert(env, expert, seed) for seed in range(20)]
    finally:
        env.close()
    assert sum(successes) >= 19, f"expert succeeded on {sum(successes)}/20 seeds: {successes}"


@pytest.mark.parametrize("task", TASK_NAMES)
def test_expert_reads_only_the_observation_dict(task: str) -> None:
    env = ManufacturingEnv(task=task, cameras=())
    try:
        obs, info = env.reset(seed=0)
        a, b = make_expert(task), make_expert(task)
        a.reset(info["instruction"])
        b.reset(info["instruction"])
        for _ in range(3):
            wire_obs = {"proprio": obs["proprio"].tolist(), "privileged": list(obs["privileged"])}  # as from a peer
            action = a.act(obs)
            assert np.array_equal(action, b.act(wire_obs))
            obs, *_ = env.step(action)
    finally:
        env.close()


# -- wording ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASK_NAMES)
def test_heldout_paraphrases_are_disjoint_from_training_and_plentiful(task: str) -> None:
    wording = WORDING[task]
    assert set(wording.train) == set(wording.heldout) == KINDS[task]
    for kind in wording.train:
        train, heldout = wording.train[kind], wording.heldout[kind]
        assert len(set(train)) == len(train) >= 5 and len(set(heldout)) == len(heldout) >= 5
        assert not _filled(wording, train) & _filled(wording, heldout)
        for sentence in _filled(wording, train) | _filled(wording, heldout):
            assert set(sentence) <= set(INSTRUCTION_CHARSET) and len(sentence) <= MAX_INSTRUCTION_LENGTH


@pytest.mark.parametrize("split", ["train", "heldout"])
@pytest.mark.parametrize("task", TASK_NAMES)
def test_instructions_come_from_their_split(task: str, split: str) -> None:
    wording = WORDING[task]
    table = wording.train if split == "train" else wording.heldout
    robot = SimRobot(task=task, cameras=(), instruction_split=split)
    robot.connect()
    try:
        for seed in range(8):
            instruction = robot.reset_episode(seed).instruction
            assert instruction in _filled(wording, table[wording.kind(robot.task)]), instruction
    finally:
        robot.disconnect()


def test_pick_and_place_judges_the_landing_only_once_the_part_is_at_rest() -> None:
    """Sort, Stack and Kitting's place driver: after the retreat it waits for the part to stop before
    it calls the part placed (done) or lost (pick again)."""
    config = PlaceConfig()
    proprio = np.array([0.45, 0.25, config.carry_z_m, 1.0, 0.0, 0.0, 0.0, 1.0])  # up, pointing down, unwound
    for in_goal, judged in ((True, "done"), (False, "pick")):
        driver = PickAndPlace(config)
        driver.phase, driver._hold_xy = "retreat", proprio[:2].copy()
        goal = Placement(
            part_pose=np.array([0.45, 0.25, 0.03, 0.0, 0.0, 0.0, 1.0]),
            grasp_yaw=0.0,
            half_extents=np.full(3, 0.02),
            grasped=False,
            in_goal=in_goal,
            speed_m_s=2 * RESTING_SPEED_M_S,
            goal_xy=np.array([0.45, 0.25]),
            goal_floor_z=0.01,
            release_gap_m=0.05,
        )
        for _ in range(3):  # still moving: keep waiting above it, fingers open
            action = driver.act(proprio, goal)
            assert driver.phase == "retreat" and action[6] < 0
        driver.act(proprio, replace(goal, speed_m_s=0.5 * RESTING_SPEED_M_S))
        assert driver.phase == judged and driver.done == in_goal
