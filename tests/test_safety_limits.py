"""Every limit of the safety filter, one at a time, with the intervention it records."""

from __future__ import annotations

import collections
import logging
import math

import numpy as np
import pytest

from robot import safety
from robot.interface import JointLimits
from robot.safety import Box, SafetyConfig, SafetyFilter

DT = 0.01


def limits(n: int = 2, velocity: float = 1.0, effort: float = 5.0) -> JointLimits:
    return JointLimits(lower=np.full(n, -1.0), upper=np.full(n, 1.0), velocity=np.full(n, velocity),
                       effort=np.full(n, effort))


def make(**config) -> SafetyFilter:
    return SafetyFilter(limits(), SafetyConfig(**config))


def test_position_limit_clamps_and_is_recorded_with_the_command() -> None:
    f = make()
    out = f.filter(np.array([5.0, -5.0]), 1.0, np.array([0.99, -0.99]), now_s=0.0, dt_s=DT)
    assert np.allclose(out.joint_positions, [1.0, -1.0])
    assert "position_limit" in out.interventions
    assert f.counters["position_limit"] == 1
    assert "5.0" in f.events[-1].detail


def test_velocity_limit_caps_each_step() -> None:
    f = make()
    out = f.filter(np.array([0.5, -0.5]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT)
    assert np.allclose(out.joint_positions, [0.01, -0.01])
    assert out.interventions == ["velocity_limit"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_target_is_rejected_and_does_not_feed_the_watchdog(bad: float) -> None:
    f = make(watchdog_period_s=0.1)
    f.filter(np.array([0.1, 0.0]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT)
    out = f.filter(np.array([bad, 0.0]), 1.0, np.zeros(2), now_s=0.05, dt_s=DT)
    assert "non_finite" in out.interventions and not out.held
    out = f.filter(np.array([bad, 0.0]), 1.0, np.zeros(2), now_s=0.2, dt_s=DT)
    assert out.held and "watchdog" in out.interventions
    assert f.filter(np.zeros(2), float(bad), np.zeros(2), now_s=0.3, dt_s=DT).held  # a bad gripper too


def test_watchdog_holds_the_measured_position_until_a_fresh_command() -> None:
    f = make(watchdog_period_s=0.1)
    f.filter(np.array([0.5, 0.5]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT)
    out = f.filter(None, None, np.array([0.2, 0.3]), now_s=0.5, dt_s=DT)
    assert out.held and np.allclose(out.joint_positions, [0.2, 0.3])
    assert f.filter(None, None, np.array([0.25, 0.35]), now_s=0.6, dt_s=DT).joint_positions.tolist() == [0.2, 0.3]
    assert f.counters["watchdog"] == 1  # recorded once per hold, not every cycle
    out = f.filter(np.array([0.2, 0.3]), 1.0, np.array([0.2, 0.3]), now_s=0.7, dt_s=DT)
    assert not out.held


def test_stale_command_time_holds_even_with_a_target() -> None:
    f = make(watchdog_period_s=0.1)
    out = f.filter(np.array([0.1, 0.1]), 1.0, np.zeros(2), now_s=1.0, dt_s=DT, command_time_s=0.5)
    assert out.held and "watchdog" in out.interventions


def test_estop_latches_until_reset_and_then_needs_a_fresh_command() -> None:
    f = make()
    f.filter(np.array([0.1, 0.0]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT)
    f.engage_estop("operator", now_s=0.01)
    for k in range(3):
        out = f.filter(np.array([0.9, 0.9]), 1.0, np.array([0.05, 0.0]), now_s=0.02 + k * DT, dt_s=DT)
        assert out.held and np.allclose(out.joint_positions, [0.05, 0.0])
    assert f.estopped
    f.reset_estop(now_s=0.1)
    assert not f.estopped
    assert f.filter(None, None, np.array([0.05, 0.0]), now_s=0.11, dt_s=DT).held
    assert not f.filter(np.array([0.06, 0.0]), 1.0, np.array([0.05, 0.0]), now_s=0.12, dt_s=DT).held
    assert f.counters["estop"] == 1 and f.counters["estop_reset"] == 1


def test_acceleration_limit_ramps_velocity_and_brakes_at_the_target() -> None:
    f = make(acceleration=(2.0, 2.0))
    q, velocities = np.zeros(2), []
    for k in range(400):
        out = f.filter(np.array([0.5, 0.0]), 1.0, q, now_s=k * DT, dt_s=DT)
        velocities.append((out.joint_positions[0] - q[0]) / DT)
        q = out.joint_positions
    v = np.array(velocities)
    assert np.max(np.abs(np.diff(v))) <= 2.0 * DT + 1e-9  # |dv| <= a dt every cycle
    assert np.max(v) <= 1.0 + 1e-9
    assert abs(q[0] - 0.5) < 1e-3 and q[0] <= 0.5 + 1e-6  # arrives without overshoot
    assert f.counters["acceleration_limit"] > 0


def test_effort_limit_stops_pushing_but_allows_backing_off() -> None:
    f = make()
    measured = np.array([0.2, 0.0])
    effort = np.array([6.0, 0.0])  # joint 0 pushes positive, above its 5.0 limit
    out = f.filter(np.array([0.25, 0.01]), 1.0, measured, now_s=0.0, dt_s=DT, measured_effort=effort)
    assert out.joint_positions[0] <= measured[0] and "effort_limit" in out.interventions
    assert out.joint_positions[1] == pytest.approx(0.01)
    back = f.filter(np.array([0.19, 0.0]), 1.0, measured, now_s=DT, dt_s=DT, measured_effort=effort)
    assert back.joint_positions[0] == pytest.approx(0.19)


def test_soft_start_ramps_velocity_limit_from_min_scale_to_full() -> None:
    f = make(soft_start_s=1.0, soft_start_min_scale=0.1)
    f.start_soft_start(now_s=0.0)
    steps = {}
    for t in (0.0, 0.5, 1.0, 2.0):
        f.reset_reference()
        out = f.filter(np.array([1.0, 1.0]), 1.0, np.zeros(2), now_s=t, dt_s=DT)
        steps[t] = out.joint_positions[0] / DT  # velocity actually allowed
    assert steps[0.0] == pytest.approx(0.1)
    assert steps[0.5] == pytest.approx(0.55)
    assert steps[1.0] == pytest.approx(1.0) and steps[2.0] == pytest.approx(1.0)
    assert f.counters["soft_start"] == 1


def test_rate_limit_drops_commands_that_come_too_fast_but_keeps_the_watchdog_fed() -> None:
    f = make(max_command_rate_hz=10.0, watchdog_period_s=0.1)
    assert not f.filter(np.array([0.005, 0.0]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT).interventions
    out = f.filter(np.array([0.01, 0.0]), 1.0, np.zeros(2), now_s=0.05, dt_s=DT)
    assert "rate_limit" in out.interventions and out.joint_positions[0] == pytest.approx(0.005)
    out = f.filter(np.array([0.01, 0.0]), 1.0, np.zeros(2), now_s=0.1, dt_s=DT)
    assert "rate_limit" not in out.interventions and out.joint_positions[0] == pytest.approx(0.01)
    # the same command replayed by interpolation (same command time) is not a new command
    again = f.filter(np.array([0.012, 0.0]), 1.0, np.zeros(2), now_s=0.11, dt_s=DT, command_time_s=0.1)
    assert "rate_limit" not in again.interventions


def test_workspace_clamps_position_and_keeps_orientation() -> None:
    f = make(workspace=Box((0.0, -0.5, 0.0), (0.5, 0.5, 0.6)))
    target = np.array([0.9, 0.0, -0.2, 0.0, 0.0, 0.0, 1.0])
    out = f.check_workspace(target)
    assert out is not None and np.allclose(out, [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    assert f.counters["workspace"] == 1
    inside = np.array([0.2, 0.1, 0.3, 0.0, 0.0, 0.0, 1.0])
    assert np.array_equal(f.check_workspace(inside), inside) and f.counters["workspace"] == 1


def test_keep_out_zone_rejects_the_target_even_after_clamping() -> None:
    zone = Box((0.3, -0.1, 0.0), (0.6, 0.1, 0.2), name="fixture")
    f = make(workspace=Box((0.0, -0.5, 0.0), (0.5, 0.5, 0.6)), keep_out=(zone,))
    assert f.check_workspace(np.array([0.4, 0.0, 0.1, 0, 0, 0, 1.0])) is None
    assert f.check_workspace(np.array([0.9, 0.0, 0.1, 0, 0, 0, 1.0])) is None  # clamped into the zone
    assert f.counters["keep_out"] == 2 and "fixture" in f.events[-1].detail
    assert f.check_workspace(np.array([np.nan, 0, 0, 0, 0, 0, 1.0])) is None
    assert f.counters["non_finite"] == 1


def test_config_validation_names_the_bad_setting() -> None:
    with pytest.raises(ValueError, match="velocity_scale"):
        SafetyConfig(velocity_scale=1.5)
    with pytest.raises(ValueError, match="acceleration"):
        SafetyFilter(limits(), SafetyConfig(acceleration=(1.0, 2.0, 3.0)))
    with pytest.raises(ValueError, match="lower"):
        Box((1.0, 0.0, 0.0), (0.0, 1.0, 1.0))
    assert math.isclose(SafetyConfig().watchdog_period_s, 0.1)


def test_many_filters_log_an_intervention_kind_once_per_interval_and_count_the_rest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(safety.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(safety, "_last_logged", {})
    monkeypatch.setattr(safety, "_held_back", collections.Counter())
    with caplog.at_level(logging.WARNING, logger="robot.safety"):
        filters = [make() for _ in range(5)]  # e.g. one per episode of a data collection
        for f in filters:
            f.filter(np.array([0.5, -0.5]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT)
        assert caplog.text.count("velocity_limit") == 1
        clock[0] += safety.LOG_INTERVAL_S
        make().filter(np.array([0.5, -0.5]), 1.0, np.zeros(2), now_s=0.0, dt_s=DT)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "4 more filters hit velocity_limit" in lines[1]
    assert all(f.counters["velocity_limit"] == 1 and len(f.events) == 1 for f in filters)  # nothing lost
