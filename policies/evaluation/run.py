"""`robocell eval`: an evaluation campaign, read top to bottom.

    plan the episodes (tasks x indices, seeds derived from --seed)
    -> skip those already in DIR/episodes.jsonl (resume)
    -> run the rest on a backend (in-process, spawn pool, Ray, or the ZeroMQ nodes of a launch file)
    -> append each record durably as it arrives (videos first, then the record)
    -> DIR/summary.json -> DIR/report.{md,html}

The same policy, tasks and seed give the same records whatever the backend,
worker count or interruptions (wall-clock `timing` fields aside).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from policies.evaluation.backends import BACKENDS, run_episodes
from policies.evaluation.records import (
    DirectoryLock,
    EpisodeLog,
    episode_key,
    write_bytes_atomic,
    write_json_atomic,
)
from policies.evaluation.rollout import EpisodeJob
from policies.evaluation.summary import summarize

log = logging.getLogger(__name__)

# Settings a resumed campaign must share with the run that started it.
RUN_IDENTITY = ("policy", "robot", "seed", "max_steps")


@dataclass
class EvalConfig:
    policy: str  # any `policies.registry` spec
    tasks: list[str]
    out: Path
    episodes: int = 50  # per task
    seed: int = 0
    robot: str = "panda"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # 0: run in this process
    backend: str = "local"  # or "ray"
    address: str | None = None  # Ray cluster; None starts a local one
    videos: int = 0  # per task: record episodes with index < videos
    video_format: str = "gif"  # or "mp4"
    max_steps: int | None = None  # None: the env's own time limit
    plugins: list[str] = field(default_factory=list)  # modules each worker imports first (envs, policy kinds)
    launch_file: Path | None = None  # backend "launch": run episodes through this launch file's nodes
    progress: bool = True
    report: bool = True

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if not self.tasks:
            raise ValueError("no tasks given: expected at least one task name, e.g. PickPlace")
        if self.episodes < 1 or self.workers < 0 or self.videos < 0:
            raise ValueError(f"need episodes >= 1, workers >= 0, videos >= 0; got "
                             f"{self.episodes}, {self.workers}, {self.videos}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r}, expected one of {BACKENDS}")
        if (self.backend == "launch") != (self.launch_file is not None):
            raise ValueError("the 'launch' backend and a launch file go together (use --via-launch FILE)")
        if self.launch_file is not None and self.max_steps is not None:
            raise ValueError("--max-steps cannot apply via a launch file: the robot node runs to the time limit")
        if self.video_format not in ("gif", "mp4"):
            raise ValueError(f"video format {self.video_format!r}, expected 'gif' or 'mp4'")


def episode_seed(seed: int, index: int) -> int:
    """The seed of episode `index` of every task: `seed + index`.

    The robot node numbers its episodes the same way (``seed + episode``), so
    ``robocell eval --seed 1000`` and a launch file with ``seed: 1000`` play the same
    episodes, and `--via-launch` can reproduce any campaign. Campaigns meant to be
    independent need seeds at least --episodes apart (say 1000, 2000, ...).
    """
    return seed + index


def policy_for_robot(spec: str, robot: str) -> str:
    """`expert:Task` on another robot means that robot's expert (`expert:Task?robot=humanoid`)."""
    kind, _, rest = spec.partition(":")
    if kind != "expert" or robot == "panda" or "robot=" in rest:
        return spec
    return f"{spec}{'&' if '?' in rest else '?'}robot={robot}"


def plan_episodes(config: EvalConfig) -> list[EpisodeJob]:
    """Every episode of the campaign, index-major so a partial run covers all tasks evenly."""
    return [
        EpisodeJob(
            task=task, robot=config.robot, seed=episode_seed(config.seed, index), index=index,
            policy=policy_for_robot(config.policy, config.robot), plugins=tuple(config.plugins),
            record_video=index < config.videos,
            video_format=config.video_format, max_steps=config.max_steps,
        )
        for index in range(config.episodes)
        for task in config.tasks
    ]


def evaluate(config: EvalConfig) -> dict[str, Any]:
    """Run (or resume) the campaign in `config.out`; returns the summary written to summary.json."""
    with DirectoryLock(config.out):
        _check_same_campaign(config)
        jobs = plan_episodes(config)
        planned = {(j.task, j.robot, j.seed) for j in jobs}
        with EpisodeLog(config.out / "episodes.jsonl") as episodes:
            todo = [j for j in jobs if (j.task, j.robot, j.seed) not in episodes.keys]
            if len(todo) < len(jobs):
                log.info("resuming: %d of %d episodes already done", len(jobs) - len(todo), len(jobs))
            started = time.perf_counter()
            bar = _progress_bar(config, total=len(jobs), done=len(jobs) - len(todo))
            successes = sum(r["success"] for r in episodes.records if episode_key(r) in planned)
            results = run_episodes(todo, config.backend, config.workers, config.address,
                                   launch_file=config.launch_file, log_dir=config.out)
            try:
                for result in results:
                    if result.video is not None:  # the video lands before the record that names it
                        write_bytes_atomic(config.out / result.record["video"], result.video)
                    episodes.append(result.record)
                    successes += result.record["success"]
                    _advance(bar, successes)
            finally:
                results.close()  # cancel what is still pending if anything above raised
                if bar is not None:
                    bar.close()
            wall_s = time.perf_counter() - started
            records = sorted((r for r in episodes.records if episode_key(r) in planned),
                             key=lambda r: (r["index"], config.tasks.index(r["task"])))
        summary = summarize(records)
        summary["run"] = {**_identity(config), "tasks": config.tasks, "episodes_per_task": config.episodes,
                          "episodes_this_invocation": len(todo), "wall_s_this_invocation": round(wall_s, 3),
                          "backend": config.backend, "workers": config.workers}
        write_json_atomic(config.out / "summary.json", summary)
        if config.report:
            from policies.evaluation.report import write_report

            write_report(config.out, records, summary)
    return summary


