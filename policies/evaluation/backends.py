"""Where episodes run: in this process, in a local process pool, as Ray tasks, or
through the robot and policy nodes of a launch file.

Every backend takes the same `EpisodeJob`s and yields `EpisodeResult`s as they
finish (in completion order). The first three run the same rollout function, so
their records are identical; "launch" runs the deployed ZeroMQ nodes instead
(see `policies.evaluation.via_launch`), which is what it is there to check.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from policies.evaluation.rollout import EpisodeJob, EpisodeResult, close_workers_state, rollout_episode

log = logging.getLogger(__name__)

BACKENDS = ("local", "ray", "launch")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class EpisodeFailed(RuntimeError):
    """An episode raised; the message names its task, robot and seed so it can be rerun alone."""


def run_episodes(
    jobs: Sequence[EpisodeJob], backend: str = "local", workers: int = 1, address: str | None = None,
    launch_file: Path | None = None, log_dir: Path | None = None,
) -> Generator[EpisodeResult, None, None]:
    """A generator of one result per job, as episodes finish; `workers=0` runs them in this process.

    Close it (or exhaust it) to stop: pending episodes are cancelled and workers released.
    """
    if not jobs:
        return (result for result in ())
    if backend == "local":
        return _run_inline(jobs) if workers == 0 else _run_pool(jobs, workers)
    if backend == "ray":
        return _run_ray(jobs, workers, address)
    if backend == "launch" and launch_file is not None:
        from policies.evaluation.via_launch import run_launch_episodes

        return run_launch_episodes(jobs, Path(launch_file), log_dir)
    raise ValueError(f"backend {backend!r} (launch file {launch_file}), expected one of {BACKENDS}; "
                     f"'launch' needs a launch file")


def _run_inline(jobs: Sequence[EpisodeJob]) -> Iterator[EpisodeResult]:
    try:
        for job in jobs:
            yield _checked(lambda job=job: rollout_episode(job), job)
    finally:
        close_workers_state()  # this process outlives the run: release its simulators


def _run_pool(jobs: Sequence[EpisodeJob], workers: int) -> Iterator[EpisodeResult]:
    """A spawn pool: each worker imports fresh and builds its own simulator on its first episode."""
    context = multiprocessing.get_context("spawn")
    with _one_thread_per_worker():  # spawn copies the environment when a worker starts: on submit
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


@contextlib.contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """One simulator per core: keep BLAS/torch in the workers from oversubscribing the cores.

    Thread pools size themselves when numpy or torch is imported, which in a spawned
    worker happens before any initializer runs, so the limit must be in the
    environment the workers start with. Variables the user set are left alone.
    """
    added = [name for name in THREAD_VARIABLES if name not in os.environ]
    os.environ.update({name: "1" for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _init_pool_worker(parent_pid: int) -> None:
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
        if address:  # the cluster's workers must be able to import robocell (and any --plugin) already
            ray.init(address=address)
        else:  # a local Ray: its workers import robocell from this checkout
            root = str(Path(__file__).resolve().parents[2])
            path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
            ray.init(num_cpus=max(workers, 1), include_dashboard=False,
                     runtime_env={"env_vars": {"PYTHONPATH": path}})
    remote = ray.remote(num_cpus=1)(rollout_episode)  # system failures retry; rollouts are deterministic
    refs = {remote.remote(job): job for job in jobs}
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield _checked(lambda ref=ref: ray.get(ref), refs[ref])
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started_here:
            ray.shutdown()


def _checked(get_result: Callable[[], EpisodeResult], job: EpisodeJob) -> EpisodeResult:
    try:
        return get_result()
    except Exception as exc:
        raise EpisodeFailed(
            f"episode {job.index} of task {job.task!r} (robot {job.robot!r}, seed {job.seed}) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
