"""The privileged Sort expert for the two-armed humanoid (`robot="humanoid"`).

The generic `SortExpert` (parts one at a time, each to its own spot in its bin) inside a
`TwoArmExpert` that uses, for each part, the arm on the side of the bin it belongs in, so
the arm changes between parts when consecutive parts go to different bins. Working heights
are the humanoid's (see `humanoid_pick_place`): picking with a 0.10 m lift, but carrying to
the bin at 0.13 m, which both arms reach above their bins. The height matters beyond
clearance: `PickAndPlace` judges whether the part landed in its bin once the retreating hand
is above `carry_z_m - 0.03`; with a 0.10 m carry that is below the release height, so it
would judge (and re-pick) while the part is still falling.
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation, Policy
from sim.experts.humanoid_arms import TwoArmExpert, arm_for_y
from sim.experts.humanoid_pick_place import HUMANOID_CONFIG
from sim.experts.motions import PlaceConfig
from sim.experts.sort import SortExpert
from sim.tasks.sort import N_PARTS, Sort

HUMANOID_SORT_CONFIG = PlaceConfig(carry_z_m=0.13, pick=HUMANOID_CONFIG)


def arm_for_current_part(observation: Observation, inner: Policy) -> int:
    """The arm on the side of the current part's bin (the left arm once every part is in)."""
    if inner.current is None:
        return 0
    state = Sort.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
    return arm_for_y(float(state["goal_centers"].reshape(N_PARTS, 3)[inner.current][1]))


class HumanoidSortExpert(TwoArmExpert):
    """`policies.base.Policy` for Sort on the humanoid: (8,) actions with the arm selector."""

    def __init__(self, config: PlaceConfig | None = None) -> None:
        super().__init__(SortExpert(config or HUMANOID_SORT_CONFIG), arm_for_current_part)