def _identity(config: EvalConfig) -> dict[str, Any]:
    # Local and Ray run the same rollout; the deployed nodes are a different runner, kept apart.
    runner = f"launch:{config.launch_file}" if config.launch_file is not None else "rollout"
    return {**{name: getattr(config, name) for name in RUN_IDENTITY}, "runner": runner}


def _check_same_campaign(config: EvalConfig) -> None:
    """Refuse to mix episodes of a different policy, robot or seed into an existing directory."""
    path = config.out / "run.json"
    identity = _identity(config)
    if path.exists():
        import json

        previous = json.loads(path.read_text())
        changed = {k: (previous.get(k), v) for k, v in identity.items() if previous.get(k) != v}
        if changed:
            raise ValueError(f"{config.out} holds a different campaign ({changed}, as (was, now)); "
                             f"use another --out or the same settings")
    write_json_atomic(path, {**identity, "config": {k: str(v) if isinstance(v, Path) else v
                                                    for k, v in asdict(config).items()}})


def _progress_bar(config: EvalConfig, total: int, done: int) -> Any:
    if not config.progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="ep", desc="eval", dynamic_ncols=True, smoothing=0.1)


def _advance(bar: Any, successes: int) -> None:
    if bar is not None:
        bar.update(1)
        bar.set_postfix_str(f"success {100.0 * successes / max(bar.n, 1):.0f}%", refresh=False)


# -- command line ----------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `robocell eval`."""
    parser.add_argument("--policy", required=True,
                        help="policy spec: expert:TASK, student:PATH, sb3:PATH, remote:URL")
    parser.add_argument("--tasks", nargs="+", required=True,
                        help="task names (PickPlace ...) or gymnasium ids")
    parser.add_argument("--episodes", type=int, default=50, help="episodes per task (default 50)")
    parser.add_argument("--seed", type=int, default=0,
                        help="campaign seed: episode i of every task plays seed SEED+i, as the robot node does")
    parser.add_argument("--out", type=Path, required=True, help="output directory (rerun to resume)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parallel episodes (default: cores); 0 runs in this process; with --backend ray, "
                             "the CPUs of the local Ray it starts (a cluster at --address schedules by itself)")
    parser.add_argument("--backend", choices=[b for b in BACKENDS if b != "launch"], default="local")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    parser.add_argument("--robot", default="panda", help="robot of the simulated cell (panda, humanoid)")
    parser.add_argument("--videos", type=int, default=0, help="per task, record the first K episodes")
    parser.add_argument("--video-format", choices=("gif", "mp4"), default="gif")
    parser.add_argument("--max-steps", type=int, default=None, help="cap episode length (default: the env's)")
    parser.add_argument("--plugin", action="append", default=[], dest="plugins", metavar="MODULE",
                        help="module each worker imports first (registers envs or policy kinds)")
    parser.add_argument("--via-launch", type=Path, default=None, dest="launch_file", metavar="LAUNCH_YAML",
                        help="evaluate through the ZeroMQ robot and policy nodes of a launch file "
                             "(e.g. launch/eval.yaml), exactly as deployed")
    parser.add_argument("--no-progress", action="store_false", dest="progress")
    parser.add_argument("--no-report", action="store_false", dest="report")
    parser.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    values = {k: v for k, v in vars(args).items() if k in EvalConfig.__dataclass_fields__}
    if values.get("launch_file") is not None:
        values["backend"] = "launch"
    try:
        config = EvalConfig(**values)
        summary = evaluate(config)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:  # EpisodeFailed is a RuntimeError
        if getattr(args, "verbose", False):
            raise
        print(f"robocell eval: error: {exc} (rerun with -v for the traceback; finished episodes are kept)",
              file=sys.stderr)
        return 1
    overall = summary["overall"]
    rate = 100 * (overall["success_rate"] or 0.0)
    print(f"success {overall['successes']}/{overall['episodes']} = {rate:.1f}% "
          f"[{100 * overall['ci_low']:.1f}, {100 * overall['ci_high']:.1f}] (95% Wilson) | "
          f"cpu-ms per success {overall['cpu_ms_per_success']} | {config.out / 'summary.json'}")
    return 0
