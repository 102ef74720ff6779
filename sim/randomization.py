"""Domain randomisation: lighting, camera pose jitter, part mass and friction. Off by default.

`DomainRandomization` says what to vary and by how much; `SimRobot(domain_randomization=...)`
and `ManufacturingEnv(domain_randomization=...)` (and so ``gym.make(id, domain_randomization=True)``)
take one, ``True`` for the defaults, or a dict of its fields (as a launch file gives it).

Each episode's values (`EpisodeRandomization`) are drawn at reset from a generator of their
own, seeded by the episode seed and `STREAM`: the same seed gives the same lighting, cameras
and dynamics bit for bit, and the task's layout (which parts, where, the wording) is the one
the same seed gives without randomisation. Everything is drawn in a fixed order whatever is
switched on, so turning one thing off leaves the others' values as they were.

* lighting: the renderer's light direction (any azimuth, elevation in `LIGHT_ELEVATION_RAD`),
  colour (each channel in `LIGHT_COLOUR`), ambient, diffuse and specular coefficients
  (`LIGHT_AMBIENT`, `LIGHT_DIFFUSE`, `LIGHT_SPECULAR`, around TinyRenderer's 0.6 / 0.35 / 0.05).
* camera pose jitter: the scene camera and the wrist camera (on the hand) each moved by up to
  `camera_jitter_m` along every axis and turned about their eye by a rotation vector of up
  to `camera_jitter_rad` in every component; fixed for the episode.
* mass and friction: every part the task adds (`World.part_ids`) gets its mass and lateral
  friction multiplied by its own factor in `mass_scale` and `friction_scale`, before the parts settle.

With randomisation off nothing is drawn and rendering passes no light settings, so
observations are bit-identical to those of a build without this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from pybullet_utils.bullet_client import BulletClient

from sim.cameras import SceneCamera, WristCamera
from sim.geometry import rotvec_to_matrix

STREAM = 0xD0  # the randomisation's generator is default_rng([episode seed, STREAM])
LIGHT_ELEVATION_RAD = (np.deg2rad(35.0), np.deg2rad(85.0))  # TinyRenderer's default light: about 60 deg
LIGHT_COLOUR = (0.8, 1.0)  # each channel; the default light is white (1, 1, 1)
LIGHT_AMBIENT = (0.45, 0.75)
LIGHT_DIFFUSE = (0.2, 0.5)
LIGHT_SPECULAR = (0.0, 0.1)

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class DomainRandomization:
    """What to randomise per episode and how much (see the module docstring for the ranges)."""

    lighting: bool = True
    camera_jitter_m: float = 0.01  # per axis, both cameras
    camera_jitter_rad: float = 0.03  # per rotation-vector component, about the camera's eye
    mass_scale: tuple[float, float] = (0.8, 1.25)  # factor on each part's mass
    friction_scale: tuple[float, float] = (0.8, 1.25)  # factor on each part's lateral friction

    def __post_init__(self) -> None:
        if not (self.camera_jitter_m >= 0 and self.camera_jitter_rad >= 0):
            raise ValueError(f"camera jitter must be >= 0, got {self.camera_jitter_m} m, {self.camera_jitter_rad} rad")
        for name in ("mass_scale", "friction_scale"):
            value = getattr(self, name)
            lo, hi = (float(v) for v in value)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be (lo, hi) with 0 < lo <= hi, got {value}")
            object.__setattr__(self, name, (lo, hi))  # a list from a launch file becomes a tuple

    @classmethod
    def resolve(cls, value: DomainRandomization | bool | Mapping[str, Any] | None) -> DomainRandomization | None:
        """None or False: off; True: the defaults; a mapping: those fields over the defaults."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                raise ValueError(f"unknown domain randomisation fields {sorted(unknown)}")
            return cls(**value)
        raise TypeError(f"domain_randomization must be None, a bool, a mapping or a DomainRandomization, got {value!r}")


@dataclass(frozen=True)
class Lighting:
    """The renderer's light for one episode (`getCameraImage`'s light arguments)."""

    direction: Vec3  # towards the light
    colour: Vec3
    ambient: float
    diffuse: float
    specular: float

    def render_kwargs(self) -> dict[str, Any]:
        return {
            "lightDirection": list(self.direction),
            "lightColor": list(self.colour),
            "lightAmbientCoeff": self.ambient,
            "lightDiffuseCoeff": self.diffuse,
            "lightSpecularCoeff": self.specular,
        }


