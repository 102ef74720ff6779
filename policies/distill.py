"""`robocell distill`: behaviour cloning on teacher demos, then DAgger, into the pixel+language student.

    robocell distill --task PickPlace --run-dir runs/pickplace            # everything, from scratch
    robocell distill --run-dir runs/pickplace                             # resume after a kill
    robocell distill --config assets/student/distill.json                 # settings from a JSON file
    robocell distill --task PickPlace,Stack,Sort --teacher 'expert:{task}'  # one student, several tasks
    robocell distill --aux-target part_pose:3 --film all ...              # ground the instruction harder
    robocell distill --task Stack --aux-target top_pose:3,bottom_pose:3 --word-pairs true ...  # word order
    robocell distill --task Kitting --aux-target 0:3,7:10 --grounding-scenes 16000 ...  # more scenes to ground

The whole recipe reads top to bottom in `main` and `_train_rounds`; every setting is a field of `DistillConfig`
(each is also a `--flag`). Round 0 is BC on `demo_episodes` teacher episodes; round r >= 1
rolls out the student of round r-1, mixing in the teacher's action with probability
beta_r = beta0 * beta_decay**(r-1); the teacher labels every visited state (see
`policies.dataset.rollout`); the labels join the aggregate and training continues on it.
After every round: `round_<r>.pt` (student checkpoint), `train_<r>.pt` (optimizer, RNG) and
then `state.json`, the commit point. A rerun resumes after the last committed round; episode
files already written by an interrupted round are kept (their seeds are fixed).

Several tasks (`task` a comma-separated list) train one instruction-conditioned student on
all of them: each task gets its own demos and DAgger episodes (`demos/<task>`,
`dagger_<r>/<task>`, the same seed ranges), validation averages the tasks' success, and the
evaluation reports every task (`<task>/<split>/<student|teacher>`). `teacher` may hold
`{task}` (e.g. `expert:{task}`); `teachers` names a task's own teacher. `demo_teacher`, when set,
makes the BC demos instead. The Conveyor student came from a phase-machine expert's demos and DAgger
labels from its memoryless twin (`expert:Conveyor?style=reactive`), whose action cannot depend on a
hidden phase the student's state does not show (assets/student_conveyor/MODEL_CARD.md; on Stack the
same split did not help, docs/experiments/README.md).

`aux_target` adds a training-only head that predicts part of the privileged state every episode
records (the named part's position, say) from the features the actions come from: a student
that must say where the named part is learns to look for it. On PickPlace it cut distractor grasps
from 13 to 3 in 100 held-out episodes; with `film="all"` as well, the student reached 98 %
(assets/student/MODEL_CARD.md).

`grounding_scenes` adds that many first frames of fresh resets, labelled for the auxiliary head only
(`policies.dataset.scenes`): a scene costs a reset, not a demonstration, so the head sees far more
scenes than the actions do. `grounding_epochs` trains on those scenes alone before BC starts
(the student at that point is saved as `grounding.pt`, to probe); `aux_normalisation "scenes"` scales
their targets by the scenes' own spread rather than the demos' (Kitting: 23 mm off in new scenes, not 64).

`word_pairs` adds ordered word pairs to the instruction's hashed tokens: without them the text
encoder cannot tell "the red cube onto the blue cube" from "the blue cube onto the red cube", and
on Stack the student moved the wrong cube (assets/student_stack/MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from policies.dataset.arrays import Samples, append_samples, load_samples
from policies.dataset.collect import collect, evaluate
from policies.dataset.scenes import first_frames
from policies.student.model import StudentConfig, StudentNet
from policies.student.runtime import load_checkpoint, save_checkpoint
from policies.student.text import SentenceTargets
from sim.experts import default_expert_spec
from sim.tasks import task_class

log = logging.getLogger(__name__)


@dataclass
class DistillConfig:
    task: str = "PickPlace"  # or several, comma-separated: one student for all of them
    teacher: str = ""  # policy spec, may contain {task}; "" means the expert for the env's robot
    teachers: dict = field(default_factory=dict)  # task -> policy spec, overriding `teacher`
    # the BC demos' teacher (may hold {task}); "" means `teacher` (e.g. a phase machine for the demos,
    # its memoryless twin for the DAgger labels)
    demo_teacher: str = ""
    run_dir: str = "runs/student"
    seed: int = 0
    # data
    demo_episodes: int = 200
    demo_seed_start: int = 0
    demo_action_noise: float = 0.0  # DART: noise on the teacher's executed motion in demos (labels clean)
    dagger_rounds: int = 3
    dagger_episodes: int = 60  # per round
    dagger_seed_start: int = 100_000  # round r uses seeds dagger_seed_start + 10_000 r + i
    beta0: float = 0.5
    beta_decay: float = 0.5
    only_success_demos: bool = True
    env_kwargs: dict = field(default_factory=dict)
    max_steps: int = 0  # 0: the env's own limit
    workers: int = 2
    # student
    image_size: int = 96
    chunk: int = 4
    film: str = "last"  # instruction FiLM on the last conv map or on "all" (StudentConfig.film)
    # ordered word pairs in the instruction's tokens, so the text knows which colour comes first
    # (StudentConfig.word_pairs; the student then reads WORD_PAIR_TOKENS tokens)
    word_pairs: bool = False
    cameras: tuple[str, ...] = ("scene_rgb", "wrist_rgb")
    execution: str = (
        "first"  # how the student acts in DAgger rollouts and evaluation (runtime.EXECUTION_MODES)
    )
    # optimisation
    bc_epochs: int = 30
    round_epochs: int = 10
    batch_size: int = 64
    lr: float = (
        1e-3  # peak of each round's cosine schedule (BC); DAgger rounds peak at lr * round_lr_fraction
    )
    round_lr_fraction: float = 0.3
    min_lr_fraction: float = 0.05
    weight_decay: float = 1e-4
    shift_px: int = 4  # random-shift image augmentation (DrQ)
    token_dropout: float = 0.1
    threads: int = 1  # intra-op threads for training; >1 thrashes on a busy 2-core machine
    # text: match all-MiniLM-L6-v2 (training only; skipped when neither the model nor the cache exists)
    text_pretrain_steps: int = 1500
    text_loss_weight: float = 0.1
    text_corpus_size: int = 4000
    # auxiliary grounding loss: predict part of the privileged state from the student's features.
    # A field of the task's privileged layout ("part_pose"), its first n values ("part_pose:3"),
    # or columns of the privileged vector ("0:3"); several joined by commas ("top_pose:3,bottom_pose:3");
    # "" for none. Training only (see StudentConfig.aux_dim).
    aux_target: str = ""
    aux_loss_weight: float = 1.0
    # this many extra scenes (the first frame of a reset each) teach the auxiliary head alone: a label
    # needs a rendered frame, not a demonstration (policies.dataset.scenes). Seeds from
    # grounding_seed_start, apart from the demo, DAgger, validation and test seeds. Needs aux_target.
    grounding_scenes: int = 0
    grounding_seed_start: int = 5_000_000
    # epochs on the grounding scenes alone (auxiliary loss only) before BC: the shared encoders learn to
    # find the named parts from many scenes before the demos' few scenes can be memorised
    grounding_epochs: int = 0
    # where the auxiliary targets' mean and spread come from during the grounding epochs: "demos" (all demo
    # frames) or "scenes" (the grounding scenes' first frames). Demo frames carry the parts to their goals,
    # which widens the spread of their positions and so shrinks the weight of the scenes' differences in
    # the head's loss: Kitting's part x spreads 0.143 m over demo frames and 0.052 m over first frames.
    # With "scenes", BC switches back to the demos' spread (the head rescaled to match), since a lifted
    # part sits a hundred first-frame spreads above the table.
    aux_normalisation: str = "demos"
    # evaluation of the final student against the teacher
    eval_episodes: int = 50
    eval_seed_start: int = 1_000_000
    val_episodes: int = 40  # per round, on their own seeds, to choose which round to ship (0: the last)
    val_seed_start: int = 2_000_000
    val_executions: tuple[str, ...] = ("first", "ensemble")  # execution modes tried on validation seeds
    heldout_env_kwargs: dict = field(default_factory=dict)  # e.g. the env's held-out paraphrases
    output: str = ""  # copy the final checkpoint here (e.g. assets/student/student.pt)
    progress: bool = True

    @property
    def tasks(self) -> list[str]:
        return [t.strip() for t in self.task.split(",") if t.strip()]

    def teacher_for(self, task: str) -> str:
        if task in self.teachers:
            return self.teachers[task]
        return self.teacher.replace("{task}", task) if self.teacher else default_expert_spec(task, self.env_kwargs)

    def demo_teacher_for(self, task: str) -> str:
        return self.demo_teacher.replace("{task}", task) if self.demo_teacher else self.teacher_for(task)

    def task_dir(self, base: Path, task: str) -> Path:
        """Where a task's episodes go under `base`: `base` itself for a one-task run."""
        return base if len(self.tasks) == 1 else base / task.replace("/", "_")


