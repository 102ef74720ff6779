"""The hardware lifecycle state machine: valid paths, refused shortcuts, explicit fault reset."""

from __future__ import annotations

import logging

import pytest

from robot.lifecycle import Lifecycle, LifecycleError, LifecycleState


def test_normal_path_and_history_with_logging(caplog: pytest.LogCaptureFixture) -> None:
    life = Lifecycle("arm", clock=iter(range(100)).__next__)
    seen = []
    life.add_listener(lambda t: seen.append((t.from_state.value, t.to_state.value)))
    with caplog.at_level(logging.INFO, logger="robot.lifecycle"):
        life.configure()
        life.activate()
        assert life.can_move
        life.deactivate()
        life.cleanup()
        life.shutdown()
    assert life.state is LifecycleState.FINALIZED
    assert seen == [("unconfigured", "inactive"), ("inactive", "active"), ("active", "inactive"),
                    ("inactive", "unconfigured"), ("unconfigured", "finalized")]
    assert [t.time_s for t in life.history] == [0, 1, 2, 3, 4]
    assert "arm: inactive -> active (activate)" in caplog.text


@pytest.mark.parametrize("trigger", ["activate", "deactivate", "reset", "cleanup"])
def test_invalid_transitions_raise_and_name_the_valid_ones(trigger: str) -> None:
    life = Lifecycle("arm")
    with pytest.raises(LifecycleError, match=rf"invalid transition '{trigger}' from unconfigured.*configure"):
        getattr(life, trigger)()
    assert life.state is LifecycleState.UNCONFIGURED


def test_only_active_may_move() -> None:
    life = Lifecycle("arm")
    for setup in ([], ["configure"]):
        for step in setup:
            getattr(life, step)()
        with pytest.raises(LifecycleError, match="cannot write targets: state is"):
            life.require_active("write targets")
    life.activate()
    life.require_active("write targets")


def test_fault_from_anywhere_and_only_explicit_reset_leaves_it() -> None:
    life = Lifecycle("arm")
    life.configure()
    life.activate()
    life.fail("servo 3 overload")
    assert life.state is LifecycleState.FAULT and not life.can_move
    with pytest.raises(LifecycleError, match="servo 3 overload"):
        life.require_active("move")
    for shortcut in ("activate", "configure", "deactivate"):
        with pytest.raises(LifecycleError):
            getattr(life, shortcut)()
    life.fail("second problem")  # kept: the first reason is what the operator needs
    assert life.fault_reason == "servo 3 overload"
    life.reset("cleared by operator")
    assert life.state is LifecycleState.INACTIVE and life.fault_reason is None
    life.activate()
    assert life.can_move


def test_fault_from_unconfigured_and_nothing_after_finalized() -> None:
    life = Lifecycle("arm")
    life.fail("bus missing")
    life.reset()
    assert life.state is LifecycleState.INACTIVE
    life.shutdown()
    with pytest.raises(LifecycleError, match="finalized"):
        life.fail("late")
