"""`robocell train-teacher`: a stable-baselines3 teacher trained on privileged state.

    robocell train-teacher --task PickPlace --algo sac --steps 200000 --out runs/teacher_pickplace
    robocell collect --task PickPlace --teacher sb3:runs/teacher_pickplace/teacher.zip ...

The teacher sees what the student never will: the simulator's privileged task state plus
proprioception, flattened into one Box (`PrivilegedStateWrapper`). Cameras are switched off
while training when the env accepts `cameras=()` (rendering is most of a step's cost).
Outputs in `--out`: `teacher.zip` (SB3 model), `teacher.json` (algo, task, observation
layout), `monitor.csv` (every training episode), `training_curve.png`.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from policies.base import Observation
from policies.dataset.rollout import make_env

log = logging.getLogger(__name__)

ALGOS = ("sac", "ppo")
STATE_KEYS = ("privileged", "proprio")  # the teacher's observation, concatenated in this order


def state_vector(observation: Observation) -> np.ndarray:
    """float32 concat of privileged state and proprio: the teacher's whole view of the world."""
    missing = [k for k in STATE_KEYS if k not in observation]
    if missing:
        raise KeyError(f"the SB3 teacher needs observation keys {missing} (privileged state comes from sim)")
    return np.concatenate([np.asarray(observation[k], dtype=np.float32).ravel() for k in STATE_KEYS])


class PrivilegedStateWrapper(gym.ObservationWrapper):
    """Dict observation -> Box(privileged + proprio); the instruction and images are dropped."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        size = sum(int(np.prod(env.observation_space[k].shape)) for k in STATE_KEYS)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def observation(self, observation: Observation) -> np.ndarray:
        return state_vector(observation)


def make_state_env(task: str, env_kwargs: dict[str, Any] | None = None) -> gym.Env:
    """The task's env without cameras when it allows that, wrapped to privileged-state Box observations."""
    kwargs = dict(env_kwargs or {})
    if "cameras" not in kwargs:
        try:
            return PrivilegedStateWrapper(make_env(task, cameras=(), **kwargs))
        except TypeError:
            pass  # this env always renders
    return PrivilegedStateWrapper(make_env(task, **kwargs))


class SB3Policy:
    """A trained SB3 model behind the `Policy` interface (deterministic actions)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: Observation) -> np.ndarray:
        action, _ = self.model.predict(state_vector(observation), deterministic=True)
        return np.asarray(action, dtype=np.float32)


def _algo_class(name: str) -> Any:
    import stable_baselines3 as sb3

    if name not in ALGOS:
        raise ValueError(f"algo {name!r}, expected one of {ALGOS}")
    return {"sac": sb3.SAC, "ppo": sb3.PPO}[name]


def load_sb3_policy(path: str) -> SB3Policy:
    """`sb3:PATH` -> Policy; PATH is `teacher.zip` (its algo is read from `teacher.json` beside it)."""
    zip_path = Path(path)
    meta_path = zip_path.with_suffix(".json")
    if not zip_path.exists():
        raise FileNotFoundError(f"SB3 model {zip_path} does not exist")
    algo = json.loads(meta_path.read_text())["algo"] if meta_path.exists() else "sac"
    return SB3Policy(_algo_class(algo).load(str(zip_path), device="cpu"))


def train_teacher(
    task: str,
    algo: str,
    steps: int,
    out: Path,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    algo_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
    threads: int = 1,
) -> Path:
    """Train, save the model, its metadata, the monitor log and the training-curve plot; returns the zip."""
    import torch
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(threads)  # small MLPs: more threads only contend on a busy machine
    out.mkdir(parents=True, exist_ok=True)
    env = Monitor(make_state_env(task, env_kwargs), str(out / "monitor"), info_keywords=("success",))
    cls = _algo_class(algo)
    kwargs: dict[str, Any] = {"seed": seed, "device": "cpu", "verbose": 0}
    if algo == "sac":
        kwargs.update(learning_starts=min(5000, steps // 10), buffer_size=min(steps, 1_000_000))
    kwargs.update(algo_kwargs or {})
    model = cls("MlpPolicy", env, **kwargs)
    model.learn(total_timesteps=steps, progress_bar=progress)
    model.save(str(out / "teacher.zip"))
    meta = {
        "algo": algo,
        "task": task,
        "steps": steps,
        "seed": seed,
        "observation": list(STATE_KEYS),
        "env_kwargs": env_kwargs or {},
        "algo_kwargs": algo_kwargs or {},
    }
    (out / "teacher.json").write_text(json.dumps(meta, indent=2))
    env.close()
    plot_training_curve(out / "monitor.monitor.csv", out / "training_curve.png", f"{algo.upper()} on {task}")
    return out / "teacher.zip"


def plot_training_curve(monitor_csv: Path, png: Path, title: str, window: int = 20) -> None:
    """Episode return and success rate (moving averages over `window` episodes) against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(monitor_csv) as f:
        f.readline()  # the Monitor's JSON header line
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{monitor_csv} has no finished episodes to plot")
    returns = np.array([float(r["r"]) for r in rows])
    steps = np.cumsum([int(r["l"]) for r in rows])
    success = np.array([r.get("success", "") in ("True", "1", "1.0") for r in rows], dtype=float)
    kernel = np.ones(min(window, len(rows))) / min(window, len(rows))
    fig, (ax_r, ax_s) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    ax_r.plot(steps, returns, alpha=0.3, label="episode return")
    ax_r.plot(
        steps[len(kernel) - 1 :], np.convolve(returns, kernel, "valid"), label=f"mean of {len(kernel)}"
    )
    ax_r.set_ylabel("return")
    ax_r.legend()
    ax_s.plot(steps[len(kernel) - 1 :], np.convolve(success, kernel, "valid"))
    ax_s.set_ylabel("success rate")
    ax_s.set_xlabel("environment steps")
    ax_s.set_ylim(-0.05, 1.05)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else {}
    algo_kwargs = json.loads(args.algo_kwargs) if args.algo_kwargs else {}
    path = train_teacher(args.task, args.algo, args.steps, Path(args.out), args.seed, env_kwargs, algo_kwargs)
    log.info("teacher saved to %s (curve: %s)", path, path.parent / "training_curve.png")
    if args.eval_episodes:
        from policies.dataset.collect import evaluate

        seeds = range(1_000_000, 1_000_000 + args.eval_episodes)
        result = evaluate(args.task, f"sb3:{path}", seeds, workers=0, env_kwargs=env_kwargs)
        (path.parent / "eval.json").write_text(json.dumps(result, indent=2))
        log.info("teacher success on held-out seeds: %.2f", result["success_rate"])
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True)
    parser.add_argument("--algo", choices=ALGOS, default="sac")
    parser.add_argument("--steps", type=int, default=200_000, help="environment steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--env-kwargs", default=None, help="JSON passed to gym.make")
    parser.add_argument(
        "--algo-kwargs", default=None, help="JSON for the SB3 algorithm, e.g. '{\"n_steps\": 1024}'"
    )
    parser.add_argument(
        "--eval-episodes", type=int, default=20, help="held-out-seed evaluation after training"
    )
    parser.set_defaults(run=run)
