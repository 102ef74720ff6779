"""Measure the simulator: physics, rendering, env steps, resets and the PickPlace expert.

    .venv/bin/python benchmarks/bench_sim.py                 # everything, expert on 100 seeds
    .venv/bin/python benchmarks/bench_sim.py --episodes 20   # quicker

Every number comes from this one run on this machine, so ratios between them are fair.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from sim.backend import SETTLE_STEPS
from sim.cameras import render_scene, render_wrist
from sim.envs import ManufacturingEnv
from sim.experts import make_expert
from sim.robots.panda import PandaModel
from sim.tasks.pick_place import PickPlace
from sim.world import World


def rate(fn: Callable[[], object], seconds: float = 2.0) -> float:
    """Calls of `fn` per second, after one warm-up call."""
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def build_scene(visuals: str = "simple") -> tuple[World, PandaModel]:
    """The PickPlace scene of seed 0, with the Panda drawn with `visuals`."""
    world = World()
    world.rebuild()
    model = PandaModel(world.client, visuals)
    model.reset()
    PickPlace(world, model).reset(np.random.default_rng(0))
    world.finish_loading()
    world.step(SETTLE_STEPS)
    return world, model


def bench_physics(seconds: float) -> None:
    world, _ = build_scene()
    print(f"physics: {rate(lambda: world.step(1), seconds):,.0f} stepSimulation/s (Panda holding, table, bins, parts)")
    world.close()


def bench_render(size: int, seconds: float) -> None:
    for visuals in ("simple", "collision", "meshes"):
        world, model = build_scene(visuals)
        client, mount = world.client, model.wrist_mount_pose()
        scene = rate(lambda c=client: render_scene(c, size), seconds)
        wrist = rate(lambda c=client, m=mount: render_wrist(c, size, m), seconds)
        print(f"render {size}x{size} ({visuals:9s} Panda visuals): scene {scene:.0f}, wrist {wrist:.0f} frames/s")
        world.close()


def bench_env(size: int, cameras: tuple[str, ...], steps: int) -> None:
    env = ManufacturingEnv(image_size=size, cameras=cameras)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 7).astype(np.float32))
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    label = "+".join(cameras) if cameras else "no cameras"
    print(f"env steps ({label}, {size}x{size}): {steps / elapsed:,.1f} steps/s")
    reset_rate = rate(lambda: env.reset(), 1.0)
    print(f"env reset ({label}): {1e3 / reset_rate:.1f} ms")
    env.close()


def bench_expert(episodes: int) -> None:
    env = ManufacturingEnv(cameras=())
    expert = make_expert("PickPlace")
    successes, lengths, failed = 0, [], []
    start = time.perf_counter()
    for seed in range(episodes):
        obs, info = env.reset(seed=seed)
        expert.reset(info["instruction"])
        terminated = truncated = False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
        successes += int(info["success"])
        lengths.append(info["steps"])
        if not info["success"]:
            failed.append(seed)
    elapsed = time.perf_counter() - start
    print(
        f"expert: {successes}/{episodes} seeds succeed (failed: {failed}), "
        f"mean {np.mean(lengths):.1f} steps, {elapsed:.1f} s"
    )
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="expert episodes (seeds 0..N-1)")
    parser.add_argument("--size", type=int, default=96, help="image size in pixels")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per rate measurement")
    parser.add_argument("--env-steps", type=int, default=300)
    args = parser.parse_args()
    bench_physics(args.seconds)
    bench_render(args.size, args.seconds)
    bench_env(args.size, ("scene", "wrist"), args.env_steps)
    bench_env(args.size, (), args.env_steps * 5)
    bench_expert(args.episodes)


if __name__ == "__main__":
    main()
