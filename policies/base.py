"""The `Policy` interface: anything that maps an observation to an action.

Scripted experts, SB3 models, the distilled student and remote policies over
ZeroMQ all implement it, so evaluation, distillation and the policy node take
any of them.

Observation (a dict, the same from the gymnasium env and from the wire):
    "scene_rgb", "wrist_rgb": uint8 HxWx3 camera images
    "proprio": float32 (8,) end-effector pose [x y z qx qy qz qw] + gripper opening [0..1]
    "joint_positions": float32 (n,) the robot's joints
    "instruction": str
    "privileged": float32 (k,) task state from the simulator (sim only; experts read it)
Action: float32 (7,) end-effector delta + gripper in [-1, 1] (see `robot.interface`),
or a chunk (T, 7) that the robot node plays out one row per control step.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

Observation = dict[str, Any]


@runtime_checkable
class Policy(Protocol):
    """Call `reset(instruction)` at each episode start, then `act(observation)` once per step."""

    def reset(self, instruction: str) -> None: ...

    def act(self, observation: Observation) -> np.ndarray: ...
