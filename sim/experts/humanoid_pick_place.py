"""The privileged PickPlace expert for the two-armed humanoid (`robot="humanoid"`).

The generic `PickPlaceExpert` phase machine inside a `TwoArmExpert`, with two
humanoid-specific choices:

* Which arm: the one on the target bin's side (left bin, left arm). Each arm reaches the
  whole parts region and its own bin, but not the far bin across the body, so choosing by
  the bin means no hand-over is ever needed.
* Lower working heights: the humanoid leans over the table from its edge, and with the hand
  pointing down its reach shrinks above about 0.12 m over the far half of the table. It
  carries at 0.10 m (the held part's bottom still clears the 0.05 m bin walls and the
  0.044 m parts) and hovers 0.06 m above the part.
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation, Policy
from sim.experts.humanoid_arms import TwoArmExpert, arm_for_y
from sim.experts.pick_place import ExpertConfig, PickPlaceExpert
from sim.tasks.pick_place import PickPlace

HUMANOID_CONFIG = ExpertConfig(carry_z_m=0.10, hover_above_m=0.06)


def arm_for_bin(observation: Observation, inner: Policy) -> int:
    """The arm on the target bin's side."""
    state = PickPlace.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
    return arm_for_y(float(state["bin_center"][1]))


class HumanoidPickPlaceExpert(TwoArmExpert):
    """`policies.base.Policy` for PickPlace on the humanoid: (8,) actions with the arm selector."""

    def __init__(self, config: ExpertConfig | None = None) -> None:
        super().__init__(PickPlaceExpert(config or HUMANOID_CONFIG), arm_for_bin)
