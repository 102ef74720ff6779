"""Robot descriptions (validation that names the bad field) and calibration (conversion and its checks)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from robot.calibration import (
    CalibrationError,
    calibrate_from_counts,
    check_calibration,
    count_rates_to_velocities,
    counts_to_positions,
    load_reference_pose,
    positions_to_counts,
)
from robot.description import DescriptionError, load_description, parse_description, safety_config_for

ROOT = Path(__file__).resolve().parents[1]
ASSETS = sorted((ROOT / "assets" / "robots").glob("*.yaml"))
BASE = {
    "name": "two",
    "bus": "dynamixel",
    "joints": [
        {"name": "a", "bus_id": 1, "limits": {"lower": -1.0, "upper": 1.0, "velocity": 2.0, "effort": 3.0}},
        {"name": "b", "bus_id": 2, "direction": -1, "gear_ratio": 2.0,
         "limits": {"lower": -2.0, "upper": 2.0, "velocity": 1.0, "acceleration": 4.0}},
    ],
}


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.name)
def test_shipped_descriptions_load_and_round_trip(path: Path) -> None:
    desc = load_description(path)
    assert desc.dh is not None and len(desc.joint_names) >= 3
    again = parse_description(yaml.safe_load(yaml.safe_dump(desc.to_dict())), source=str(path))
    assert again == desc
    config = desc.safety_config(watchdog_period_s=0.2)
    assert config.workspace is not None and config.keep_out and config.watchdog_period_s == 0.2
    assert len(config.acceleration) == len(desc.joints)


def test_limits_come_from_the_description() -> None:
    desc = parse_description(BASE)
    limits = desc.joint_limits()
    assert limits.lower.tolist() == [-1.0, -2.0] and limits.velocity.tolist() == [2.0, 1.0]
    assert limits.effort[0] == 3.0 and np.isinf(limits.effort[1])  # no effort limit given
    assert desc.safety_config().acceleration is None  # joint "a" has none: not limited


def _bad(path: str, value: object) -> dict:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: object = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    if value is KeyError:
        del node[last]  # type: ignore[union-attr]
    else:
        node[last] = value  # type: ignore[index]
    return data


@pytest.mark.parametrize("path,value,message", [
    ("joints.1.limits.velocity", KeyError, r"joints\[1\].limits.velocity: missing"),
    ("joints.1.limits.velocity", -1.0, r"joints\[1\].limits.velocity: expected a finite number > 0, got -1.0"),
    ("joints.0.limits.lower", 5.0, r"joints\[0\].limits: lower 5.0 > upper 1.0"),
    ("joints.0.bus_id", "one", r"joints\[0\].bus_id: expected int, got 'one'"),
    ("joints.1.bus_id", 1, r"joints: duplicate joint bus_ids \[1\]"),
    ("joints.1.direction", 2, r"joints\[1\].direction: expected 1 or -1"),
    ("bus", "ethercat", r"bus: expected one of"),
    ("joints", [], r"joints: expected at least one joint"),
    ("kinematics", {"dh": [[0, 0, 0, 0]]}, r"kinematics.dh: has 1 rows, expected one per joint \(2\)"),
    ("workspace", {"lower": [0, 0], "upper": [1, 1, 1]}, r"workspace.lower: expected \[x, y, z\]"),
    ("keep_out", [{"lower": [1, 1, 1], "upper": [0, 0, 0]}], r"keep_out\[0\]: .*lower"),
    ("gripper", {"bus_id": 2, "open_counts": 1, "closed_counts": 0}, r"gripper.bus_id: 2 is also a joint"),
])
def test_validation_errors_name_the_file_and_field(path: str, value: object, message: str) -> None:
    with pytest.raises(DescriptionError, match=rf"^robots/x.yaml: {message}"):
        parse_description(_bad(path, value), source="robots/x.yaml")


def test_unreadable_or_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(DescriptionError, match="cannot read robot description"):
        load_description(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("joints: [unclosed")
    with pytest.raises(DescriptionError, match="bad.yaml: not valid YAML"):
        load_description(tmp_path / "bad.yaml")


def test_counts_and_positions_round_trip_with_direction_and_gearing() -> None:
    desc = parse_description(BASE)
    counts = np.array([2048.0, 1000.0])
    calibrated = calibrate_from_counts(desc, counts, np.array([0.5, -0.25]), method="test")
    assert np.allclose(counts_to_positions(calibrated, counts), [0.5, -0.25])
    q = np.array([-0.3, 1.2])
    assert np.allclose(counts_to_positions(calibrated, positions_to_counts(calibrated, q)), q)
    # joint b: direction -1, gear 2 -> one motor turn (4096 counts) is -pi at the joint
    assert np.allclose(count_rates_to_velocities(calibrated, [4096.0, 4096.0]), [2 * np.pi, -np.pi])
    check_calibration(calibrated, counts)


def test_missing_calibration_says_how_to_make_one() -> None:
    desc = parse_description(BASE, source="robots/two.yaml")
    with pytest.raises(CalibrationError, match=r"no calibration; run `robocell calibrate --description robots/two"):
        check_calibration(desc)
    with pytest.raises(CalibrationError):
        counts_to_positions(desc, np.zeros(2))


def test_inconsistent_calibration_is_refused_with_the_reason() -> None:
    desc = calibrate_from_counts(parse_description(BASE), np.array([2048.0, 2048.0]), np.zeros(2), "test")
    changed = replace(desc, joints=(desc.joints[0], replace(desc.joints[1], gear_ratio=3.0)))
    with pytest.raises(CalibrationError, match="joint 'b' has gear_ratio=3.0 but was calibrated with gear_ratio=2.0"):
        check_calibration(changed)
    renamed = replace(desc, joints=(replace(desc.joints[0], name="c"), desc.joints[1]))
    with pytest.raises(CalibrationError, match=r"joints \['c'\] are not in the calibration"):
        check_calibration(renamed)
    with pytest.raises(CalibrationError, match="joint 'a' reads 1.571 rad, outside its limits"):
        check_calibration(desc, np.array([2048.0 + 1024.0, 2048.0]))  # a quarter turn off


def test_calibration_survives_save_and_load(tmp_path: Path) -> None:
    desc = calibrate_from_counts(parse_description(BASE), np.array([100.0, 200.0]), np.zeros(2), "test")
    desc.save(tmp_path / "two.yaml")
    loaded = load_description(tmp_path / "two.yaml")
    assert loaded.calibration is not None
    assert loaded.calibration.joints["b"].offset_counts == pytest.approx(200.0)
    assert replace(loaded, source=desc.source) == desc


def test_reference_pose_file_must_name_every_joint(tmp_path: Path) -> None:
    desc = parse_description(BASE)
    (tmp_path / "pose.yaml").write_text("reference_pose: {a: 0.5, b: -0.1}\n")
    assert load_reference_pose(tmp_path / "pose.yaml", desc).tolist() == [0.5, -0.1]
    (tmp_path / "short.yaml").write_text("{a: 0.5, z: 1}\n")
    with pytest.raises(CalibrationError, match=r"missing \['b'\], unknown \['z'\]"):
        load_reference_pose(tmp_path / "short.yaml", desc)


def test_safety_config_for_any_backend() -> None:
    class Sim:  # a backend without a description keeps the defaults
        pass

    desc = load_description(ASSETS[0])

    class Hardware:
        description = desc

    assert safety_config_for(Sim(), watchdog_period_s=0.3).workspace is None
    config = safety_config_for(Hardware(), watchdog_period_s=0.3)
    assert config.watchdog_period_s == 0.3 and config.workspace == desc.workspace