WORD_PAIR_TOKENS = 128  # words + bigrams + ordered pairs of a 14-word instruction: 14 + 13 + 91

# Settings that do not change what is trained, so they may differ between a run and its resume.
RESUME_FREE = {"workers", "threads", "progress", "output", "eval_episodes", "val_episodes", "val_seed_start",
               "val_executions"}  # fmt: skip


def main(cfg: DistillConfig) -> dict:
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    tasks = cfg.tasks
    if not tasks:
        raise ValueError("task names no task")
    max_steps = cfg.max_steps or None
    state = _load_state(run_dir, cfg)
    t_start = time.perf_counter()

    # 1. Teacher demonstrations (resumable: existing episode files are skipped).
    demo_dir = run_dir / "demos"
    demo_seeds = range(cfg.demo_seed_start, cfg.demo_seed_start + cfg.demo_episodes)
    demo_summaries = {
        task: collect(
            task,
            cfg.demo_teacher_for(task),
            cfg.task_dir(demo_dir, task),
            demo_seeds,
            cfg.workers,
            env_kwargs=cfg.env_kwargs,
            max_steps=max_steps,
            progress=cfg.progress,
            action_noise=cfg.demo_action_noise,
        )
        for task in tasks
    }
    demo_summary = demo_summaries[tasks[0]] if len(tasks) == 1 else demo_summaries
    log.info("demos: %s", demo_summary)

    if state["finished_round"] < cfg.dagger_rounds:  # a finished run goes straight to its evaluation
        _train_rounds(cfg, state, max_steps)

    # 4. Pick the (round, execution mode) with the best success on validation seeds (robomimic-style
    #    rollout selection; ties go to the later round), then test it against the teacher on held-out seeds.
    results: dict = {"train_seconds": round(time.perf_counter() - t_start, 1), "demos": demo_summary}
    val_seeds = range(cfg.val_seed_start, cfg.val_seed_start + cfg.val_episodes)
    validation, modes = _read_json(run_dir / "validation.json"), list(dict.fromkeys(cfg.val_executions))
    scores = {(cfg.dagger_rounds, cfg.execution): 0.0}
    for r, mode in [(r, m) for r in range(cfg.dagger_rounds + 1) for m in modes] if cfg.val_episodes else []:
        per_task = []
        for task in tasks:
            key = f"round_{r}/{mode}/seeds_{val_seeds.start}_{val_seeds.stop}"
            key = key if len(tasks) == 1 else f"{task}/{key}"
            if key not in validation:
                spec = f"student:{(run_dir / f'round_{r}.pt').resolve()}?execution={mode}"
                validation[key] = evaluate(task, spec, val_seeds, cfg.workers, cfg.env_kwargs, max_steps,
                                           cfg.progress)["success_rate"]  # fmt: skip
                _write_json(run_dir / "validation.json", validation)
            per_task.append(validation[key])
        scores[r, mode] = state["history"][r][f"val_success_{mode}"] = float(np.mean(per_task))
    best, execution = max(
        scores, key=lambda rm: (scores[rm], rm[0], -modes.index(rm[1]) if rm[1] in modes else 0)
    )
    final = run_dir / f"round_{best}.pt"
    results.update(selected_round=best, execution=execution, history=state["history"],
                   validation_seconds=round(time.perf_counter() - t_start - results["train_seconds"], 1))  # fmt: skip
    if cfg.eval_episodes:
        seeds = range(cfg.eval_seed_start, cfg.eval_seed_start + cfg.eval_episodes)
        splits = {"heldout_seeds": cfg.env_kwargs}
        if cfg.heldout_env_kwargs:
            splits["heldout_paraphrases"] = {**cfg.env_kwargs, **cfg.heldout_env_kwargs}
        student = f"student:{final.resolve()}?execution={execution}"
        for task in tasks:
            prefix = "" if len(tasks) == 1 else f"{task}/"
            for split, kwargs in splits.items():
                for name, spec in (("student", student), ("teacher", cfg.teacher_for(task))):
                    results[f"{prefix}{split}/{name}"] = evaluate(task, spec, seeds, cfg.workers, kwargs, max_steps,
                                                                  cfg.progress)  # fmt: skip
    _write_json(run_dir / "results.json", results)
    if cfg.output:  # the shipped file runs in the selected execution mode by default
        model, _ = load_checkpoint(final)
        model.cfg.execution = execution
        save_checkpoint(Path(cfg.output), model, meta={"config": _jsonable(cfg), "results": results})
    return results


