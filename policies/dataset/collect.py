"""`robocell collect`: record teacher episodes to HDF5 with parallel workers.

    robocell collect --task PickPlace --episodes 200 --workers 2 --out data/pickplace
    robocell collect --task PickPlace --teacher remote:tcp://127.0.0.1:5600 --episodes 50 --out data/remote

Episode i uses seed `seed_start + i`. Each worker (a `spawn` process) builds its own
simulator and teacher on its first episode and writes each episode file itself (atomic
rename; see `policies.dataset.hdf5`), so killing collection loses at most the episodes in
progress. Rerunning the same command skips seeds whose files exist, i.e. it resumes.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from policies.dataset.hdf5 import (
    build_index,
    dataset_summary,
    episode_path,
    remove_stale_temporaries,
    write_episode,
)
from policies.dataset.rollout import make_env, run_episode
from sim.experts import default_expert_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectJob:
    """One episode to record; small and picklable."""

    task: str
    teacher: str  # policy spec (policies.registry)
    seed: int
    out: str | None  # None: evaluate only (nothing recorded)
    driver: str | None = None  # DAgger: the policy that acts with probability 1 - beta
    beta: float = 1.0
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    max_steps: int | None = None
    action_noise: float = 0.0  # DART noise on executed teacher actions (labels stay clean)


_CACHE: dict[str, Any] = {}  # this process's envs and policies, built on first use


@atexit.register
def _close_cached() -> None:
    """Close simulators before interpreter teardown (PyBullet clients complain when collected late)."""
    for item in _CACHE.values():
        close = getattr(item, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()
    _CACHE.clear()


def _cached(key: str, build: Any) -> Any:
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def cached_env(task: str, env_kwargs: dict[str, Any]) -> Any:
    """This process's env for `task` with `env_kwargs`, built on first use and kept for the next job."""
    return _cached(f"env:{task}:{json.dumps(env_kwargs, sort_keys=True)}", lambda: make_env(task, **env_kwargs))


def record_episode(job: CollectJob) -> dict[str, Any]:
    """Run and write one episode (in whichever process calls it); returns its summary.

    With `job.out` None nothing is written (and `teacher` is simply the policy evaluated).
    """
    from policies.registry import load_policy

    env = cached_env(job.task, job.env_kwargs)
    teacher = _cached(f"policy:{job.teacher}", lambda: load_policy(job.teacher))
    driver = _cached(f"policy:{job.driver}", lambda: load_policy(job.driver)) if job.driver else None
    result = run_episode(
        env,
        teacher,
        job.seed,
        driver,
        job.beta,
        job.out is not None,
        job.max_steps,
        job.task,
        job.action_noise,
    )
    summary = {
        "seed": job.seed,
        "steps": result.steps,
        "success": result.success,
        "instruction": result.episode.instruction,
    }
    if job.out is None:
        return summary
    result.episode.attrs = {
        "teacher": job.teacher,
        "driver": job.driver or job.teacher,
        "beta": job.beta,
        "action_noise": job.action_noise,
        "env_args": {"env_name": job.task, "type": "gymnasium", "env_kwargs": job.env_kwargs},
    }
    write_episode(Path(job.out), result.episode)
    return summary


def _init_worker(parent_pid: int) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"  # one simulator and one policy per core (torch reads these on import)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:  # a parent killed with SIGKILL leaves no one to wait for us
        time.sleep(0.5)
    os._exit(1)


def run_jobs(jobs: Sequence[Any], workers: int, work: Callable[[Any], Any] = record_episode) -> Iterator[Any]:
    """Yield `work(job)` for each job as it finishes (summaries, by default); `workers=0` runs them here.

    `work` must be a module-level function, so a `spawn` worker can import it.
    """
    if workers == 0:
        for job in jobs:
            yield work(job)
        return
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)) or 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )
    try:
        pending: set[Future] = {pool.submit(work, job) for job in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def collect(
    task: str,
    teacher: str,
    out: Path,
    seeds: Sequence[int],
    workers: int = 1,
    driver: str | None = None,
    beta: float = 1.0,
    env_kwargs: dict[str, Any] | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    action_noise: float = 0.0,
) -> dict[str, Any]:
    """Record one episode per seed into `out` (skipping seeds already there); returns `dataset_summary`."""
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    todo = [s for s in seeds if not episode_path(out, s).exists()]
    jobs = [
        CollectJob(task, teacher, s, str(out), driver, beta, env_kwargs or {}, max_steps, action_noise)
        for s in todo
    ]
    successes = 0
    with tqdm(
        total=len(seeds),
        initial=len(seeds) - len(todo),
        desc=f"collect {task}",
        disable=not progress,
        unit="ep",
        dynamic_ncols=True,
    ) as bar:
        for n, summary in enumerate(run_jobs(jobs, workers), 1):
            successes += summary["success"]
            bar.set_postfix(success=f"{successes / n:.2f}")
            bar.update()
    build_index(out)
    return dataset_summary(out)


def evaluate(
    task: str,
    policy: str,
    seeds: Sequence[int],
    workers: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    max_steps: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Success rate of `policy` (a spec) over one episode per seed; nothing is recorded."""
    jobs = [CollectJob(task, policy, s, None, None, 1.0, env_kwargs or {}, max_steps) for s in seeds]
    results = []
    with tqdm(
        total=len(jobs), desc=f"eval {policy}", disable=not progress, unit="ep", dynamic_ncols=True
    ) as bar:
        for summary in run_jobs(jobs, workers):
            results.append(summary)
            bar.set_postfix(success=f"{sum(r['success'] for r in results) / len(results):.2f}")
            bar.update()
    results.sort(key=lambda r: r["seed"])
    n = len(results)
    return {
        "policy": policy,
        "episodes": n,
        "success_rate": sum(r["success"] for r in results) / max(n, 1),
        "mean_steps": sum(r["steps"] for r in results) / max(n, 1),
        "failed_seeds": [r["seed"] for r in results if not r["success"]],
    }


def run(args: argparse.Namespace) -> int:
    seeds = range(args.seed_start, args.seed_start + args.episodes)
    env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else {}
    teacher = args.teacher or default_expert_spec(args.task, env_kwargs)
    summary = collect(
        args.task,
        teacher,
        Path(args.out),
        seeds,
        args.workers,
        args.driver,
        args.beta,
        env_kwargs,
        args.max_steps,
        progress=not args.no_progress,
        action_noise=args.action_noise,
    )
    log.info("dataset %s: %s", args.out, summary)
    print(json.dumps(summary))
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="PickPlace, ... or a gymnasium id")
    parser.add_argument(
        "--teacher",
        default=None,
        help="policy spec labelling every step (default: the task's expert for the env's robot); "
        "e.g. remote:tcp://HOST:PORT",
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed-start", type=int, default=0)
    parser.add_argument(
        "--workers",
        type=int,
        default=max((os.cpu_count() or 2) - 1, 1),
        help="spawned worker processes (0: in this process)",
    )
    parser.add_argument("--out", required=True, help="dataset directory (episodes/ + dataset.hdf5)")
    parser.add_argument("--driver", default=None, help="policy spec that acts with probability 1 - beta")
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument(
        "--action-noise",
        type=float,
        default=0.0,
        help="std of Gaussian noise on executed teacher motion (DART); labels stay clean",
    )
    parser.add_argument(
        "--env-kwargs", default=None, help='JSON passed to gym.make, e.g. \'{"robot": "panda"}\''
    )
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(run=run)
