"""The privileged scripted expert for Sort.

It reads only the observation dict (``proprio`` and ``privileged``). Parts are moved one
at a time, in spawn order, by `PickAndPlace`; a part that is knocked out of its bin
later is simply taken again.

Each part index has its own spot in a bin (`BIN_SPOTS_M`, offsets from the bin centre):
a row across the bin, every part turned square to it (a brick lies along x), so parts
that share a bin never land on one another. Each is let go with its bottom above the bin
walls (`WALL_CLEARANCE_M`), so the opening fingers touch neither a wall nor a neighbour.
"""

from __future__ import annotations

import numpy as np

from sim.experts.motions import EachPartExpert, Placement
from sim.experts.place_reactive import ReactiveEachPartExpert
from sim.tasks.sort import N_PARTS, Sort

BIN_SPOTS_M = ((0.0, -0.05), (0.0, 0.0), (0.0, 0.05))  # one per part index; parts are <= 40 mm across in y
WALL_CLEARANCE_M = 0.006


class SortExpert(EachPartExpert):
    """Implements `policies.base.Policy` for Sort from privileged state."""

    task, n_parts, in_goal_key = Sort, N_PARTS, "in_goal"

    @staticmethod
    def placement(s: dict[str, np.ndarray], i: int) -> Placement:
        return placement(s, i)


def placement(s: dict[str, np.ndarray], i: int) -> Placement:
    """Part `i` and its spot in the bin it belongs in."""
    goal = s["goal_centers"].reshape(N_PARTS, 3)[i]
    floor_z = float(goal[2])
    return Placement(
        part_pose=s["part_poses"].reshape(N_PARTS, 7)[i],
        grasp_yaw=float(s["grasp_yaws"][i]),
        half_extents=s["part_half_extents"].reshape(N_PARTS, 3)[i],
        grasped=bool(s["grasped"][i] > 0.5),
        in_goal=bool(s["in_goal"][i] > 0.5),
        speed_m_s=float(s["part_speeds"][i]),
        goal_xy=goal[:2] + np.array(BIN_SPOTS_M[i % len(BIN_SPOTS_M)]),
        goal_floor_z=floor_z,
        release_gap_m=float(s["goal_wall_top_z"][i]) - floor_z + WALL_CLEARANCE_M,
        goal_yaw=0.0,
        yaw_symmetry_rad=float(s["part_yaw_symmetry"][i]),
    )


class ReactiveSortExpert(ReactiveEachPartExpert):
    """The memoryless Sort expert (`expert:Sort?style=reactive`): a consistent DAgger labeller."""

    task, n_parts, in_goal_key = Sort, N_PARTS, "in_goal"
    placement = staticmethod(placement)