# ---------------------------------------------------------------- training


def _train_rounds(cfg: DistillConfig, state: dict, max_steps: int | None) -> None:
    """Steps 2 and 3 of `main`: BC, then the DAgger rounds, each committed to `state.json` as it ends."""
    run_dir, tasks, demo_dir = Path(cfg.run_dir), cfg.tasks, Path(cfg.run_dir) / "demos"
    # 2. The student, its optimiser, and instruction-embedding targets from the sentence encoder.
    torch.manual_seed(cfg.seed)
    student_cfg = StudentConfig(
        cameras=tuple(cfg.cameras),
        image_size=cfg.image_size,
        chunk=cfg.chunk,
        film=cfg.film,
        word_pairs=cfg.word_pairs,
        max_tokens=WORD_PAIR_TOKENS if cfg.word_pairs else StudentConfig.max_tokens,
        extra={"task": cfg.task, "teacher": ",".join(dict.fromkeys(cfg.teacher_for(t) for t in tasks))},
    )
    aux_columns = {task: privileged_columns(task, cfg.aux_target) for task in tasks} if cfg.aux_target else {}
    if len({len(c) for c in aux_columns.values()}) > 1:
        raise ValueError(f"aux_target {cfg.aux_target!r} has a different size in each task: {aux_columns}")
    student_cfg.aux_dim = next((len(c) for c in aux_columns.values()), 0)
    if cfg.grounding_scenes and not aux_columns:
        raise ValueError("grounding_scenes teach the auxiliary head: set aux_target as well")
    if cfg.grounding_epochs and not cfg.grounding_scenes:
        raise ValueError("grounding_epochs train on the grounding scenes: set grounding_scenes as well")
    if cfg.aux_normalisation not in ("demos", "scenes"):
        raise ValueError(f"aux_normalisation {cfg.aux_normalisation!r}: use 'demos' or 'scenes'")
    if cfg.aux_normalisation == "scenes" and (not cfg.grounding_epochs or len(tasks) > 1):
        # without grounding epochs BC would switch back to the demos' spread before any step: a no-op
        raise ValueError("aux_normalisation 'scenes' scales one task's grounding epochs: set grounding_scenes "
                         "and grounding_epochs")
    model = StudentNet(student_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = np.random.default_rng(cfg.seed)
    samples = _load([cfg.task_dir(demo_dir, t) for t in tasks], cfg, demos=True, aux=aux_columns)
    text = _sentence_targets(samples.instructions, run_dir / "text_cache.npz", student_cfg, cfg)

    start_round = state["finished_round"] + 1
    if start_round == 0:
        _set_normalisation(model, samples)
        if text is not None and cfg.text_pretrain_steps:
            text.pretrain(model.text, cfg.text_pretrain_steps, cfg.lr, gen)
    else:  # resume: weights, optimiser and RNG of the last finished round
        model, _ = load_checkpoint(run_dir / f"round_{state['finished_round']}.pt")
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        with torch.serialization.safe_globals([np._core.multiarray.scalar, np.dtype, np.dtypes.Float64DType]):
            train_state = torch.load(run_dir / f"train_{state['finished_round']}.pt", weights_only=True)
        opt.load_state_dict(train_state["optimizer"])
        gen.bit_generator.state = train_state["numpy_rng"]
        log.info("resuming after round %d", state["finished_round"])
    if cfg.grounding_scenes:  # after the normalisation, which stays the demos' unless aux_normalisation says
        scene_scaled = start_round == 0 and cfg.aux_normalisation == "scenes"
        seeds = range(cfg.grounding_seed_start, cfg.grounding_seed_start + cfg.grounding_scenes)
        for task in tasks:
            scenes = first_frames(task, seeds, tuple(cfg.cameras), cfg.image_size, aux_columns[task], cfg.chunk,
                                  samples.chunks.shape[-1], cfg.env_kwargs, cfg.workers, cfg.progress)  # fmt: skip
            if scene_scaled:
                _set_aux_normalisation(model, scenes)
            if start_round == 0 and cfg.grounding_epochs:
                if text is not None:  # scenes name part combinations the demos may not
                    text.add(scenes.instructions)
                loss = train(model, opt, scenes, text, cfg, cfg.grounding_epochs, gen, f"grounding {task}")
                state.setdefault("grounding_loss", {})[task] = loss  # committed with round 0
                save_checkpoint(run_dir / "grounding.pt", model, meta={"round": -1, "config": _jsonable(cfg)})
                log.info("grounding on %d %s scenes: loss %.4f", len(scenes), task, loss)
            if scene_scaled:  # back to the demos', predictions kept
                _set_aux_normalisation(model, samples, keep_predictions=True)
            samples = append_samples(samples, scenes)

    # 3. Round 0: behaviour cloning. Rounds 1..R: DAgger, aggregating every round's labelled episodes.
    for k in range(1, start_round):
        samples = append_samples(samples, _load([cfg.task_dir(run_dir / f"dagger_{k}", t) for t in tasks], cfg,
                                                demos=False, aux=aux_columns))  # fmt: skip
    for r in range(start_round, cfg.dagger_rounds + 1):
        t_round = time.perf_counter()
        record: dict = {"round": r}
        if r > 0:
            beta = cfg.beta0 * cfg.beta_decay ** (r - 1)
            round_dir = run_dir / f"dagger_{r}"
            first = cfg.dagger_seed_start + 10_000 * r
            driver = f"student:{(run_dir / f'round_{r - 1}.pt').resolve()}?execution={cfg.execution}"
            summaries = [
                collect(
                    task,
                    cfg.teacher_for(task),
                    cfg.task_dir(round_dir, task),
                    range(first, first + cfg.dagger_episodes),
                    cfg.workers,
                    driver=driver,
                    beta=beta,
                    env_kwargs=cfg.env_kwargs,
                    max_steps=max_steps,
                    progress=cfg.progress,
                )
                for task in tasks
            ]
            record.update(beta=beta, rollout_success=float(np.mean([x["success_rate"] for x in summaries])),
                          new_samples=sum(x["samples"] for x in summaries))  # fmt: skip
            samples = append_samples(
                samples, _load([cfg.task_dir(round_dir, t) for t in tasks], cfg, demos=False, aux=aux_columns)
            )
        if text is not None:
            text.add(samples.instructions)
        epochs = cfg.bc_epochs if r == 0 else cfg.round_epochs
        peak_lr = cfg.lr if r == 0 else cfg.lr * cfg.round_lr_fraction
        record["loss"] = train(model, opt, samples, text, cfg, epochs, gen, f"round {r}", peak_lr)
        record.update(samples=len(samples), seconds=round(time.perf_counter() - t_round, 1))
        save_checkpoint(run_dir / f"round_{r}.pt", model, meta={"round": r, "config": _jsonable(cfg)})
        torch.save(
            {"optimizer": opt.state_dict(), "numpy_rng": gen.bit_generator.state}, run_dir / f"train_{r}.pt"
        )
        state["finished_round"], state["history"] = r, [*state["history"], record]
        _write_json(run_dir / "state.json", state)
        log.info("round %d: %s", r, record)

def train(
    model: StudentNet,
    opt: torch.optim.Optimizer,
    samples: Samples,
    text: SentenceTargets | None,
    cfg: DistillConfig,
    epochs: int,
    gen: np.random.Generator,
    desc: str,
    peak_lr: float | None = None,
) -> float:
    """Masked MSE on the teacher's action chunks (+ the text and auxiliary losses); returns the last epoch's mean.

    The learning rate follows a cosine from `peak_lr` (default `cfg.lr`) down to `cfg.min_lr_fraction` of it.
    """
    model.train()
    tokens = torch.from_numpy(
        np.stack([model.cfg.tokenize(s) for s in samples.instructions])
    )
    n, mean = len(samples), float("nan")
    batches = max(n // cfg.batch_size, 1)
    peak, floor = peak_lr or cfg.lr, (peak_lr or cfg.lr) * cfg.min_lr_fraction
    step, total = 0, epochs * batches
    bar = tqdm(range(epochs), desc=desc, disable=not cfg.progress, unit="epoch", dynamic_ncols=True)
    for _ in bar:
        order, losses = gen.permutation(n), []
        for start in range(0, n - cfg.batch_size + 1 if n >= cfg.batch_size else 1, cfg.batch_size):
            idx = np.sort(order[start : start + cfg.batch_size])
            ids = torch.from_numpy(samples.instruction_ids[idx])
            batch_tokens = tokens[ids]
            if cfg.token_dropout:
                keep = torch.from_numpy(gen.random(batch_tokens.shape) >= cfg.token_dropout)
                batch_tokens = batch_tokens * keep
            features = model.features(
                _shift(samples.scene[idx], cfg.shift_px, gen),
                _shift(samples.wrist[idx], cfg.shift_px, gen),
                torch.from_numpy(samples.proprio[idx]),
                batch_tokens,
            )
            pred = model.actions(features)
            mask = torch.from_numpy(samples.mask[idx]).unsqueeze(-1)
            loss = (((pred - torch.from_numpy(samples.chunks[idx])) ** 2) * mask).sum() / (
                mask.sum().clamp(min=1.0) * pred.shape[-1]
            )  # grounding scenes have no action label (mask 0)
            if text is not None and cfg.text_loss_weight:
                sentences = [samples.instructions[i] for i in ids.tolist()]
                loss = loss + cfg.text_loss_weight * text.loss(model.text, sentences)
            if model.cfg.aux_dim and samples.aux is not None and cfg.aux_loss_weight:
                target = (torch.from_numpy(samples.aux[idx]) - model.aux_mean) / model.aux_std
                loss = loss + cfg.aux_loss_weight * ((model.aux(features) - target) ** 2).mean()
            for group in opt.param_groups:
                group["lr"] = float(floor + 0.5 * (peak - floor) * (1 + np.cos(np.pi * step / total)))
            step += 1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        mean = float(np.mean(losses))
        bar.set_postfix(loss=f"{mean:.4f}")
    model.eval()
    return mean


def _shift(images: np.ndarray, pad: int, gen: np.random.Generator) -> torch.Tensor:
    """Random translation by up to `pad` pixels per image (edge padding), uint8 in and out."""
    if not pad:
        return torch.from_numpy(images)
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    dy, dx = gen.integers(0, 2 * pad + 1, n), gen.integers(0, 2 * pad + 1, n)
    return torch.from_numpy(np.stack([padded[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)]))


def _set_normalisation(model: StudentNet, samples: Samples) -> None:
    model.proprio_mean.copy_(torch.from_numpy(samples.proprio.mean(0)))
    model.proprio_std.copy_(torch.from_numpy(samples.proprio.std(0)).clamp(min=1e-2))
    _set_aux_normalisation(model, samples)


def _set_aux_normalisation(model: StudentNet, samples: Samples, keep_predictions: bool = False) -> None:
    """The auxiliary targets' mean and spread from `samples`; `keep_predictions` rescales a trained head."""
    if model.cfg.aux_dim and samples.aux is not None:
        mean = torch.from_numpy(samples.aux.mean(0))
        std = torch.from_numpy(samples.aux.std(0)).clamp(min=1e-3)
        if keep_predictions:
            model.renormalise_aux(mean, std)
        else:
            model.aux_mean.copy_(mean)
            model.aux_std.copy_(std)


def privileged_columns(task: str, target: str) -> tuple[int, ...]:
    """The columns of `task`'s privileged state that `target` names (see `DistillConfig.aux_target`).

    Several targets joined by commas ("top_pose:3,bottom_pose:3") name their columns in that order.
    """
    return tuple(column for part in target.split(",") for column in _columns(task, part.strip()))


def _columns(task: str, target: str) -> range:
    name, _, size = target.partition(":")
    if name.isdigit():
        if not size.isdigit() or int(size) <= int(name):
            raise ValueError(f"aux_target {target!r}: columns must read start:stop with stop > start")
        return range(int(name), int(size))
    start = 0
    for field_name, width in task_class(task).privileged_layout:
        if field_name == name:
            n = int(size) if size else width
            if not 0 < n <= width:
                raise ValueError(f"aux_target {target!r}: {task}'s {name!r} has {width} values")
            return range(start, start + n)
        start += width
    names = [f for f, _ in task_class(task).privileged_layout]
    raise ValueError(f"aux_target {target!r}: {task}'s privileged state has no field {name!r}; it has {names}")


# ---------------------------------------------------------------- bookkeeping and CLI


def _sentence_targets(
    instructions: list[str], cache: Path, scfg: StudentConfig, cfg: DistillConfig
) -> SentenceTargets | None:
    if not (cfg.text_pretrain_steps or cfg.text_loss_weight):
        return None
    try:
        return SentenceTargets.build(
            instructions,
            cache,
            scfg.text_dim,
            scfg.tokenize,
            cfg.text_corpus_size,
            cfg.seed,
        )
    except ImportError as exc:
        log.warning("no sentence-encoder targets (%s); the text encoder learns from actions alone", exc)
        return None


def _load(dirs: list[Path], cfg: DistillConfig, demos: bool, aux: dict[str, tuple[int, ...]] | None = None) -> Samples:
    """Teacher demos (only the successful ones, if so configured) or DAgger episodes (all are labelled).

    With `aux` (task -> auxiliary columns), `dirs` holds one directory per task, in `cfg.tasks` order.
    """
    only_success = demos and cfg.only_success_demos
    if not aux:
        return load_samples(dirs, tuple(cfg.cameras), cfg.image_size, cfg.chunk, only_success)
    parts = [
        load_samples([d], tuple(cfg.cameras), cfg.image_size, cfg.chunk, only_success, aux[task])
        for d, task in zip(dirs, cfg.tasks, strict=True)
    ]
    return functools.reduce(append_samples, parts)


def _jsonable(cfg: DistillConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    tmp.replace(path)


def _load_state(run_dir: Path, cfg: DistillConfig) -> dict:
    path = run_dir / "state.json"
    if not path.exists():
        state = {"config": _jsonable(cfg), "finished_round": -1, "history": []}
        _write_json(path, state)
        return state
    state = json.loads(path.read_text())
    ours = _jsonable(cfg)
    defaults = _jsonable(DistillConfig())  # a setting added since the run started counts as its default
    differ = sorted(k for k in ours if k not in RESUME_FREE and state["config"].get(k, defaults[k]) != ours[k])
    if differ:
        raise ValueError(
            f"{path} was written with other settings ({differ}); resume with the same "
            f"settings (--config {path}) or use a new --run-dir"
        )
    return state


def config_from_args(args: argparse.Namespace) -> DistillConfig:
    values = {}
    if args.config:
        data = json.loads(Path(args.config).read_text())
        values.update(data.get("config", data))  # a state.json works as a config too
    values.update({k: v for k, v in vars(args).items() if k in _FIELDS and v is not None})
    for key in ("cameras", "val_executions"):
        if key in values:
            values[key] = tuple(values[key])
    return DistillConfig(**values)


_FIELDS = {f.name: f for f in dataclasses.fields(DistillConfig)}


def run(args: argparse.Namespace) -> int:
    results = main(config_from_args(args))
    print(json.dumps({k: v for k, v in results.items() if k != "history"}, indent=2))
    return 0


def _parse_bool(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


def configure(parser: argparse.ArgumentParser) -> None:
    """One --flag per DistillConfig field (unset flags keep the --config file's or the default value)."""
    parser.add_argument("--config", default=None, help="JSON of DistillConfig fields (or a run's state.json)")
    for f in dataclasses.fields(DistillConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kind = {bool: _parse_bool, dict: json.loads, tuple: str}.get(type(default), type(default))
        extra = {"nargs": "+"} if isinstance(default, tuple) else {}
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=None,
                            help=f"(default {default!r})", **extra)  # fmt: skip
    parser.set_defaults(run=run)
