"""`sim.client.Client` binds pybullet functions once, per client, and forgets them on disconnect."""

from __future__ import annotations

import pybullet as p
import pytest

from sim.client import Client


def test_bound_functions_reach_their_own_client_only() -> None:
    a, b = Client(), Client()
    try:
        for _ in range(2):  # the second round goes through the cached bindings
            assert a.getNumBodies() == 0 and b.getNumBodies() == 0
        a.createMultiBody(0, -1, -1, [0, 0, 0])
        assert a.getNumBodies() == 1 and b.getNumBodies() == 0
    finally:
        a.disconnect()
        b.disconnect()


def test_after_disconnect_a_call_fails_even_when_the_id_is_reused() -> None:
    old = Client()
    old.getNumBodies()  # cache a binding to its id
    old.disconnect()
    new = Client()  # PyBullet hands out the freed id again
    try:
        new.createMultiBody(0, -1, -1, [0, 0, 0])
        with pytest.raises(p.error):
            old.getNumBodies()
        assert new.getNumBodies() == 1
    finally:
        new.disconnect()
