"""Joint calibration: motor counts <-> joint positions, its consistency checks, and `robocell calibrate`.

A joint's position is ``direction * (counts - offset_counts) * 2*pi / (counts_per_rev * gear_ratio)``.
The offsets are measured, not designed: `robocell calibrate` reads the motor
counts while every joint sits at a known reference pose (moved there by hand with
torque off, or already there), computes the offsets and writes them into the
description's ``calibration`` section, together with the direction, gear ratio
and encoder resolution they were measured with.

A backend calls `check_calibration` before enabling torque and refuses with a
`CalibrationError` that says why: no calibration, a joint missing from it, a
joint whose bus ID, direction, gear ratio or resolution changed since, or a
reading that lands outside the joint's limits (a wrong offset or a wrapped
encoder).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot.description import Calibration, JointCalibration, RobotDescription, load_description

log = logging.getLogger(__name__)
TWO_PI = 2.0 * np.pi


class CalibrationError(RuntimeError):
    """Missing or inconsistent calibration: the robot must not be enabled."""


def _offsets(desc: RobotDescription) -> np.ndarray:
    if desc.calibration is None:
        raise CalibrationError(
            f"robot {desc.name!r} ({desc.source}) has no calibration; "
            f"run `robocell calibrate --description {desc.source}` first"
        )
    missing = [n for n in desc.joint_names if n not in desc.calibration.joints]
    if missing:
        raise CalibrationError(
            f"robot {desc.name!r}: joints {missing} are not in the calibration ({desc.source})")
    return np.array([desc.calibration.joints[n].offset_counts for n in desc.joint_names], dtype=np.float64)


def _scale(desc: RobotDescription) -> np.ndarray:
    """Joint radians per motor count, signed by direction."""
    return np.array([j.direction * TWO_PI / (j.counts_per_rev * j.gear_ratio) for j in desc.joints])


def counts_to_positions(desc: RobotDescription, counts: np.ndarray) -> np.ndarray:
    """Joint positions (rad) from motor counts. Raises `CalibrationError` without a calibration."""
    return (np.asarray(counts, dtype=np.float64) - _offsets(desc)) * _scale(desc)


def positions_to_counts(desc: RobotDescription, positions: np.ndarray) -> np.ndarray:
    """Motor counts (float; round at the bus) for joint positions (rad)."""
    return np.asarray(positions, dtype=np.float64) / _scale(desc) + _offsets(desc)


def count_rates_to_velocities(desc: RobotDescription, counts_per_s: np.ndarray) -> np.ndarray:
    """Joint velocities (rad/s) from motor count rates; no offset involved."""
    return np.asarray(counts_per_s, dtype=np.float64) * _scale(desc)


def check_calibration(
    desc: RobotDescription, counts: np.ndarray | None = None, tolerance_rad: float = 0.2
) -> None:
    """Raise `CalibrationError` unless the calibration exists, matches the joints and (given
    `counts`, the current readings) puts every joint within its limits +- `tolerance_rad`."""
    _offsets(desc)
    assert desc.calibration is not None
    extra = sorted(set(desc.calibration.joints) - set(desc.joint_names))
    if extra:
        raise CalibrationError(
            f"robot {desc.name!r}: calibration has joints {extra} that the description lacks")
    for joint in desc.joints:
        entry = desc.calibration.joints[joint.name]
        for field in ("bus_id", "direction", "gear_ratio", "counts_per_rev"):
            now, then = getattr(joint, field), getattr(entry, field)
            if now != then:
                raise CalibrationError(
                    f"robot {desc.name!r}: joint {joint.name!r} has {field}={now} but was calibrated with "
                    f"{field}={then}; calibrate again"
                )
    if counts is None:
        return
    positions = counts_to_positions(desc, counts)
    for joint, q in zip(desc.joints, positions, strict=True):
        if not (joint.lower - tolerance_rad <= q <= joint.upper + tolerance_rad):
            raise CalibrationError(
                f"robot {desc.name!r}: joint {joint.name!r} reads {q:.3f} rad, outside its limits "
                f"[{joint.lower}, {joint.upper}] by more than {tolerance_rad} rad; the offset is probably "
                f"wrong (or the joint was moved out of range with torque off)"
            )


def calibrate_from_counts(
    desc: RobotDescription, counts: np.ndarray, reference_pose: np.ndarray, method: str
) -> RobotDescription:
    """The description with offsets that make `counts` read as `reference_pose` (rad)."""
    counts = np.asarray(counts, dtype=np.float64)
    reference_pose = np.asarray(reference_pose, dtype=np.float64)
    n = len(desc.joints)
    if counts.shape != (n,) or reference_pose.shape != (n,):
        raise CalibrationError(f"expected {n} counts and reference positions, got {counts.shape}, "
                               f"{reference_pose.shape}")
    offsets = counts - reference_pose / _scale(desc)
    joints = {
        j.name: JointCalibration(j.bus_id, float(off), j.direction, j.gear_ratio, j.counts_per_rev)
        for j, off in zip(desc.joints, offsets, strict=True)
    }
    calibration = Calibration(
        joints, method=method, recorded_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        reference_pose=dict(zip(desc.joint_names, reference_pose.tolist(), strict=True)),
    )
    return replace(desc, calibration=calibration)


def load_reference_pose(path: str | Path, desc: RobotDescription) -> np.ndarray:
    """Read ``{reference_pose: {joint: rad, ...}}`` (or the bare mapping); every joint must be named."""
    data = yaml.safe_load(Path(path).read_text())
    pose = data.get("reference_pose", data) if isinstance(data, dict) else None
    if not isinstance(pose, dict):
        raise CalibrationError(f"{path}: expected a mapping of joint name -> position (rad)")
    missing = [n for n in desc.joint_names if n not in pose]
    unknown = sorted(set(pose) - set(desc.joint_names))
    if missing or unknown:
        raise CalibrationError(f"{path}: joints missing {missing}, unknown {unknown}")
    return np.array([float(pose[n]) for n in desc.joint_names])


# -- `robocell calibrate` -------------------------------------------------------
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--description", required=True, help="robot description YAML to calibrate")
    parser.add_argument("--backend", default=None, help="driver name (default: the description's bus)")
    parser.add_argument("--port", help="serial port (dynamixel)")
    parser.add_argument("--baudrate", type=int, help="serial baud rate (dynamixel)")
    parser.add_argument("--channel", help="CAN channel (canopen)")
    parser.add_argument("--interface", help="python-can interface (canopen), e.g. socketcan")
    parser.add_argument("--backend-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="any other backend argument, as in a launch file's backend_args (repeatable)")
    pose = parser.add_mutually_exclusive_group()
    pose.add_argument("--pose-file", help="YAML {reference_pose: {joint: rad}}; default: all zeros")
    pose.add_argument("--reference-pose", help="comma-separated joint positions (rad) of the reference pose")
    parser.add_argument("--interactive", action="store_true",
                        help="prompt to move the robot to the reference pose (torque off) before reading")
    parser.add_argument("--samples", type=int, default=5, help="readings to average")
    parser.add_argument("--output", help="where to write (default: overwrite --description)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from robot.drivers import load_backend  # the drivers import this module; import lazily

    desc = load_description(args.description)
    if args.pose_file:
        reference = load_reference_pose(args.pose_file, desc)
    elif args.reference_pose:
        reference = np.array([float(v) for v in args.reference_pose.split(",")])
    else:
        reference = np.zeros(len(desc.joints))
    backend = args.backend or desc.bus
    kwargs: dict[str, Any] = {"description": args.description}
    for key in ("port", "baudrate", "channel", "interface"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    for item in args.backend_arg:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--backend-arg {item!r} is not KEY=VALUE")
        kwargs[key] = yaml.safe_load(value)
    robot = load_backend(backend)(**kwargs)
    robot.configure()
    try:
        if args.interactive:
            robot.set_torque(False)
            pose = dict(zip(desc.joint_names, reference.tolist(), strict=True))
            input(f"Move {desc.name} to the reference pose {pose} and press Enter: ")
        samples = []
        for _ in range(max(1, args.samples)):
            samples.append(robot.read_raw_counts())
            time.sleep(0.01)
        counts = np.mean(samples, axis=0)
    finally:
        robot.disconnect()
    calibrated = calibrate_from_counts(desc, counts, reference, method="interactive" if args.interactive
                                       else ("pose-file" if args.pose_file else "reference-pose"))
    output = args.output or args.description
    calibrated.save(output)
    offsets = {n: round(e.offset_counts, 1) for n, e in calibrated.calibration.joints.items()}  # type: ignore[union-attr]
    print(f"wrote calibration of {desc.name!r} to {output}: offsets (counts) {offsets}")
    return 0
