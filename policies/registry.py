"""Load any policy from a short spec string, so every command takes every kind of policy.

    expert:PickPlace              the privileged scripted expert of a task (sim/)
    student:assets/student/x.pt   a student checkpoint (or .ts TorchScript / .onnx export)
    sb3:path/to/model.zip         a stable-baselines3 teacher
    remote:tcp://127.0.0.1:5600   a policy served over ZeroMQ (`robocell serve-policy`)
    zero:7                        always the zero action (plumbing checks, benchmarks)

Kinds are registered with `register_policy_kind`; modules load lazily so a spec
only imports what it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from policies.base import Policy

_KINDS: dict[str, str] = {
    "expert": "sim.experts:make_expert",
    "student": "policies.student.runtime:load_student",
    "sb3": "policies.teachers.sb3_teacher:load_sb3_policy",
    "remote": "policies.remote:RemotePolicy",
    "zero": "policies.simple:make_zero",
}


def register_policy_kind(kind: str, factory: str | Callable[[str], Policy]) -> None:
    """Add a spec prefix; `factory` is a callable or a "module:attr" string taking the rest of the spec.

    Two different factories may not claim one prefix (a silent override once made one
    test suite's policies replace another's); re-registering the same factory is fine.
    """
    if kind in _KINDS and _name_of(_KINDS[kind]) != _name_of(factory):
        raise ValueError(f"policy kind {kind!r} is already registered to {_name_of(_KINDS[kind])}")
    _KINDS[kind] = factory  # type: ignore[assignment]


def _name_of(factory: str | Callable[[str], Policy]) -> str:
    """Module basename + qualname: a module imported twice (`tests.x` and `x`) still matches itself."""
    if isinstance(factory, str):
        return factory
    return f"{factory.__module__.rsplit('.', 1)[-1]}:{factory.__qualname__}"


def policy_kinds() -> list[str]:
    return sorted(_KINDS)


def load_policy(spec: str) -> Policy:
    """Build the policy a spec names; raises ValueError naming the spec and the known kinds."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in _KINDS or not rest:
        raise ValueError(f"policy spec {spec!r} is not KIND:ARG with KIND in {policy_kinds()}")
    factory = _KINDS[kind]
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
    policy = factory(rest)
    if not isinstance(policy, Policy):
        raise TypeError(f"{spec!r} built {type(policy).__name__}, which lacks reset()/act()")
    return policy
