"""Forward and inverse kinematics from a description's Denavit-Hartenberg table.

Just enough for hardware backends to honour the `Robot` contract (`ee_pose` in
every state, `solve_ik` for end-effector actions) without a simulator: classic DH
(``Rz(theta) Tz(d) Tx(a) Rx(alpha)``, revolute joints) and damped least squares IK.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def quat_from_matrix(r: np.ndarray) -> np.ndarray:
    """Quaternion [x y z w] of a rotation matrix."""
    w = np.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2.0
    x = np.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2.0
    y = np.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2.0
    z = np.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2.0
    x = np.copysign(x, r[2, 1] - r[1, 2])
    y = np.copysign(y, r[0, 2] - r[2, 0])
    z = np.copysign(z, r[1, 0] - r[0, 1])
    q = np.array([x, y, z, w])
    return q / np.linalg.norm(q)


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _rotvec(r: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle) of a rotation matrix."""
    angle = np.arccos(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0))
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-9:
        return axis / 2.0
    if np.pi - angle < 1e-6:  # axis from the symmetric part
        axis = np.sqrt(np.maximum((np.diag(r) + 1.0) / 2.0, 0.0))
        return axis * angle
    return axis * angle / (2.0 * np.sin(angle))


class DHChain:
    """A serial chain of revolute joints described by DH rows [a, alpha, d, theta_offset]."""

    def __init__(self, dh: Sequence[Sequence[float]]) -> None:
        self.dh = np.asarray(dh, dtype=np.float64).reshape(-1, 4)

    def frames(self, q: np.ndarray) -> list[np.ndarray]:
        """Base-frame transforms of every joint frame, base first, end effector last."""
        out = [np.eye(4)]
        for (a, alpha, d, offset), theta in zip(self.dh, np.asarray(q, dtype=np.float64), strict=True):
            ct, st = np.cos(theta + offset), np.sin(theta + offset)
            ca, sa = np.cos(alpha), np.sin(alpha)
            link = np.array([[ct, -st * ca, st * sa, a * ct],
                             [st, ct * ca, -ct * sa, a * st],
                             [0.0, sa, ca, d],
                             [0.0, 0.0, 0.0, 1.0]])
            out.append(out[-1] @ link)
        return out

    def forward(self, q: np.ndarray) -> np.ndarray:
        """End-effector pose [x y z qx qy qz qw]."""
        t = self.frames(q)[-1]
        return np.concatenate([t[:3, 3], quat_from_matrix(t[:3, :3])])

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        frames = self.frames(q)
        p_end = frames[-1][:3, 3]
        cols = []
        for t in frames[:-1]:
            z, p = t[:3, 2], t[:3, 3]
            cols.append(np.concatenate([np.cross(z, p_end - p), z]))
        return np.stack(cols, axis=1)

    def inverse(
        self, pose: np.ndarray, seed: np.ndarray, lower: np.ndarray, upper: np.ndarray,
        iterations: int = 100, damping: float = 0.05, orientation_weight: float = 0.3, tol: float = 1e-5,
    ) -> np.ndarray:
        """Joint positions (within [lower, upper]) that bring the end effector closest to `pose`."""
        pose = np.asarray(pose, dtype=np.float64)
        r_target = matrix_from_quat(pose[3:7])
        q = np.clip(np.asarray(seed, dtype=np.float64), lower, upper)
        weights = np.array([1.0, 1.0, 1.0] + [orientation_weight] * 3)
        for _ in range(iterations):
            t = self.frames(q)[-1]
            err = np.concatenate([pose[:3] - t[:3, 3], _rotvec(r_target @ t[:3, :3].T)]) * weights
            if np.linalg.norm(err) < tol:
                break
            j = self.jacobian(q) * weights[:, None]
            step = j.T @ np.linalg.solve(j @ j.T + damping**2 * np.eye(6), err)
            q = np.clip(q + step, lower, upper)
        return q
