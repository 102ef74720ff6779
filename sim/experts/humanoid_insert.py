"""The privileged Insert expert for the two-armed humanoid (`robot="humanoid"`).

The generic `InsertExpert` inside a `TwoArmExpert`. The arm is chosen once per episode,
from the first observation: the one on the side of the midpoint between the peg and the
fixture, so the carry between them crosses the body as little as possible. (Choosing again
later would follow the carried peg across the centre line and switch hands mid-carry.)
Working heights are lower than the Panda's (see `humanoid_pick_place`): carrying at 0.12 m
keeps the held peg's bottom (4.5 cm below the grasp point) clear of the 6 cm distractor pegs.
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation, Policy
from sim.experts.humanoid_arms import TwoArmExpert, arm_for_y
from sim.experts.insert import InsertExpert, InsertExpertConfig
from sim.tasks.insert import Insert

HUMANOID_INSERT_CONFIG = InsertExpertConfig(carry_z_m=0.12, hover_above_m=0.07)


def arm_for_peg_and_hole(observation: Observation) -> int:
    state = Insert.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
    return arm_for_y(0.5 * float(state["peg_pose"][1] + state["hole_top"][1]))


class HumanoidInsertExpert(TwoArmExpert):
    """`policies.base.Policy` for Insert on the humanoid: (8,) actions with the arm selector."""

    def __init__(self, config: InsertExpertConfig | None = None) -> None:
        self._episode_arm: int | None = None
        super().__init__(InsertExpert(config or HUMANOID_INSERT_CONFIG), self._latched_arm)

    def reset(self, instruction: str) -> None:
        super().reset(instruction)
        self._episode_arm = None

    def _latched_arm(self, observation: Observation, inner: Policy) -> int:
        if self._episode_arm is None:
            self._episode_arm = arm_for_peg_and_hole(observation)
        return self._episode_arm
