"""Property tests: whatever arrives, the filter's output stays inside the limits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from robot.interface import JointLimits
from robot.safety import Box, SafetyConfig, SafetyFilter

N = 3
DT = 0.01
LOWER = np.array([-1.0, -2.0, -0.5])
UPPER = np.array([1.0, 0.5, 2.5])
VELOCITY = np.array([1.0, 2.0, 0.5])
LIMITS = JointLimits(LOWER, UPPER, VELOCITY, np.array([5.0, 5.0, 5.0]))

anything = st.floats(allow_nan=True, allow_infinity=True, width=64)
target = st.one_of(st.none(), st.lists(anything, min_size=N, max_size=N).map(np.array),
                   st.lists(st.floats(-10, 10), min_size=N, max_size=N).map(np.array))
step = st.tuples(target, st.one_of(st.none(), anything), st.floats(0.0, 0.05),
                 st.lists(st.floats(-8, 8), min_size=N, max_size=N).map(np.array))


def within_limits(q: np.ndarray) -> bool:
    return bool(np.all(q >= LOWER - 1e-12) and np.all(q <= UPPER + 1e-12))


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=40),
       accel=st.one_of(st.none(), st.floats(0.5, 50.0)),
       soft=st.booleans(), estop_at=st.integers(-1, 40))
def test_output_never_leaves_limits_or_outruns_the_velocity_limit(steps, accel, soft, estop_at) -> None:
    config = SafetyConfig(acceleration=None if accel is None else (accel,) * N, watchdog_period_s=0.05)
    f = SafetyFilter(LIMITS, config)
    if soft:
        f.start_soft_start(0.0)
    measured = np.zeros(N)  # the robot starts inside its limits
    now, previous = 0.0, None
    for i, (q, gripper, gap, effort) in enumerate(steps):
        if i == estop_at:
            f.engage_estop("test", now)
        now += gap
        out = f.filter(q, gripper, measured, now, DT, measured_effort=effort)
        assert out.joint_positions.shape == (N,)
        assert np.all(np.isfinite(out.joint_positions)) and 0.0 <= out.gripper <= 1.0
        assert within_limits(out.joint_positions)
        if not out.held:
            reference = previous if previous is not None else measured
            assert np.all(np.abs(out.joint_positions - reference) <= VELOCITY * DT + 1e-9)
        previous = out.joint_positions
        measured = out.joint_positions  # a perfect position-controlled robot


@settings(max_examples=150, deadline=None)
@given(point=st.lists(st.one_of(st.floats(-5, 5), anything), min_size=7, max_size=7).map(np.array))
def test_workspace_output_is_inside_the_box_and_outside_keep_out(point) -> None:
    zone = Box((0.2, -0.1, 0.0), (0.3, 0.1, 0.3), name="zone")
    f = SafetyFilter(LIMITS, SafetyConfig(workspace=Box((-0.5, -0.5, 0.0), (0.5, 0.5, 1.0)), keep_out=(zone,)))
    out = f.check_workspace(point)
    if out is not None:
        assert np.all(np.isfinite(out))
        assert np.all(out[:3] >= [-0.5, -0.5, 0.0]) and np.all(out[:3] <= [0.5, 0.5, 1.0])
        assert not zone.contains(out)
        assert np.array_equal(out[3:], point[3:])
