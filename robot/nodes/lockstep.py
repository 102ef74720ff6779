"""Lockstep mode: simulated time advances only when the policy has answered (or timed out)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from robot import transport, wire
from robot.interface import EpisodeInfo

log = logging.getLogger("robot_node")


@dataclass
class EpisodeResult:
    episode: int
    seed: int | None
    instruction: str
    success: bool
    steps: int
    wall_s: float


def run_lockstep(node) -> int:  # node: robot.nodes.robot_node.RobotNode
    """Run episodes (episodic backends) or one endless episode; returns the exit code."""
    cfg = node.config
    robot = node.robot
    results: list[EpisodeResult] = []
    started = time.perf_counter()
    total_steps = 0
    n_episodes = cfg.episodes if robot.supports_episodes else 1
    episode = 0
    while not node._stop and (n_episodes is None or episode < n_episodes):
        seed = cfg.seed + episode
        node.episode = episode
        node._info = robot.reset_episode(seed) if robot.supports_episodes else EpisodeInfo(instruction="")
        node.safety.reset_reference()
        node.episode_latency_s.clear()
        node.episode_compute_s.clear()
        node.episode_cpu_s = 0.0
        safety_before = dict(node.safety.counters)
        t0 = time.perf_counter()
        steps = run_episode(node)
        if steps is None:
            return 1
        total_steps += steps
        info = node._info
        result = EpisodeResult(episode, seed, info.instruction, bool(info.success), steps, time.perf_counter() - t0)
        results.append(result)
        meta = {"episode": episode, "instruction": info.instruction, "success": result.success,
                "steps": steps, "seed": seed, "task": info.task, "wall_s": result.wall_s,
                "safety": dict(node.safety.counters),
                "safety_episode": {k: v - safety_before.get(k, 0) for k, v in node.safety.counters.items()
                                   if v - safety_before.get(k, 0)},
                "latency_ms": _percentiles_ms(node.episode_latency_s),
                "policy_compute_ms": {**_percentiles_ms(node.episode_compute_s),
                                      "total": 1e3 * sum(node.episode_compute_s)},
                "policy_cpu_ms": 1e3 * node.episode_cpu_s}
        transport.send(node.pub, wire.Message("episode", meta, seq=node.seq, topic=b"episode"))
        total = "?" if n_episodes is None else n_episodes
        print(f"episode {episode + 1}/{total} | {info.instruction!r} | success={result.success} "
              f"| steps={steps} | {result.wall_s:.1f} s", flush=True)
        episode += 1
    if results:
        print(summary_line(node, results, total_steps, time.perf_counter() - started), flush=True)
    return 0


def run_episode(node) -> int | None:
    """One episode: publish, wait for the answer, apply, advance. None if the policy never came."""
    cfg = node.config
    period = 1.0 / cfg.control_hz
    steps = 0
    waiting_for_policy = node._last_obs_seq_answered < 0
    while not node._stop:
        state = node.robot.read(with_cameras=cfg.cameras)
        seq = node.publish_observation(state)
        answered = node.drain_commands(int(cfg.watchdog_period_s * 1e3), answering=seq)
        if waiting_for_policy and not answered and not _wait_for_first_answer(node, state):
            return None
        waiting_for_policy = False
        row = node.next_action_row(time.perf_counter())
        node.controller.apply(row, node.pending.mode, state, time.perf_counter())
        node.robot.advance(period)
        steps += 1
        node.publish_status()
        if cfg.max_episode_steps is not None and steps >= cfg.max_episode_steps:
            break
        if node.robot.supports_episodes:
            node._info = node.robot.episode_info()
            if node._info.done:
                break
        elif cfg.duration_s is not None and steps * period >= cfg.duration_s:
            break
    return steps


def _wait_for_first_answer(node, state) -> bool:
    """Republish the first observation until a policy answers (slow joiners miss the first).

    Any action message counts as an answer, even one then rejected: a policy that only
    sends bad commands is present, and the safety filter deals with it.
    """
    cfg = node.config
    deadline = time.perf_counter() + cfg.startup_timeout_s
    last_log = time.perf_counter()
    while not node._stop and time.perf_counter() < deadline:
        seq = node.publish_observation(state)
        if node.drain_commands(int(cfg.watchdog_period_s * 1e3), answering=seq) or node.actions_received:
            return True
        if time.perf_counter() - last_log > 5.0:
            log.info("waiting for a policy on %s", cfg.cmd_endpoint)
            last_log = time.perf_counter()
    if not node._stop:
        log.error("no policy answered within %.0f s on %s", cfg.startup_timeout_s, cfg.cmd_endpoint)
    return False


def _percentiles_ms(samples_s: list[float]) -> dict[str, float | None]:
    if not samples_s:
        return {"p50": None, "p99": None}
    p50, p99 = np.percentile(np.asarray(samples_s) * 1e3, [50, 99])
    return {"p50": float(p50), "p99": float(p99)}


def summary_line(node, results: list[EpisodeResult], total_steps: int, wall_s: float) -> str:
    successes = sum(r.success for r in results)
    lat = node.latency.summary_ms()
    rate = total_steps / wall_s if wall_s > 0 else float("nan")
    rejected = {**node.rejects.counts, **node.counters}
    return (
        f"summary: success {successes}/{len(results)} ({100.0 * successes / len(results):.0f}%) "
        f"| control loop {rate:.1f} Hz | obs->action latency p50 {lat['p50']:.2f} ms "
        f"p99 {lat['p99']:.2f} ms | rejected {rejected or 'none'} | safety {dict(node.safety.counters) or 'none'}"
    )
