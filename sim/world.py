"""The simulated work cell: one PyBullet client with a floor, a table, two bins and coloured parts.

Every `World` owns its own DIRECT-mode client (`sim.client.Client`, never the global one), so
several worlds can live in one process. `rebuild()` resets the whole simulation and
reloads the static scene: starting every episode from a freshly built world is what
makes resets bit-for-bit deterministic (no contact caches or solver warm starts
leak from one episode into the next).

Frame: the robot base sits at the origin on the table top (z = 0), facing +x.
"Left" is +y from the robot's point of view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

from sim.backdrop import TableBackdrop
from sim.client import Client
from sim.renderers import attach_renderer, detach_renderer, renderer_flag, warm_up
from sim.static_layer import StaticLayer

SOLVER_RESIDUAL_M_S = 1e-5
# Single-link bodies (floor, table, bins, parts, fixtures) as Bullet rigid bodies; False gives
# PyBullet's default one-link multibodies (benchmarks/bench_sim.py compares the two).
RIGID_SINGLE_LINK_BODIES = True
TABLE_TOP_Z = 0.0
TABLE_HEIGHT_M = 0.75
TABLE_CENTER_XY = (0.3, 0.0)
TABLE_HALF_XY = (0.5, 0.5)
TABLE_RGBA = (0.72, 0.6, 0.45, 1.0)

COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.86, 0.12, 0.12, 1.0),
    "green": (0.15, 0.7, 0.2, 1.0),
    "blue": (0.12, 0.3, 0.88, 1.0),
    "yellow": (0.95, 0.82, 0.1, 1.0),
}

PART_FRICTION = 1.2
PART_MASS_KG = 0.05


def rigid_body(
    client: BulletClient,
    mass: float,
    collision: int,
    visual: int,
    position: list[float],
    orientation: list[float] | tuple[float, ...] = (0.0, 0.0, 0.0, 1.0),
) -> int:
    """A single-link body as a Bullet rigid body (`useMaximalCoordinates`), not a one-link multibody.

    Why: PyBullet makes every body a Featherstone multibody by default, and a contact between two
    multibodies (a part on the table) is solved as generic multibody rows with cone friction,
    which cost most of a step's physics. Rigid-rigid contacts take Bullet's rigid-body solver.
    Robots and the conveyor, which have joints, stay multibodies. What it changed and what it
    gained: sim/README.md, "Physics".
    """
    return client.createMultiBody(
        mass, collision, visual, list(position), list(orientation), useMaximalCoordinates=RIGID_SINGLE_LINK_BODIES
    )


@dataclass(frozen=True)
class PartShape:
    """A part's geometry. `half_extents` is the bounding box half size (x, y, z) in the part frame.

    Fingers close along the part's y axis, so `grasp_width_m` is the width they must span.
    `yaw_symmetry_rad` is the rotation about z that maps the part onto itself (for grasp yaw).
    """

    name: str
    kind: str  # "box" or "cylinder"
    half_extents: tuple[float, float, float]
    yaw_symmetry_rad: float

    @property
    def grasp_width_m(self) -> float:
        return 2.0 * self.half_extents[1]

    @property
    def half_height_m(self) -> float:
        return self.half_extents[2]


PART_SHAPES: dict[str, PartShape] = {
    "cube": PartShape("cube", "box", (0.02, 0.02, 0.02), np.pi / 2),
    "cylinder": PartShape("cylinder", "cylinder", (0.02, 0.02, 0.022), 2 * np.pi),
    "brick": PartShape("brick", "box", (0.035, 0.017, 0.02), np.pi),
}


@dataclass(frozen=True)
class BinSpec:
    """An open box on the table. `inner_half_xy` is the half size of its floor inside the walls."""

    name: str
    center_xy: tuple[float, float]
    inner_half_xy: tuple[float, float] = (0.075, 0.075)
    wall_height_m: float = 0.05
    wall_thickness_m: float = 0.01
    floor_thickness_m: float = 0.01

    @property
    def floor_top_z(self) -> float:
        return TABLE_TOP_Z + self.floor_thickness_m

    @property
    def wall_top_z(self) -> float:
        return TABLE_TOP_Z + self.wall_height_m


BINS: dict[str, BinSpec] = {
    "left": BinSpec("left", (0.45, 0.25)),
    "right": BinSpec("right", (0.45, -0.25)),
}
BIN_RGBA = (0.32, 0.33, 0.36, 1.0)


def add_bin(client: BulletClient, spec: BinSpec) -> int:
    """A static open box: a floor and four walls as one compound body."""
    ix, iy = spec.inner_half_xy
    t, h = spec.wall_thickness_m, spec.wall_height_m
    ft = spec.floor_thickness_m
    halves = [
        [ix + t, iy + t, ft / 2],  # floor
        [t / 2, iy + t, h / 2],  # +x wall
        [t / 2, iy + t, h / 2],  # -x wall
        [ix, t / 2, h / 2],  # +y wall
        [ix, t / 2, h / 2],  # -y wall
    ]
    offsets = [
        [0, 0, ft / 2],
        [ix + t / 2, 0, h / 2],
        [-ix - t / 2, 0, h / 2],
        [0, iy + t / 2, h / 2],
        [0, -iy - t / 2, h / 2],
    ]
    n = len(halves)
    col = client.createCollisionShapeArray([p.GEOM_BOX] * n, halfExtents=halves, collisionFramePositions=offsets)
    vis = client.createVisualShapeArray(
        [p.GEOM_BOX] * n, halfExtents=halves, visualFramePositions=offsets, rgbaColors=[BIN_RGBA] * n
    )
    body = rigid_body(client, 0, col, vis, [spec.center_xy[0], spec.center_xy[1], TABLE_TOP_Z])
    client.changeDynamics(body, -1, lateralFriction=0.8)
    return body


class World:
    """The physics client and the static scene; parts are added by tasks."""

    def __init__(self, physics_hz: int = 240, renderer: str = "tiny") -> None:
        if physics_hz <= 0:
            raise ValueError(f"physics_hz must be positive, got {physics_hz}")
        self.physics_hz = int(physics_hz)
        self.client = Client()
        self.physics_steps = 0
        self.bin_ids: dict[str, int] = {}
        self.table_id = -1
        self.renderer = attach_renderer(self.client, renderer)  # "tiny" or "egl" (see sim/renderers.py)
        self.render_flag = renderer_flag(self.renderer)
        self._egl_warm = False
        # With the CPU renderer, the table top is composited into camera images rather than
        # rasterised (far cheaper, same pixels; see sim/backdrop.py). A GPU draws it as it is.
        self.backdrop = (
            TableBackdrop(TABLE_CENTER_XY, TABLE_HALF_XY, TABLE_TOP_Z, TABLE_RGBA) if self.renderer == "tiny" else None
        )
        # Likewise the bins, for a camera that stays put (see sim/static_layer.py).
        self.static_layer = (
            StaticLayer(lambda client: [add_bin(client, spec) for spec in BINS.values()])
            if self.renderer == "tiny" else None
        )
        self.part_ids: list[int] = []  # bodies added by `add_part` since the last `rebuild`, in order

    @property
    def time_s(self) -> float:
        return self.physics_steps / self.physics_hz

    def rebuild(self) -> None:
        """Empty the simulation and load floor, table and bins. Loading happens with rendering off."""
        c = self.client
        c.resetSimulation()
        c.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 0)
        c.setPhysicsEngineParameter(
            fixedTimeStep=1.0 / self.physics_hz,
            numSolverIterations=50,
            # The contact solver stops once every constraint's velocity error is under 10 um/s
            # (PyBullet's 1e-7 m/s runs all 50 iterations on parts that lie still): env steps
            # without cameras about 20 % faster; what it changed is in sim/README.md, "Physics".
            solverResidualThreshold=SOLVER_RESIDUAL_M_S,
            deterministicOverlappingPairs=1,
        )
        c.setGravity(0, 0, -9.81)
        # The floor only catches dropped parts. It is drawn fully transparent (the renderer
        # skips it), because a large surface in view doubles the CPU renderer's cost per frame.
        # It has a visual shape of its own: without one the EGL plugin crashes drawing the plane.
        unseen = c.createVisualShape(p.GEOM_BOX, halfExtents=[0.01, 0.01, 0.01], rgbaColor=[0, 0, 0, 0])
        rigid_body(c, 0, c.createCollisionShape(p.GEOM_PLANE), unseen, [0, 0, TABLE_TOP_Z - TABLE_HEIGHT_M])
        self.table_id = self._add_table()
        if self.backdrop is not None:
            self.backdrop.attach(c, self.table_id)
        self.bin_ids = {name: add_bin(c, spec) for name, spec in BINS.items()}
        if self.static_layer is not None:
            self.static_layer.attach(c, [(body, BIN_RGBA) for body in self.bin_ids.values()])
        self.part_ids = []
        self.physics_steps = 0

    def finish_loading(self) -> None:
        """Turn rendering back on once robot and parts are loaded."""
        self.client.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 1)
        if self.renderer == "egl" and not self._egl_warm:
            warm_up(self.client)
            self._egl_warm = True

    def step(self, n: int) -> None:
        for _ in range(n):
            self.client.stepSimulation()
        self.physics_steps += n

    def close(self) -> None:
        if self.backdrop is not None:
            self.backdrop.close()
        if self.static_layer is not None:
            self.static_layer.close()
        if self.client is not None:
            detach_renderer(self.client)
            self.client.disconnect()
            self.client = None  # type: ignore[assignment]

    # -- scene pieces ---------------------------------------------------------
    def _add_table(self) -> int:
        c = self.client
        half = [TABLE_HALF_XY[0], TABLE_HALF_XY[1], 0.02]
        col = c.createCollisionShape(p.GEOM_BOX, halfExtents=half)
        vis = c.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=list(TABLE_RGBA))
        body = rigid_body(c, 0, col, vis, [TABLE_CENTER_XY[0], TABLE_CENTER_XY[1], TABLE_TOP_Z - half[2]])
        c.changeDynamics(body, -1, lateralFriction=1.0)
        return body

    def add_part(self, shape: PartShape, colour: str, xy: tuple[float, float], yaw: float) -> int:
        """Drop a part onto the table at `xy` with yaw `yaw` (radians); returns its body id."""
        if colour not in COLOURS:
            raise ValueError(f"unknown colour {colour!r}, expected one of {sorted(COLOURS)}")
        c = self.client
        hx, hy, hz = shape.half_extents
        rgba = COLOURS[colour]
        if shape.kind == "box":
            col = c.createCollisionShape(p.GEOM_BOX, halfExtents=[hx, hy, hz])
            vis = c.createVisualShape(p.GEOM_BOX, halfExtents=[hx, hy, hz], rgbaColor=rgba)
        elif shape.kind == "cylinder":
            col = c.createCollisionShape(p.GEOM_CYLINDER, radius=hx, height=2 * hz)
            vis = c.createVisualShape(p.GEOM_CYLINDER, radius=hx, length=2 * hz, rgbaColor=rgba)
        else:
            raise ValueError(f"unknown part kind {shape.kind!r}, expected 'box' or 'cylinder'")
        position = [xy[0], xy[1], TABLE_TOP_Z + hz + 1e-4]
        orientation = c.getQuaternionFromEuler([0, 0, yaw])
        body = rigid_body(c, PART_MASS_KG, col, vis, position, orientation)
        # Some rolling friction and angular damping stop an upright cylinder from wobbling
        # forever after it is dropped (it would never count as resting).
        c.changeDynamics(
            body, -1, lateralFriction=PART_FRICTION, spinningFriction=0.002, rollingFriction=0.0005,
            restitution=0.0, angularDamping=0.3,
        )
        self.part_ids.append(body)
        return body

    def body_pose(self, body: int) -> np.ndarray:
        """[x y z qx qy qz qw] of a body's base."""
        pos, orn = self.client.getBasePositionAndOrientation(body)
        return np.array([*pos, *orn], dtype=np.float64)

    def body_speed(self, body: int) -> float:
        lin, _ = self.client.getBaseVelocity(body)
        return float(np.linalg.norm(lin))