@dataclass(frozen=True)
class ViewJitter:
    """A small rigid move of a camera: translate by `offset_m`, then turn about the eye by `rotation_rad`."""

    offset_m: Vec3
    rotation_rad: Vec3  # axis * angle, in the frame the camera is given in

    def apply(self, eye: Sequence[float], target: Sequence[float], up: Sequence[float]) -> tuple[Vec3, Vec3, Vec3]:
        rotation = rotvec_to_matrix(np.array(self.rotation_rad))
        new_eye = np.asarray(eye, dtype=np.float64) + np.array(self.offset_m)
        new_target = new_eye + rotation @ (np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64))
        new_up = rotation @ np.asarray(up, dtype=np.float64)
        return _vec3(new_eye), _vec3(new_target), _vec3(new_up)


@dataclass(frozen=True)
class EpisodeRandomization:
    """One episode's draw. A field is None (or a factor 1) where that randomisation is off."""

    lighting: Lighting | None
    scene_jitter: ViewJitter | None
    wrist_jitter: ViewJitter | None
    part_scales: tuple[tuple[int, float, float], ...]  # (body, mass factor, friction factor) per part

    def scene_camera(self, camera: SceneCamera) -> SceneCamera:
        if self.scene_jitter is None:
            return camera
        eye, target, up = self.scene_jitter.apply(camera.eye, camera.target, camera.up)
        return replace(camera, eye=eye, target=target, up=up)

    def wrist_camera(self, camera: WristCamera) -> WristCamera:
        """Jittered in the hand frame: the mount point moves and the view turns about it."""
        if self.wrist_jitter is None:
            return camera
        up = camera.up_m if camera.up_m is not None else (1.0, 0.0, 0.0)
        eye, target, up = self.wrist_jitter.apply(camera.offset_m, camera.aim_m, up)
        return replace(camera, offset_m=eye, aim_m=target, up_m=up)

    def apply_dynamics(self, client: BulletClient) -> None:
        """Scale each part's mass and lateral friction (its inertia follows the mass)."""
        for body, mass_factor, friction_factor in self.part_scales:
            if mass_factor == 1.0 and friction_factor == 1.0:
                continue
            info = client.getDynamicsInfo(body, -1)
            client.changeDynamics(body, -1, mass=info[0] * mass_factor, lateralFriction=info[1] * friction_factor)


def draw(config: DomainRandomization, seed: int, part_bodies: Sequence[int]) -> EpisodeRandomization:
    """Episode `seed`'s randomisation for parts `part_bodies` (in spawn order), from its own generator."""
    rng = np.random.default_rng([int(seed), STREAM])
    # Every value is drawn whatever is on, in this order, so each keeps its value when another is off.
    light_u = rng.uniform(size=8)
    scene_u = rng.uniform(-1.0, 1.0, size=6)
    wrist_u = rng.uniform(-1.0, 1.0, size=6)
    part_u = rng.uniform(size=(len(part_bodies), 2))
    lighting = _lighting(light_u) if config.lighting else None
    jitter = config.camera_jitter_m > 0 or config.camera_jitter_rad > 0
    scene = _jitter(scene_u, config) if jitter else None
    wrist = _jitter(wrist_u, config) if jitter else None
    scales = tuple(
        (int(body), _lerp(config.mass_scale, u[0]), _lerp(config.friction_scale, u[1]))
        for body, u in zip(part_bodies, part_u, strict=True)
    )
    return EpisodeRandomization(lighting, scene, wrist, scales)


def _lighting(u: np.ndarray) -> Lighting:
    azimuth = 2 * np.pi * u[0]
    elevation = _lerp(LIGHT_ELEVATION_RAD, u[1])
    direction = (np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation))
    colour = tuple(_lerp(LIGHT_COLOUR, v) for v in u[2:5])
    return Lighting(
        _vec3(direction), colour, _lerp(LIGHT_AMBIENT, u[5]), _lerp(LIGHT_DIFFUSE, u[6]), _lerp(LIGHT_SPECULAR, u[7])
    )


def _jitter(u: np.ndarray, config: DomainRandomization) -> ViewJitter:
    return ViewJitter(_vec3(config.camera_jitter_m * u[:3]), _vec3(config.camera_jitter_rad * u[3:]))


def _lerp(bounds: tuple[float, float], u: float) -> float:
    return float(bounds[0] + (bounds[1] - bounds[0]) * u)


def _vec3(v: Sequence[float] | np.ndarray) -> Vec3:
    x, y, z = (float(c) for c in v)
    return x, y, z
