"""Instructions come from the templates; held-out paraphrases never appear in training."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.backend import SimRobot
from sim.tasks.language import (
    HELDOUT_PARAPHRASES,
    INSTRUCTION_CHARSET,
    TRAIN_PARAPHRASES,
    paraphrases,
    parse_instruction,
)
from sim.tasks.pick_place import PickPlace
from sim.world import COLOURS, PART_SHAPES


def test_train_and_heldout_paraphrases_are_disjoint_and_plentiful() -> None:
    assert set(TRAIN_PARAPHRASES) == set(HELDOUT_PARAPHRASES)
    for task in TRAIN_PARAPHRASES:
        train, heldout = paraphrases(task, "train"), paraphrases(task, "heldout")
        assert len(set(train)) == len(train) >= 5
        assert len(set(heldout)) == len(heldout) >= 5
        assert not set(train) & set(heldout)
        # Disjoint as sentences too, for every filling of the slots.
        slots = [(c, p, b) for c in COLOURS for p in PART_SHAPES for b in ("left", "right")]
        filled = {
            split: {t.format(colour=c, part=p, bin=b) for t in ts for c, p, b in slots}
            for split, ts in (("train", train), ("heldout", heldout))
        }
        assert not filled["train"] & filled["heldout"]


def test_unknown_split_or_task_is_an_error() -> None:
    with pytest.raises(ValueError, match="split"):
        paraphrases("PickPlace", "validation")
    with pytest.raises(ValueError, match="task"):
        paraphrases("Juggle", "train")


@pytest.fixture(scope="module")
def robots() -> dict[str, SimRobot]:
    made = {split: SimRobot(cameras=(), instruction_split=split) for split in ("train", "heldout")}
    for r in made.values():
        r.connect()
    yield made
    for r in made.values():
        r.disconnect()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 2), split=st.sampled_from(["train", "heldout"]))
def test_instructions_name_the_target_part_and_bin(robots: dict[str, SimRobot], seed: int, split: str) -> None:
    robot = robots[split]
    info = robot.reset_episode(seed)
    assert set(info.instruction) <= set(INSTRUCTION_CHARSET)
    parsed = parse_instruction("PickPlace", info.instruction)
    assert parsed is not None and parsed["split"] == split
    task = robot.task
    named = (parsed["colour"], parsed["part"], parsed["bin"])
    assert named == (task.target.colour, task.target.shape.name, task.bin_name)
    # Exactly one part fits the description; parts start apart on the table.
    assert sum((p.colour, p.shape.name) == (parsed["colour"], parsed["part"]) for p in task.parts) == 1
    state = PickPlace.unpack_privileged(robot.read(with_cameras=False).extras["privileged"])
    assert np.sign(state["bin_center"][1]) == (1 if parsed["bin"] == "left" else -1)
    xy = np.array([robot._world.body_pose(p.body)[:2] for p in task.parts])
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(xy) for b in xy[i + 1 :]]
    assert min(gaps) > 0.07


def test_parse_instruction_rejects_free_text() -> None:
    assert parse_instruction("PickPlace", "please juggle the red cube") is None
