"""Where episodes run: in this process, in a local process pool, or as Ray tasks.

Every backend takes the same `EpisodeJob`s and yields `EpisodeResult`s as they
finish (in completion order); the rollout is the same function everywhere, so
the records are the same whichever backend ran them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from policies.evaluation.rollout import EpisodeJob, EpisodeResult, rollout_episode

log = logging.getLogger(__name__)

BACKENDS = ("local", "ray")


class EpisodeFailed(RuntimeError):
    """An episode raised; the message names its task, robot and seed so it can be rerun alone."""


def run_episodes(
    jobs: Sequence[EpisodeJob], backend: str = "local", workers: int = 1, address: str | None = None
) -> Iterator[EpisodeResult]:
    """Yield one result per job as episodes finish. `workers=0` runs them in this process."""
    if not jobs:
        return iter(())
    if backend == "local":
        return _run_inline(jobs) if workers == 0 else _run_pool(jobs, workers)
    if backend == "ray":
        return _run_ray(jobs, workers, address)
    raise ValueError(f"backend {backend!r}, expected one of {BACKENDS}")


def _run_inline(jobs: Sequence[EpisodeJob]) -> Iterator[EpisodeResult]:
    for job in jobs:
        yield _checked(rollout_episode, job)


def _run_pool(jobs: Sequence[EpisodeJob], workers: int) -> Iterator[EpisodeResult]:
    """A spawn pool: each worker imports fresh and builds its own simulator on its first episode."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)), mp_context=context,
        initializer=_init_pool_worker, initargs=(os.getpid(),),
    )
    futures: dict[Future, EpisodeJob] = {pool.submit(rollout_episode, job): job for job in jobs}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: futures[f].index):
                yield _checked(future.result, futures[future])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _init_pool_worker(parent_pid: int) -> None:
    # One simulator per core: keep BLAS/torch from oversubscribing the cores the pool already uses.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    # Workers of a parent killed with SIGKILL would otherwise wait on their queue forever.
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


def _run_ray(jobs: Sequence[EpisodeJob], workers: int, address: str | None) -> Iterator[EpisodeResult]:
    """Ray tasks on the cluster at `address`, an already initialised Ray, or a local one started here."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address)
        else:
            ray.init(num_cpus=max(workers, 1), include_dashboard=False)
    remote = ray.remote(num_cpus=1)(rollout_episode)  # system failures retry; rollouts are deterministic
    refs = {remote.remote(job): job for job in jobs}
    try:
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield _checked(ray.get, refs[ref], ref)
    finally:
        for ref in refs:
            ray.cancel(ref)
        if started_here:
            ray.shutdown()


def _checked(call, job: EpisodeJob, *args) -> EpisodeResult:  # noqa: ANN001 - any zero/one-arg getter
    try:
        return call(*args) if args else call(job) if call is rollout_episode else call()
    except Exception as exc:
        raise EpisodeFailed(
            f"episode {job.index} of task {job.task!r} (robot {job.robot!r}, seed {job.seed}) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
