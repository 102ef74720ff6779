"""The simulator: physics, rendering, env steps, resets and every expert, against panda-gym.

Every number comes from this one invocation on this machine, so ratios between them are
fair (the peer, panda-gym's PandaPickAndPlace-v3, is measured in the same run when it is
installed: `pip install -e ".[bench]"`). Prints a table and writes benchmarks/results/sim.json.

    .venv/bin/python benchmarks/bench_sim.py                 # every expert on 100 seeds
    .venv/bin/python benchmarks/bench_sim.py --episodes 20   # quicker
    .venv/bin/python benchmarks/bench_sim.py --experts-only --task Sort --out benchmarks/results/sim_experts_sort.json

Env-step rates run in this one process (one core); the expert success rates, which only
count, use `--workers` processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import sim.world
from policies.dataset.collect import evaluate
from sim.backend import SETTLE_STEPS
from sim.cameras import render_scene, render_wrist
from sim.envs import ManufacturingEnv
from sim.experts import EXPERTS, VARIANTS
from sim.robots.panda import PandaModel
from sim.tasks.pick_place import PickPlace
from sim.world import World

PYBULLET_SOLVER_RESIDUAL_M_S = 1e-7  # PyBullet's default, for the comparison


def rate(fn: Callable[[], object], seconds: float) -> float:
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


def bench_physics(seconds: float) -> float:
    world, _ = build_scene()
    steps = rate(lambda: world.step(1), seconds)
    world.close()
    return steps


def bench_render(size: int, seconds: float) -> dict[str, dict[str, float]]:
    """Frames/s of each camera with the simplified Panda and, for comparison, the original visuals
    (the scene camera draws its bins from `sim.static_layer`, the wrist rasterises them); then with
    the scene's bins rasterised too, and with the table rasterised instead of composited."""
    results = {}
    for visuals in ("simple", "collision", "meshes"):
        world, model = build_scene(visuals)
        client, mount, backdrop, static = world.client, model.wrist_mount_pose(), world.backdrop, world.static_layer
        results[visuals] = {
            "scene": rate(lambda c=client, b=backdrop, s=static: render_scene(c, size, backdrop=b, static=s), seconds),
            "wrist": rate(lambda c=client, m=mount, b=backdrop: render_wrist(c, size, m, backdrop=b), seconds),
        }
        if visuals == "simple":
            results["simple, bins rasterised"] = {
                "scene": rate(lambda c=client, b=backdrop: render_scene(c, size, backdrop=b), seconds),
                "wrist": results["simple"]["wrist"],
            }
            with backdrop.rasterised():
                results["simple, table and bins rasterised"] = {
                    "scene": rate(lambda c=client: render_scene(c, size), seconds),
                    "wrist": rate(lambda c=client, m=mount: render_wrist(c, size, m), seconds),
                }
        world.close()
    return results


def bench_env(
    size: int, cameras: tuple[str, ...], steps: int, seconds: float, robot: str = "panda"
) -> dict[str, float]:
    """PickPlace env steps/s under random actions, and reset time, for `robot`."""
    env = ManufacturingEnv(image_size=size, cameras=cameras, robot=robot)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    steps_per_s = _our_steps(env, rng, steps)
    reset_ms = 1e3 / rate(lambda: env.reset(), seconds)
    env.close()
    return {"steps_per_s": steps_per_s, "reset_ms": reset_ms}


@contextlib.contextmanager
def world_setting(name: str, value: object) -> Iterator[None]:
    """Worlds rebuilt meanwhile use `value` for the `sim.world` constant `name` instead of robocell's."""
    saved = getattr(sim.world, name)
    setattr(sim.world, name, value)
    try:
        yield
    finally:
        setattr(sim.world, name, saved)


def bench_physics_humanoid(seconds: float) -> float:
    """stepSimulation/s of the fixed-pelvis humanoid at its PickPlace station."""
    env = ManufacturingEnv(cameras=(), robot="humanoid")
    env.reset(seed=0)
    world = env.sim._connected()
    steps = rate(lambda: world.step(1), seconds)
    env.close()
    return steps


def expert_specs() -> list[tuple[str, str, str]]:
    """(task, robot, policy spec) for every scripted expert: each task's, then the humanoid's."""
    specs = [(task, "panda", f"expert:{task}") for task in EXPERTS]
    specs += [(t, v, f"expert:{t}?{k}={v}") for t, k, v in VARIANTS if k == "robot"]
    specs += [(t, "panda", f"expert:{t}?{k}={v}") for t, k, v in VARIANTS if k != "robot"]
    return specs


