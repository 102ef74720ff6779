"""The work cell's single-link bodies: Bullet rigid bodies that never fall asleep."""

from __future__ import annotations

from sim.world import PART_SHAPES, TABLE_TOP_Z, World


def test_a_part_resting_longer_than_bullets_sleep_delay_still_falls_when_its_support_goes() -> None:
    # Bullet puts a rigid body that stays still for 2 s to sleep unless told otherwise; a sleeping
    # part would float once the table (or a pallet, or a block under it) moved away.
    world = World()
    try:
        world.rebuild()
        shape = PART_SHAPES["cube"]
        part = world.add_part(shape, "red", (0.4, 0.0), 0.0)
        world.finish_loading()
        world.step(3 * world.physics_hz)
        resting_z = world.body_pose(part)[2]
        assert abs(resting_z - (TABLE_TOP_Z + shape.half_extents[2])) < 1e-3
        assert world.body_speed(part) < 1e-3
        world.client.removeBody(world.table_id)
        world.step(world.physics_hz // 2)
        assert world.body_pose(part)[2] < resting_z - 0.5  # fell freely for half a second
    finally:
        world.close()
