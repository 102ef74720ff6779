"""The privileged scripted expert for Sort.

It reads only the observation dict (``proprio`` and ``privileged``). Parts are moved one
at a time by `PickAndPlace`, the one nearest the hand first (`nearest_first`); a part that
is knocked out of its bin later is simply taken again.

A bin has three spots in a row across it (`BIN_SPOTS_M`, offsets from its centre); a part
goes to the first spot clear of the parts already in the bin (`bin_spot`), turned square to
the row (a brick lies along x), so parts that share a bin never land on one another. Each
is let go with its bottom above the bin walls (`WALL_CLEARANCE_M`), so the opening fingers
touch neither a wall nor a neighbour.

Both choices are read off the scene as the cameras show it, not off the spawn order (which
no image shows): a student distilled from this expert can make the same choices, and the
memoryless twin (`ReactiveSortExpert`) makes them the same way in any state it labels.
"""

from __future__ import annotations

import numpy as np

from sim.experts.motions import EachPartExpert, Placement, nearest_first
from sim.experts.place_reactive import ReactiveEachPartExpert
from sim.tasks.sort import N_PARTS, Sort

BIN_SPOTS_M = ((0.0, 0.0), (0.0, -0.05), (0.0, 0.05))  # the centre first; parts are <= 40 mm across in y
SPOT_CLEARANCE_M = 0.04  # a spot this far from every part already in the bin is free
WALL_CLEARANCE_M = 0.006


def bin_spot(s: dict[str, np.ndarray], i: int) -> np.ndarray:
    """The spot (xy) for part `i` in its bin: the first of `BIN_SPOTS_M` at least `SPOT_CLEARANCE_M` from
    every other part lying in that bin, else the one farthest from them.

    A threshold, not the farthest spot: two spots equally far from a part between them would otherwise
    swap with every millimetre it settles, and the hand would swing between them."""
    goal = s["goal_centers"].reshape(N_PARTS, 3)[i, :2]
    half = s["goal_inner_half_xy"].reshape(N_PARTS, 2)[i]
    xy = s["part_poses"].reshape(N_PARTS, 7)[:, :2]
    spots = goal + np.array(BIN_SPOTS_M)
    others = [xy[j] for j in range(N_PARTS) if j != i and np.all(np.abs(xy[j] - goal) <= half)]
    if not others:
        return spots[0]
    clearance = np.array([min(float(np.linalg.norm(spot - other)) for other in others) for spot in spots])
    clear = np.flatnonzero(clearance >= SPOT_CLEARANCE_M)
    return spots[int(clear[0]) if clear.size else int(np.argmax(clearance))]


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
        goal_xy=bin_spot(s, i),
        goal_floor_z=floor_z,
        release_gap_m=float(s["goal_wall_top_z"][i]) - floor_z + WALL_CLEARANCE_M,
        goal_yaw=0.0,
        yaw_symmetry_rad=float(s["part_yaw_symmetry"][i]),
    )


class SortExpert(EachPartExpert):
    """Implements `policies.base.Policy` for Sort from privileged state."""

    task, n_parts, in_goal_key = Sort, N_PARTS, "in_goal"
    placement = staticmethod(placement)
    choose = staticmethod(nearest_first)


class ReactiveSortExpert(ReactiveEachPartExpert):
    """The memoryless Sort expert (`expert:Sort?style=reactive`): a consistent DAgger labeller."""

    task, n_parts, in_goal_key = Sort, N_PARTS, "in_goal"
    placement = staticmethod(placement)
    choose = staticmethod(nearest_first)
