"""Arm choice for the two-armed humanoid: wraps a one-arm expert and adds the 8th action entry.

The humanoid (`sim/robots/humanoid.py`) takes the end-effector action of every robot plus an
arm selector (`robot.interface.EE_ACTION_DIM_WITH_ARM`: <= 0 the first arm, "left", > 0 the
second). A one-arm expert's phase machine needs nothing else, so `TwoArmExpert` passes every
observation to the inner expert, asks `choose_arm(observation, inner)` which arm that goal
needs (after the inner expert has picked its goal, so tasks with several parts can change
arms between parts), and appends the selector to the inner action.

Every episode starts with the first arm active (`SimRobot.reset_episode`). On a step that
changes arms the action only switches (zero motion, gripper open) and the inner action is
dropped, because that step's observation still shows the other hand; the inner expert is
then at the start of a motion (approaching its next part), where one dropped step is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from policies.base import Observation, Policy
from robot.interface import EE_ACTION_DIM, EE_ACTION_DIM_WITH_ARM

ARM_SELECTOR = (-1.0, 1.0)  # the 8th action entry for arm 0 (left) and arm 1 (right)


def arm_for_y(y: float) -> int:
    """0 (the left arm) for a point on the left (+y) of the cell's centre line, else 1."""
    return 0 if y > 0.0 else 1


class TwoArmExpert:
    """`policies.base.Policy`: `inner`'s (7,) actions with the arm `choose_arm(observation, inner)` picks appended."""

    def __init__(self, inner: Policy, choose_arm: Callable[[Observation, Policy], int]) -> None:
        self.inner = inner
        self.choose_arm = choose_arm
        self.reset("")

    def reset(self, instruction: str) -> None:
        self.inner.reset(instruction)
        self.arm = 0  # the backend's active arm at the start of every episode

    @property
    def phase(self) -> str:
        return getattr(self.inner, "phase", "")

    @property
    def precise(self) -> bool:
        """The inner expert's: demonstrations add no DART noise while it is (`rollout.run_episode`)."""
        return bool(getattr(self.inner, "precise", False))

    def act(self, observation: Observation) -> np.ndarray:
        inner_action = self.inner.act(observation)
        arm = int(self.choose_arm(observation, self.inner))
        action = np.zeros(EE_ACTION_DIM_WITH_ARM, dtype=np.float32)
        action[EE_ACTION_DIM] = ARM_SELECTOR[arm]
        if arm != self.arm:
            # This observation shows the other hand: switch only, move nothing, keep the gripper open.
            self.arm = arm
            action[6] = -1.0
            return action
        action[:EE_ACTION_DIM] = inner_action
        return action
