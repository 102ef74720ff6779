"""Trivial policies for plumbing checks and benchmarks (`zero:7` answers with zeros)."""

from __future__ import annotations

import numpy as np


class ZeroPolicy:
    """Always the zero action: an end-effector delta of zero holds the pose, gripper open."""

    def __init__(self, action_dim: int = 7) -> None:
        if action_dim <= 0:
            raise ValueError(f"action_dim must be positive, got {action_dim}")
        self._action = np.zeros(action_dim, dtype=np.float32)

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: dict) -> np.ndarray:
        return self._action


def make_zero(spec: str) -> ZeroPolicy:
    return ZeroPolicy(int(spec))
