"""Misbehaving (and moving) policies for fault tests, loaded by the policy node as `tests.bad_policies:make`."""

from __future__ import annotations

import numpy as np


class BadPolicy:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: dict) -> np.ndarray:
        n = len(observation["joint_positions"])
        if self.kind == "nan":
            return np.full(7, np.nan, np.float32)
        if self.kind == "huge_joints":  # joint_position mode: far outside every limit
            return np.full(n + 1, 1e6, np.float32)
        if self.kind == "wrong_shape":
            return np.zeros(5, np.float32)
        if self.kind == "wave":  # joint_position mode: keeps every joint moving (a valid motion)
            self.t = getattr(self, "t", 0) + 1
            return np.append(np.full(n, 0.6 * np.sin(self.t / 10.0)), -1.0).astype(np.float32)
        raise ValueError(f"unknown bad policy {self.kind!r}")


def make(spec: str) -> BadPolicy:
    return BadPolicy(spec)