def bench_experts(episodes: int, workers: int, tasks: list[str] | None = None) -> list[dict[str, object]]:
    """Success of every expert (of `tasks`, default all) on seeds 0..episodes-1 (no cameras: experts read
    privileged state)."""
    results = []
    for task, robot, spec in expert_specs():
        if tasks and task not in tasks:
            continue
        start = time.perf_counter()
        summary = evaluate(task, spec, range(episodes), workers, {"cameras": (), "robot": robot}, progress=False)
        results.append({"task": task, "robot": robot, **summary, "wall_s": time.perf_counter() - start})
        print(f"  expert {spec:34s} {robot:8s} {summary['success_rate']:6.1%} of {episodes} seeds, "
              f"mean {summary['mean_steps']:.1f} steps, failed {summary['failed_seeds']}", flush=True)
    return results


def _panda_gym(size: int | None) -> Any:
    """The peer, PandaPickAndPlace-v3: state observations, or rendering `size`^2 with the CPU renderer."""
    import gymnasium as gym
    import panda_gym  # noqa: F401 - registers the Panda envs

    kwargs = {} if size is None else {"render_mode": "rgb_array", "renderer": "Tiny", "render_width": size,
                                      "render_height": size}
    env = gym.make("PandaPickAndPlace-v3", **kwargs)
    env.reset(seed=0)
    env.action_space.seed(0)
    return env


def _peer_steps(env: Any, n: int, render: bool) -> float:
    """Steps/s of `n` peer steps under random actions (rendering each when `render`), resets included."""
    start = time.perf_counter()
    for _ in range(n):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if render:
            env.render()
        if terminated or truncated:
            env.reset()
    return n / (time.perf_counter() - start)


def _our_steps(env: ManufacturingEnv, rng: np.random.Generator, n: int) -> float:
    """Steps/s of `n` PickPlace steps under random actions, resets included."""
    start = time.perf_counter()
    for _ in range(n):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return n / (time.perf_counter() - start)


