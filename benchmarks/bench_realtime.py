"""Real-time servo loop: period error at 500 Hz and 1 kHz, measured on the robot node itself.

Runs the robot node in `realtime` mode on the `mock` backend (first-order joint dynamics,
no rendering) with a zero policy answering over tcp in another process, so the loop does
its full work every cycle: read, drain commands, interpolate, safety filter, write, status.
Prints period-error percentiles and missed cycles; writes benchmarks/results/realtime.json.

    .venv/bin/python benchmarks/bench_realtime.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from pathlib import Path

from robot.nodes.robot_node import RobotNode, RobotNodeConfig


def _policy(obs_ep: str, cmd_ep: str) -> None:
    from robot.nodes.policy_node import PolicyNode, PolicyNodeConfig

    PolicyNode(PolicyNodeConfig(policy="zero:7", obs_endpoint=obs_ep, cmd_endpoint=cmd_ep)).run()


def run_loop(hz: float, seconds: float, port: int) -> dict:
    obs_ep, cmd_ep = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port + 1}"
    config = RobotNodeConfig(backend="mock", backend_args={}, mode="realtime", control_hz=20.0, loop_hz=hz,
                             duration_s=seconds, cameras=False, obs_endpoint=obs_ep, cmd_endpoint=cmd_ep)
    node = RobotNode(config)
    policy = mp.get_context("spawn").Process(target=_policy, args=(obs_ep, cmd_ep))
    policy.start()
    try:
        node.run()
    finally:
        policy.terminate()
        policy.join()
    stats = node.stats()
    return {"loop_hz": hz, "seconds": seconds, "period_error_ms": stats["period_error_ms"],
            "missed_cycles": stats["missed_cycles"], "obs_to_action_ms": stats["latency_ms"],
            "safety": stats["safety"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", default="benchmarks/results/realtime.json")
    args = parser.parse_args()
    results = [run_loop(hz, args.seconds, 5900 + 10 * i) for i, hz in enumerate((500.0, 1000.0))]
    print(f"{'loop':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'missed':>7} {'obs->act p99 ms':>16}")
    for r in results:
        e = r["period_error_ms"]
        print(f"{r['loop_hz']:5.0f}Hz {e['p50']:8.3f} {e['p99']:8.3f} {e['max']:8.3f} {r['missed_cycles']:7d} "
              f"{r['obs_to_action_ms']['p99']:16.3f}", file=sys.stdout)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
