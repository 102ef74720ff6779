"""Real-time mode: a fixed-rate servo loop on the wall clock.

Every servo cycle reads the robot, passes one joint target through the safety
filter and writes it. Policy actions arrive at ``control_hz`` (or as chunks);
each action row becomes a joint goal (via IK once per control period) and the
loop interpolates linearly towards it, so motion stays smooth when the policy
is slow. A target is only as fresh as the message it came from: the watchdog
holds the robot once the latest action is older than ``watchdog_period_s``.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from robot.clock import Rate

log = logging.getLogger("robot_node")


class Interpolator:
    """Linear joint-space interpolation from the last commanded position to a goal."""

    def __init__(self) -> None:
        self.start: np.ndarray | None = None
        self.goal: np.ndarray | None = None
        self.gripper = 1.0
        self.ticks = 1
        self.tick = 0

    def set_goal(self, start: np.ndarray, goal: np.ndarray, gripper: float, ticks: int) -> None:
        self.start, self.goal, self.gripper = start.copy(), goal, gripper
        self.ticks, self.tick = max(1, ticks), 0

    def next(self) -> np.ndarray | None:
        if self.goal is None or self.start is None:
            return None
        self.tick = min(self.tick + 1, self.ticks)
        alpha = self.tick / self.ticks
        return self.start + alpha * (self.goal - self.start)


def run_realtime(node) -> int:  # node: robot.nodes.robot_node.RobotNode
    cfg = node.config
    robot = node.robot
    loop_hz = cfg.loop_hz or cfg.control_hz
    dt = 1.0 / loop_hz
    ticks_per_control = max(1, round(loop_hz / cfg.control_hz))
    if robot.supports_episodes:
        node._info = robot.reset_episode(cfg.seed)
    node.safety.reset_reference()
    rate = Rate(loop_hz)
    node.rate = rate
    interp = Interpolator()
    last_command: np.ndarray | None = None
    started = time.perf_counter()
    tick = 0
    while not node._stop:
        now = time.perf_counter()
        if cfg.duration_s is not None and now - started >= cfg.duration_s:
            break
        control_tick = tick % ticks_per_control == 0
        state = robot.read(with_cameras=cfg.cameras and control_tick)
        if control_tick:
            node.publish_observation(state)
        node.drain_commands(0)
        if control_tick:
            row = node.next_action_row(now)
            targets = None if row is None else node.controller.joint_targets(row, node.pending.mode, state, now)
            if targets is not None:
                start = last_command if last_command is not None else state.joint_positions
                interp.set_goal(np.asarray(start, dtype=np.float64), targets[0], targets[1], ticks_per_control)
        target = interp.next()
        fresh = now - node.pending.received_s <= cfg.watchdog_period_s + len(node.pending.rows) / cfg.control_hz
        if not fresh:
            target = None
        command = node.safety.filter(
            target, interp.gripper if target is not None else None, state.joint_positions, now, dt,
            command_time_s=node.pending.received_s if target is not None else None,
            measured_effort=state.joint_efforts,
        )
        if command.held:
            interp.goal = None
        robot.write_joint_targets(command.joint_positions, command.gripper)
        last_command = command.joint_positions
        robot.advance(dt)
        node.publish_status()
        tick += 1
        rate.sleep()
    stats = node.publish_status(force=True)
    err = rate.errors.summary_ms()
    print(
        f"summary: realtime {loop_hz:.0f} Hz for {time.perf_counter() - started:.1f} s | period error "
        f"p50 {err['p50']:.3f} ms p99 {err['p99']:.3f} ms max {err['max']:.3f} ms | missed cycles "
        f"{rate.missed_cycles} | obs->action p99 {stats['latency_ms']['p99']:.2f} ms",
        flush=True,
    )
    return 0
