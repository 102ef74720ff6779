"""Small numpy rotation helpers (quaternions are [x y z w], as in PyBullet and `robot.interface`).

Kept free of PyBullet so experts that run in another process only need numpy.
"""

from __future__ import annotations

import numpy as np


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def matrix_to_rotvec(m: np.ndarray) -> np.ndarray:
    """Axis * angle (radians, angle in [0, pi]) of a rotation matrix."""
    cos = np.clip((np.trace(m) - 1.0) / 2.0, -1.0, 1.0)
    angle = float(np.arccos(cos))
    if angle < 1e-9:
        return np.zeros(3)
    if np.pi - angle < 1e-6:
        # Near a half turn the antisymmetric part vanishes; take the axis from the diagonal.
        axis = np.sqrt(np.clip((np.diag(m) + 1.0) / 2.0, 0.0, None))
        i = int(np.argmax(axis))
        axis = m[:, i] + np.eye(3)[i]
        return angle * axis / np.linalg.norm(axis)
    axis = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]]) / (2.0 * np.sin(angle))
    return angle * axis


def rotvec_to_matrix(v: np.ndarray) -> np.ndarray:
    """The rotation matrix of axis * angle `v` (radians), by Rodrigues' formula."""
    v = np.asarray(v, dtype=np.float64)
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = v / angle
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def yaw_of(q: np.ndarray) -> float:
    """Heading of the body's x axis about world z (radians)."""
    m = quat_to_matrix(q)
    return float(np.arctan2(m[1, 0], m[0, 0]))


def wrap_angle(a: float, period: float = 2 * np.pi) -> float:
    """`a` folded into [-period/2, period/2)."""
    return float((a + period / 2) % period - period / 2)


def rotz(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
