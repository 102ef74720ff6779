"""Observation-to-action latency through robocell's wire protocol vs a raw pyzmq round trip.

Both run in the same invocation, over tcp and ipc, with the same payload (two 96x96 RGB
images + proprio), against a policy node in another process (the zero policy, so policy
compute is ~0). Prints a table and writes benchmarks/results/transport.json.

    .venv/bin/python benchmarks/bench_transport.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from robot import transport, wire


def _raw_echo(endpoint: str, n: int) -> None:
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.bind(endpoint)
    for _ in range(n):
        rep.send_multipart(rep.recv_multipart(copy=False), copy=False)
    rep.close()
    ctx.term()


def _policy_node(obs_ep: str, cmd_ep: str) -> None:
    from robot.nodes.policy_node import PolicyNode, PolicyNodeConfig

    PolicyNode(PolicyNodeConfig(policy="zero:7", obs_endpoint=obs_ep, cmd_endpoint=cmd_ep)).run()


def _observation(seq: int, images: dict[str, np.ndarray]) -> wire.Message:
    arrays = {"proprio": np.zeros(8, np.float32), "joint_positions": np.zeros(7, np.float32), **images}
    return wire.Message("observation", {"instruction": "bench", "episode": 0, "sim_time": 0.0},
                        arrays, seq=seq, topic=b"obs")


def bench_raw(endpoint: str, n: int, payload: list[bytes]) -> np.ndarray:
    proc = mp.get_context("spawn").Process(target=_raw_echo, args=(endpoint, n + 100))
    proc.start()
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.connect(endpoint)
    times = []
    for i in range(n + 100):
        t0 = time.perf_counter()
        req.send_multipart(payload, copy=False)
        req.recv_multipart(copy=False)
        if i >= 100:
            times.append(time.perf_counter() - t0)
    req.close()
    ctx.term()
    proc.join()
    return np.array(times) * 1e3


def bench_wire(obs_ep: str, cmd_ep: str, n: int, images: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ctx = zmq.Context()
    pub = transport.open_socket(ctx, zmq.PUB, obs_ep, bind=True)
    pull = transport.open_socket(ctx, zmq.PULL, cmd_ep, bind=True)
    proc = mp.get_context("spawn").Process(target=_policy_node, args=(obs_ep, cmd_ep))
    proc.start()
    rejects = transport.RejectCounter("bench")
    total, excl = [], []
    seq = 0
    while len(total) < n + 100:
        seq += 1
        t0 = time.perf_counter()
        transport.send(pub, _observation(seq, images))
        if not pull.poll(1000):
            continue  # policy node still starting (slow joiner)
        msg = transport.recv(pull, rejects)
        dt = time.perf_counter() - t0
        if msg is not None and msg.meta["obs_seq"] == seq:
            total.append(dt)
            excl.append(dt - msg.meta["compute_ms"] / 1e3)
    proc.terminate()
    proc.join()
    pub.close()
    pull.close()
    ctx.term()
    return np.array(total[100:]) * 1e3, np.array(excl[100:]) * 1e3


def _stats(ms: np.ndarray) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "n": int(len(ms))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", default="benchmarks/results/transport.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = {f"{c}_rgb": rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for c in ("scene", "wrist")}
    payload = [bytes(memoryview(f)) for f in wire.encode(_observation(1, images))]
    tmp = tempfile.mkdtemp(prefix="robocell-bench-")
    results = {}
    for name, raw_ep, obs_ep, cmd_ep in (
        ("tcp", "tcp://127.0.0.1:5811", "tcp://127.0.0.1:5812", "tcp://127.0.0.1:5813"),
        ("ipc", f"ipc://{tmp}/raw", f"ipc://{tmp}/obs", f"ipc://{tmp}/cmd"),
    ):
        raw = bench_raw(raw_ep, args.n, payload)
        total, excl = bench_wire(obs_ep, cmd_ep, args.n, images)
        results[name] = {"raw_pyzmq_req_rep": _stats(raw), "robocell_obs_to_action": _stats(total),
                         "robocell_excluding_policy_compute": _stats(excl),
                         "ratio_p50_robocell_over_raw": float(np.median(excl) / np.median(raw))}
    payload_kib = sum(len(p) for p in payload) / 1024
    print(f"payload {payload_kib:.1f} KiB (2 x 96x96 RGB + proprio), n={args.n}")
    print(f"{'transport':<6} {'raw p50':>9} {'raw p99':>9} {'robocell p50':>13} {'p99':>8} "
          f"{'excl. compute p99':>18} {'ratio':>6}")
    for name, r in results.items():
        raw, tot, exc = r["raw_pyzmq_req_rep"], r["robocell_obs_to_action"], r["robocell_excluding_policy_compute"]
        print(f"{name:<6} {raw['p50_ms']:9.3f} {raw['p99_ms']:9.3f} {tot['p50_ms']:13.3f} {tot['p99_ms']:8.3f} "
              f"{exc['p99_ms']:18.3f} {r['ratio_p50_robocell_over_raw']:6.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"payload_kib": payload_kib, **results}, indent=2))


if __name__ == "__main__":
    main()
