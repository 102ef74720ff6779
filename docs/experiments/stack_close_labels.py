"""How often Stack demos say "close" to open fingers at the cube: the labels behind a student that hovers.

    python docs/experiments/stack_close_labels.py runs/stack_yaw/demos/dataset.hdf5

Over the successful demos (the ones BC trains on): the samples with the fingers open and the hand within
6 mm (xy) and 8 mm (z) of the top cube's centre, not holding it, split by the teacher's gripper label;
and how far above the cube's centre the hand is on each episode's first close label.
"""

from __future__ import annotations

import sys

import h5py
import numpy as np

from sim.tasks.stack import Stack

NEAR_XY_M, NEAR_Z_M = 0.006, 0.008
OPEN = 0.9  # proprio[7], the finger opening, 1 when fully open


def main(path: str) -> None:
    samples = close_labels = open_labels = 0
    first_close_dz = []
    with h5py.File(path, "r") as f:
        for episode in f["data"].values():
            if not episode.attrs["success"]:
                continue
            actions, proprio = episode["actions"][:], episode["obs/proprio"][:]
            fields = [Stack.unpack_privileged(row) for row in episode["obs/privileged"][:]]
            top = np.array([s["top_pose"][:3] for s in fields])
            held = np.array([s["grasped"][0] > 0.5 for s in fields])
            dxy, dz = np.linalg.norm(proprio[:, :2] - top[:, :2], axis=1), proprio[:, 2] - top[:, 2]
            close = actions[:, -1] > 0
            at_cube = (dxy < NEAR_XY_M) & (np.abs(dz) < NEAR_Z_M) & ~held & (proprio[:, 7] > OPEN)
            samples += len(actions)
            close_labels += int(np.sum(at_cube & close))
            open_labels += int(np.sum(at_cube & ~close))
            if close.any():
                first_close_dz.append(dz[np.argmax(close)])
    print(f"{samples} training samples; fingers open at the cube, not held: {close_labels + open_labels}, "
          f"of which {close_labels} labelled close and {open_labels} open")
    p10, p50, p90 = 1000 * np.percentile(first_close_dz, [10, 50, 90])
    print(f"hand above the cube's centre at the first close label: median {p50:.1f} mm (10-90 %: {p10:.1f}, {p90:.1f})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/stack_yaw/demos/dataset.hdf5")
