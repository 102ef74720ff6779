"""The privileged Conveyor expert for the two-armed humanoid (`robot="humanoid"`).

The generic `ConveyorExpert` (intercept the part on the moving belt, tote it) inside a
`TwoArmExpert` that uses the arm on the named tote's side: the belt runs along the centre
line, which both arms reach from the end stop (x = 0.24) out to x = 0.7, so only the tote
decides. Working heights are the humanoid's (see `humanoid_pick_place`): carrying at
0.12 m keeps a held part clear of the parts still riding their pallets (tops at 0.07 m).
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation, Policy
from sim.experts.conveyor import ConveyorExpert, ConveyorExpertConfig
from sim.experts.humanoid_arms import TwoArmExpert, arm_for_y
from sim.tasks.conveyor import Conveyor

HUMANOID_CONVEYOR_CONFIG = ConveyorExpertConfig(carry_z_m=0.12, hover_above_m=0.06)


def arm_for_tote(observation: Observation, inner: Policy) -> int:
    state = Conveyor.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
    return arm_for_y(float(state["tote_center"][1]))


class HumanoidConveyorExpert(TwoArmExpert):
    """`policies.base.Policy` for Conveyor on the humanoid: (8,) actions with the arm selector."""

    def __init__(self, config: ConveyorExpertConfig | None = None) -> None:
        super().__init__(ConveyorExpert(config or HUMANOID_CONVEYOR_CONFIG), arm_for_tote)
