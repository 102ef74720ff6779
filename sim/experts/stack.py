"""The privileged scripted expert for Stack.

It reads only the observation dict (``proprio`` and ``privileged``). One `PickAndPlace`
sub-goal: the top cube to the bottom cube's current centre, let go `DROP_GAP_M` above
the bottom cube's top face (low enough not to bounce off, high enough that the two never
press together while the fingers open), then straight up so the fingers clear it; and
again from the start should the cube fall off.
"""

from __future__ import annotations

import numpy as np

from sim.experts.motions import EachPartExpert, Placement
from sim.experts.place_reactive import ReactiveEachPartExpert
from sim.tasks.stack import Stack

DROP_GAP_M = 0.004


class StackExpert(EachPartExpert):
    """Implements `policies.base.Policy` for Stack from privileged state: one part, the top cube."""

    task, n_parts, in_goal_key = Stack, 1, "stacked"

    @staticmethod
    def placement(s: dict[str, np.ndarray], i: int) -> Placement:
        bottom = s["bottom_pose"]
        return Placement(
            part_pose=s["top_pose"],
            grasp_yaw=float(s["top_grasp_yaw"][0]),
            half_extents=s["top_half_extents"],
            grasped=bool(s["grasped"][0] > 0.5),
            in_goal=bool(s["stacked"][0] > 0.5),
            speed_m_s=float(s["speeds"].max()),  # both cubes at rest: the bottom one may have been knocked
            goal_xy=bottom[:2],
            goal_floor_z=float(bottom[2] + s["bottom_half_extents"][2]),
            release_gap_m=DROP_GAP_M,
        )


class ReactiveStackExpert(ReactiveEachPartExpert):
    """The memoryless Stack expert (`expert:Stack?style=reactive`): a consistent DAgger labeller."""

    task, n_parts, in_goal_key = Stack, 1, "stacked"
    placement = staticmethod(StackExpert.placement)
