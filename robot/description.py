"""Hardware robot descriptions: one YAML file per robot, loaded into frozen dataclasses.

The description is the one place a robot's limits live: the safety filter's
`JointLimits` and `SafetyConfig` are derived from it (`joint_limits()`,
`safety_config()`), so a driver, the safety layer and calibration never disagree.
A file looks like this (see ``assets/robots/`` for complete examples)::

    name: dxl_arm
    bus: dynamixel            # dynamixel | canopen | any
    joints:
      - name: shoulder
        bus_id: 1             # Dynamixel ID or CANopen node ID
        direction: 1          # +1 or -1: sign from motor to joint
        gear_ratio: 1.0       # motor turns per joint turn
        counts_per_rev: 4096  # encoder counts per motor turn
        limits: {lower: -1.5, upper: 1.5, velocity: 2.0, acceleration: 8.0, effort: 1.2}
    gripper: {bus_id: 5, open_counts: 2600, closed_counts: 1800}   # optional
    kinematics: {dh: [[a, alpha, d, theta_offset], ...]}            # optional, one row per joint
    workspace: {lower: [x, y, z], upper: [x, y, z]}                 # optional, metres
    keep_out: [{name: column, lower: [...], upper: [...]}]          # optional
    calibration: {...}        # written by `robocell calibrate`; see robot.calibration

Every validation error is a `DescriptionError` naming the file and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot.interface import JointLimits
from robot.safety import Box, SafetyConfig

BUSES = ("dynamixel", "canopen", "any")


class DescriptionError(ValueError):
    """A robot description that cannot be used; the message names the file and field."""


@dataclass(frozen=True)
class JointSpec:
    name: str
    bus_id: int
    lower: float
    upper: float
    velocity: float
    effort: float
    acceleration: float | None = None
    direction: int = 1
    gear_ratio: float = 1.0
    counts_per_rev: int = 4096
    torque_constant_nm_per_a: float = 1.0  # motor current -> joint effort (Dynamixel)
    rated_torque_nm: float = 1.0  # CiA 402 torque actual is per mille of this


@dataclass(frozen=True)
class GripperSpec:
    bus_id: int
    open_counts: int
    closed_counts: int


@dataclass(frozen=True)
class JointCalibration:
    bus_id: int
    offset_counts: float  # motor counts at joint position 0
    direction: int
    gear_ratio: float
    counts_per_rev: int


@dataclass(frozen=True)
class Calibration:
    joints: dict[str, JointCalibration]
    method: str = ""
    recorded_at: str = ""
    reference_pose: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RobotDescription:
    name: str
    bus: str
    joints: tuple[JointSpec, ...]
    gripper: GripperSpec | None = None
    dh: tuple[tuple[float, float, float, float], ...] | None = None  # [a, alpha, d, theta_offset] per joint
    workspace: Box | None = None
    keep_out: tuple[Box, ...] = ()
    calibration: Calibration | None = None
    source: str = "<memory>"

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def bus_ids(self) -> tuple[int, ...]:
        return tuple(j.bus_id for j in self.joints)

    def joint_limits(self) -> JointLimits:
        return JointLimits(
            lower=np.array([j.lower for j in self.joints]),
            upper=np.array([j.upper for j in self.joints]),
            velocity=np.array([j.velocity for j in self.joints]),
            effort=np.array([j.effort for j in self.joints]),
        )

    def safety_config(self, **overrides: Any) -> SafetyConfig:
        """The safety settings this robot's limits imply; `overrides` set the rest (watchdog, ramp...)."""
        accel = [j.acceleration for j in self.joints]
        settings: dict[str, Any] = {
            "acceleration": None if any(a is None for a in accel) else tuple(float(a) for a in accel),
            "workspace": self.workspace,
            "keep_out": self.keep_out,
        }
        settings.update(overrides)
        return SafetyConfig(**settings)

    def to_dict(self) -> dict[str, Any]:
        """A YAML-ready dict that `parse_description` reads back to an equal description."""
        joints = [_joint_dict(j) for j in self.joints]
        out: dict[str, Any] = {"name": self.name, "bus": self.bus, "joints": joints}
        if self.gripper:
            g = self.gripper
            out["gripper"] = {"bus_id": g.bus_id, "open_counts": g.open_counts,
                              "closed_counts": g.closed_counts}
        if self.dh is not None:
            out["kinematics"] = {"dh": [list(row) for row in self.dh]}
        if self.workspace is not None:
            out["workspace"] = _box_dict(self.workspace)
        if self.keep_out:
            out["keep_out"] = [_box_dict(b) for b in self.keep_out]
        if self.calibration is not None:
            c = self.calibration
            out["calibration"] = {
                "method": c.method, "recorded_at": c.recorded_at,
                "reference_pose": {k: float(v) for k, v in c.reference_pose.items()},
                "joints": {name: {"bus_id": e.bus_id, "offset_counts": float(e.offset_counts),
                                  "direction": e.direction, "gear_ratio": e.gear_ratio,
                                  "counts_per_rev": e.counts_per_rev} for name, e in c.joints.items()},
            }
        return out

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def safety_config_for(robot: object, **overrides: Any) -> SafetyConfig:
    """The safety settings for any backend: its description's limits when it has one, else the defaults.

    The robot node calls this instead of building `SafetyConfig` itself, so hardware
    acceleration limits and workspace boxes apply without the node knowing the bus.
    """
    description = getattr(robot, "description", None)
    if isinstance(description, RobotDescription):
        return description.safety_config(**overrides)
    return SafetyConfig(**overrides)


