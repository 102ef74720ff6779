"""The privileged Conveyor expert for the two-armed humanoid (`robot="humanoid"`).

The generic `ConveyorExpert` (intercept the part on the moving belt, tote it) inside a
`TwoArmExpert` that uses the arm on the named tote's side: the belt runs along the centre
line, which both arms reach from the end stop (x = 0.24) out to about x = 0.65, so only the
tote decides. Parts enter the belt at x = 0.8, beyond reach: until the part has come within
`REACH_X_M`, the hand waits above the belt there instead of stretching toward an intercept
point it cannot reach (a straight arm is also where IK steps are largest). Working heights
are the humanoid's (see `humanoid_pick_place`): carrying at 0.12 m keeps a held part clear
of the parts still riding their pallets (tops at 0.07 m).
"""

from __future__ import annotations

import numpy as np

from policies.base import Observation, Policy
from sim.experts.conveyor import ConveyorExpert, ConveyorExpertConfig, predicted_xy
from sim.experts.humanoid_arms import TwoArmExpert, arm_for_y
from sim.geometry import wrap_angle
from sim.tasks.conveyor import Conveyor

HUMANOID_CONVEYOR_CONFIG = ConveyorExpertConfig(carry_z_m=0.12, hover_above_m=0.06)
REACH_X_M = 0.65


class ReachLimitedConveyorExpert(ConveyorExpert):
    """`ConveyorExpert` whose approach waits at `REACH_X_M` while the part is further out."""

    def _plan(self, ee: np.ndarray, ee_yaw: float, s: dict[str, np.ndarray]) -> tuple[np.ndarray, float, bool]:
        tracked = predicted_xy(s, self.config.lead_s)
        if self.phase != "approach" or tracked[0] <= REACH_X_M:
            return super()._plan(ee, ee_yaw, s)
        part = s["part_pose"][:3]
        grasp_yaw = ee_yaw + wrap_angle(float(s["grasp_yaw"][0]) - ee_yaw, np.pi)
        return np.array([REACH_X_M, tracked[1], part[2] + self.config.hover_above_m]), grasp_yaw, False


def arm_for_tote(observation: Observation, inner: Policy) -> int:
    state = Conveyor.unpack_privileged(np.asarray(observation["privileged"], dtype=np.float64))
    return arm_for_y(float(state["tote_center"][1]))


class HumanoidConveyorExpert(TwoArmExpert):
    """`policies.base.Policy` for Conveyor on the humanoid: (8,) actions with the arm selector."""

    def __init__(self, config: ConveyorExpertConfig | None = None) -> None:
        super().__init__(ReachLimitedConveyorExpert(config or HUMANOID_CONVEYOR_CONFIG), arm_for_tote)