def bench_against_panda_gym(size: int, steps: int, rounds: int) -> dict[str, Any] | None:
    """Both cameras of ours against panda-gym rendering one camera, in alternating rounds.

    Rounds alternate the two envs, so a slow spell of a shared machine hits both; the ratio
    reported is the median of the rounds' ratios, and each round's is kept."""
    try:
        peer = _panda_gym(size)
    except ImportError:
        return None
    ours = ManufacturingEnv(image_size=size, cameras=("scene", "wrist"))
    rng = np.random.default_rng(0)
    ours.reset(seed=0)
    our_rates, peer_rates = [], []
    for _ in range(rounds):
        our_rates.append(_our_steps(ours, rng, steps))
        peer_rates.append(_peer_steps(peer, max(steps // 10, 10), render=True))
    ours.close()
    peer.close()
    state = _panda_gym(None)
    state_rate = _peer_steps(state, steps * 5, render=False)
    state.close()
    ratios = [a / b for a, b in zip(our_rates, peer_rates, strict=True)]
    return {
        "rounds": rounds, "our_steps_per_round": steps,
        "our_steps_per_s": our_rates, "peer_render_steps_per_s": peer_rates, "ratio_per_round": ratios,
        "ratio_median": float(np.median(ratios)), "peer_state_steps_per_s": state_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100,
                        help="expert episodes per task (seeds 0..N-1); 0 skips the experts")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the experts")
    parser.add_argument("--size", type=int, default=96, help="image size in pixels")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per rate measurement")
    parser.add_argument("--env-steps", type=int, default=300, help="env steps per measurement (per round)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds of ours and panda-gym")
    parser.add_argument("--out", default="benchmarks/results/sim.json")
    parser.add_argument("--experts-only", action="store_true", help="skip the rates: only the expert table")
    parser.add_argument("--task", action="append", choices=sorted(EXPERTS), help="(repeatable) experts of these "
                        "tasks only (default all)")
    args = parser.parse_args()
    logging.getLogger("robot.safety").setLevel(logging.ERROR)  # random actions hit the limits often
    if args.experts_only:
        experts = bench_experts(args.episodes, args.workers, args.task)
        Path(args.out).write_text(json.dumps({"experts": experts, "load_average_1min": os.getloadavg()[0]}, indent=2))
        print(f"wrote {args.out}")
        return

    physics = bench_physics(args.seconds)
    physics_humanoid = bench_physics_humanoid(args.seconds)
    render = bench_render(args.size, args.seconds)
    env_cameras = bench_env(args.size, ("scene", "wrist"), args.env_steps, args.seconds)
    env_state = bench_env(args.size, (), args.env_steps * 5, args.seconds)
    with world_setting("SOLVER_RESIDUAL_M_S", PYBULLET_SOLVER_RESIDUAL_M_S):
        env_state_default_solver = bench_env(args.size, (), args.env_steps * 5, args.seconds)
    with world_setting("RIGID_SINGLE_LINK_BODIES", False):
        env_state_multibodies = bench_env(args.size, (), args.env_steps * 5, args.seconds)
    humanoid_cameras = bench_env(args.size, ("scene", "wrist"), args.env_steps, args.seconds, "humanoid")
    humanoid_state = bench_env(args.size, (), args.env_steps * 5, args.seconds, "humanoid")
    peer = bench_against_panda_gym(args.size, args.env_steps, args.rounds)

    s = args.size
    print(f"\nrobocell sim on {os.cpu_count()} CPUs (one process, one thread)")
    print(f"  physics (Panda holding, table, bins, parts)  {physics:10,.0f} stepSimulation/s")
    for visuals, fps in render.items():
        print(f"  render {s}x{s}, {visuals:33s} Panda visuals "
              f"scene {fps['scene']:5.0f}  wrist {fps['wrist']:5.0f} frames/s")
    print(f"  physics (humanoid, fixed pelvis, PickPlace)  {physics_humanoid:10,.0f} stepSimulation/s")
    for robot, cams, state in (("panda", env_cameras, env_state), ("humanoid", humanoid_cameras, humanoid_state)):
        print(f"  {robot:8s} env steps, scene+wrist {s}x{s}       {cams['steps_per_s']:10.1f} steps/s"
              f"   reset {cams['reset_ms']:.1f} ms")
        print(f"  {robot:8s} env steps, no cameras              {state['steps_per_s']:10.1f} steps/s"
              f"   reset {state['reset_ms']:.1f} ms")
    print(f"  panda    env steps, no cameras, PyBullet's solver residual ({PYBULLET_SOLVER_RESIDUAL_M_S:g} m/s) "
          f"{env_state_default_solver['steps_per_s']:.1f} steps/s, against {env_state['steps_per_s']:.1f} at "
          f"robocell's {sim.world.SOLVER_RESIDUAL_M_S:g}")
    print(f"  panda    env steps, no cameras, table, bins and parts as one-link multibodies (PyBullet's default) "
          f"{env_state_multibodies['steps_per_s']:.1f} steps/s, against {env_state['steps_per_s']:.1f} as rigid bodies")
    if peer:
        print(f"  peer panda-gym PickAndPlace-v3, state       {peer['peer_state_steps_per_s']:10.1f} steps/s")
        print(f"  {peer['rounds']} alternating rounds at {s}x{s}, "
              "robocell (scene + wrist) against panda-gym (one camera):")
        for ours, theirs, r in zip(peer["our_steps_per_s"], peer["peer_render_steps_per_s"], peer["ratio_per_round"],
                                   strict=True):
            print(f"    robocell {ours:6.1f}  panda-gym {theirs:5.1f} steps/s  ratio {r:5.2f}x")
        ratio = peer["ratio_median"]
        print(f"  ratio robocell / panda-gym at {s}x{s}, median of rounds: {ratio:.2f}x (goal 10x)")
    else:
        ratio = None
        print("  peer panda-gym: not installed (pip install -e '.[bench]')")
    experts = bench_experts(args.episodes, args.workers, args.task) if args.episodes > 0 else []

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "image_size": s, "physics_steps_per_s": physics, "render_frames_per_s": render,
        "env_scene_wrist": env_cameras, "env_no_cameras": env_state, "panda_gym": peer,
        "env_no_cameras_pybullet_solver_residual": env_state_default_solver,
        "env_no_cameras_multibody_parts": env_state_multibodies,
        "ratio_vs_panda_gym": ratio,
        "humanoid": {"physics_steps_per_s": physics_humanoid, "env_scene_wrist": humanoid_cameras,
                     "env_no_cameras": humanoid_state},
        "experts": experts,
        "load_average_1min": os.getloadavg()[0],
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