def load_description(path: str | Path) -> RobotDescription:
    """Read and validate a description file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise DescriptionError(f"cannot read robot description {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DescriptionError(f"{path}: not valid YAML: {exc}") from exc
    return parse_description(data, source=str(path))


def parse_description(data: Any, source: str = "<memory>") -> RobotDescription:
    """Validate a description given as a dict (as loaded from YAML)."""
    r = _Reader(source)
    top = r.mapping(data, "")
    bus = r.get(top, "bus", str, "", default="any")
    if bus not in BUSES:
        raise r.error("bus", f"expected one of {list(BUSES)}, got {bus!r}")
    joints_raw = r.get(top, "joints", list, "")
    if not joints_raw:
        raise r.error("joints", "expected at least one joint")
    joints = tuple(_parse_joint(r, raw, f"joints[{i}]") for i, raw in enumerate(joints_raw))
    for what, values in (("name", [j.name for j in joints]), ("bus_id", [j.bus_id for j in joints])):
        dupes = sorted({v for v in values if values.count(v) > 1}, key=str)
        if dupes:
            raise r.error("joints", f"duplicate joint {what}s {dupes}")
    gripper = None
    if top.get("gripper") is not None:
        g = r.mapping(top["gripper"], "gripper")
        gripper = GripperSpec(r.get(g, "bus_id", int, "gripper"), r.get(g, "open_counts", int, "gripper"),
                              r.get(g, "closed_counts", int, "gripper"))
        if gripper.bus_id in [j.bus_id for j in joints]:
            raise r.error("gripper.bus_id", f"{gripper.bus_id} is also a joint's bus_id")
    return RobotDescription(
        name=r.get(top, "name", str, ""),
        bus=bus,
        joints=joints,
        gripper=gripper,
        dh=_parse_dh(r, top.get("kinematics"), len(joints)),
        workspace=_parse_box(r, top["workspace"], "workspace") if top.get("workspace") is not None else None,
        keep_out=tuple(_parse_box(r, b, f"keep_out[{i}]") for i, b in enumerate(top.get("keep_out") or [])),
        calibration=_parse_calibration(r, top.get("calibration")),
        source=source,
    )


def _parse_joint(r: _Reader, raw: Any, where: str) -> JointSpec:
    j = r.mapping(raw, where)
    lim = r.mapping(j.get("limits"), f"{where}.limits")
    lw = f"{where}.limits"
    spec = JointSpec(
        name=r.get(j, "name", str, where),
        bus_id=r.get(j, "bus_id", int, where),
        lower=r.number(lim, "lower", lw),
        upper=r.number(lim, "upper", lw),
        velocity=r.number(lim, "velocity", lw, positive=True),
        effort=r.number(lim, "effort", lw, positive=True, default=math.inf),
        acceleration=r.number(lim, "acceleration", lw, positive=True, default=None),
        direction=r.get(j, "direction", int, where, default=1),
        gear_ratio=r.number(j, "gear_ratio", where, positive=True, default=1.0),
        counts_per_rev=r.get(j, "counts_per_rev", int, where, default=4096),
        torque_constant_nm_per_a=r.number(j, "torque_constant_nm_per_a", where, positive=True, default=1.0),
        rated_torque_nm=r.number(j, "rated_torque_nm", where, positive=True, default=1.0),
    )
    if spec.lower > spec.upper:
        raise r.error(f"{lw}", f"lower {spec.lower} > upper {spec.upper}")
    if spec.direction not in (1, -1):
        raise r.error(f"{where}.direction", f"expected 1 or -1, got {spec.direction}")
    if spec.counts_per_rev <= 0:
        raise r.error(f"{where}.counts_per_rev", f"expected > 0, got {spec.counts_per_rev}")
    if not 0 <= spec.bus_id <= 252:
        raise r.error(f"{where}.bus_id", f"expected 0..252, got {spec.bus_id}")
    return spec


def _parse_dh(r: _Reader, raw: Any, n_joints: int) -> tuple[tuple[float, float, float, float], ...] | None:
    if raw is None:
        return None
    rows = r.get(r.mapping(raw, "kinematics"), "dh", list, "kinematics")
    if len(rows) != n_joints:
        raise r.error("kinematics.dh", f"has {len(rows)} rows, expected one per joint ({n_joints})")
    out = []
    for i, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 4 and all(_is_number(v) for v in row)):
            raise r.error(f"kinematics.dh[{i}]", f"expected [a, alpha, d, theta_offset] numbers, got {row!r}")
        out.append(tuple(float(v) for v in row))
    return tuple(out)


def _parse_box(r: _Reader, raw: Any, where: str) -> Box:
    b = r.mapping(raw, where)
    lower, upper = r.vector3(b, "lower", where), r.vector3(b, "upper", where)
    try:
        return Box(tuple(lower), tuple(upper), name=str(b.get("name", where)))  # type: ignore[arg-type]
    except ValueError as exc:
        raise r.error(where, str(exc)) from exc


def _parse_calibration(r: _Reader, raw: Any) -> Calibration | None:
    if raw is None:
        return None
    c = r.mapping(raw, "calibration")
    joints_raw = r.mapping(c.get("joints"), "calibration.joints")
    joints = {}
    for name, entry in joints_raw.items():
        w = f"calibration.joints.{name}"
        e = r.mapping(entry, w)
        joints[str(name)] = JointCalibration(
            bus_id=r.get(e, "bus_id", int, w), offset_counts=r.number(e, "offset_counts", w),
            direction=r.get(e, "direction", int, w), gear_ratio=r.number(e, "gear_ratio", w, positive=True),
            counts_per_rev=r.get(e, "counts_per_rev", int, w),
        )
    pose = r.mapping(c.get("reference_pose") or {}, "calibration.reference_pose")
    return Calibration(joints, method=str(c.get("method", "")), recorded_at=str(c.get("recorded_at", "")),
                       reference_pose={str(k): float(v) for k, v in pose.items()})


def _joint_dict(j: JointSpec) -> dict[str, Any]:
    limits: dict[str, Any] = {"lower": j.lower, "upper": j.upper, "velocity": j.velocity}
    if math.isfinite(j.effort):
        limits["effort"] = j.effort
    if j.acceleration is not None:
        limits["acceleration"] = j.acceleration
    return {"name": j.name, "bus_id": j.bus_id, "direction": j.direction, "gear_ratio": j.gear_ratio,
            "counts_per_rev": j.counts_per_rev, "torque_constant_nm_per_a": j.torque_constant_nm_per_a,
            "rated_torque_nm": j.rated_torque_nm, "limits": limits}


def _box_dict(b: Box) -> dict[str, Any]:
    return {"name": b.name, "lower": [float(v) for v in b.lower], "upper": [float(v) for v in b.upper]}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class _Reader:
    """Typed field access whose errors name the file and the dotted field path."""

    _MISSING = object()

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, message: str) -> DescriptionError:
        return DescriptionError(f"{self.source}: {where or 'top level'}: {message}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def get(self, d: dict[str, Any], key: str, typ: type, where: str, default: Any = _MISSING) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in d or d[key] is None:
            if default is self._MISSING:
                raise self.error(path, "missing")
            return default
        value = d[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise self.error(path, f"expected {typ.__name__}, got {value!r}")
        return value

    def number(self, d: dict[str, Any], key: str, where: str, positive: bool = False,
               default: Any = _MISSING) -> Any:
        path = f"{where}.{key}"
        if key not in d or d[key] is None:
            if default is self._MISSING:
                raise self.error(path, "missing")
            return default
        value = d[key]
        if not _is_number(value) or (positive and value <= 0):
            raise self.error(path, f"expected a finite number{' > 0' if positive else ''}, got {value!r}")
        return float(value)

    def vector3(self, d: dict[str, Any], key: str, where: str) -> list[float]:
        value = d.get(key)
        if not (isinstance(value, list) and len(value) == 3 and all(_is_number(v) for v in value)):
            raise self.error(f"{where}.{key}", f"expected [x, y, z] numbers, got {value!r}")
        return [float(v) for v in value]
