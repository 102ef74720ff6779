"""The privileged scripted expert for Kitting.

It reads only the observation dict (``proprio`` and ``privileged``). The named parts go
into their slots one at a time by `PickAndPlace`, the one nearest the hand first
(`nearest_first`, as for Sort: the cameras show where the parts are, and each part's slot
is its kind's, so no step depends on which part the instruction names first). Each is
turned while carried to its slot's yaw (a brick lies along its slot; a cube is squared to
its slot) and let go with its bottom `WALL_CLEARANCE_M` above the slot walls, so the
opening fingers clear them. A part that leaves its slot later is simply taken again.
"""

from __future__ import annotations

import numpy as np

from sim.experts.motions import EachPartExpert, Placement, nearest_first
from sim.experts.place_reactive import ReactiveEachPartExpert
from sim.tasks.kitting import N_KIT, Kitting

WALL_CLEARANCE_M = 0.004


class KittingExpert(EachPartExpert):
    """Implements `policies.base.Policy` for Kitting from privileged state."""

    task, n_parts, in_goal_key = Kitting, N_KIT, "in_slot"
    choose = staticmethod(nearest_first)

    @staticmethod
    def placement(s: dict[str, np.ndarray], i: int) -> Placement:
        return placement(s, i)


def placement(s: dict[str, np.ndarray], i: int) -> Placement:
    """Named part `i` and its slot."""
    slot = s["slot_poses"].reshape(N_KIT, 4)[i]
    floor_z = float(slot[2])
    return Placement(
        part_pose=s["part_poses"].reshape(N_KIT, 7)[i],
        grasp_yaw=float(s["grasp_yaws"][i]),
        half_extents=s["part_half_extents"].reshape(N_KIT, 3)[i],
        grasped=bool(s["grasped"][i] > 0.5),
        in_goal=bool(s["in_slot"][i] > 0.5),
        speed_m_s=float(s["part_speeds"][i]),
        goal_xy=slot[:2],
        goal_floor_z=floor_z,
        release_gap_m=float(s["slot_wall_top_z"][0]) - floor_z + WALL_CLEARANCE_M,
        goal_yaw=float(slot[3]),
        yaw_symmetry_rad=float(s["part_yaw_symmetry"][i]),
    )


class ReactiveKittingExpert(ReactiveEachPartExpert):
    """The memoryless Kitting expert (`expert:Kitting?style=reactive`): a consistent DAgger labeller."""

    task, n_parts, in_goal_key = Kitting, N_KIT, "in_slot"
    placement = staticmethod(placement)
    choose = staticmethod(nearest_first)
