"""Distillation: DAgger labels come from the teacher, rounds checkpoint, and a run resumes after a crash."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import policies.dataset.scenes as scenes
import policies.distill as distill
import policies.student.text as text_module
from policies.dataset.collect import collect
from policies.dataset.hdf5 import episode_files, read_episode
from policies.dataset.rollout import make_env
from policies.dataset.toy import ToyReachEnv, ToyReachExpert
from policies.registry import register_policy_kind
from policies.student.model import StudentConfig, StudentNet
from policies.student.runtime import load_checkpoint, load_student

torch.set_num_threads(1)
TOY = "robocell-toy/Reach-v0"
PUSH_RIGHT = np.array([1, 1, 0, 0, 0, 0, -1], np.float32)


class ConstantPolicy:
    """A "student" that always disagrees with the toy expert."""

    def reset(self, instruction: str) -> None:
        pass

    def act(self, observation: dict) -> np.ndarray:
        return PUSH_RIGHT.copy()


register_policy_kind("const", lambda _arg: ConstantPolicy())


def expert_labels(path: Path) -> np.ndarray:
    episode = read_episode(path)
    expert = ToyReachExpert()
    return np.stack(
        [
            expert.act({"privileged": p, "proprio": q})
            for p, q in zip(episode.obs["privileged"], episode.obs["proprio"], strict=True)
        ]
    )


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_dagger_labels_come_from_the_teacher(tmp_path: Path, beta: float) -> None:
    collect(
        TOY,
        "toy:Reach",
        tmp_path,
        range(6),
        workers=0,
        driver="const:x",
        beta=beta,
        env_kwargs={"image_size": 16},
        progress=False,
    )
    executed_by_student = 0
    for path in episode_files(tmp_path):
        episode = read_episode(path)
        np.testing.assert_allclose(episode.actions, expert_labels(path), atol=1e-6)  # labels: the teacher's
        student_rows = (episode.executed_actions == PUSH_RIGHT).all(axis=1)
        assert not (episode.actions == PUSH_RIGHT).all(axis=1).any()  # the two really disagree
        executed_by_student += int(student_rows.sum())
        if beta == 0.0:
            assert student_rows.all()  # the student drove every step
        assert episode.attrs["driver"] == "const:x" and episode.attrs["teacher"] == "toy:Reach"
    assert executed_by_student > 0


def tiny_config(run_dir: Path, **overrides) -> distill.DistillConfig:
    settings = dict(
        task=TOY,
        teacher="toy:Reach",
        run_dir=str(run_dir),
        demo_episodes=8,
        dagger_rounds=2,
        dagger_episodes=3,
        bc_epochs=2,
        round_epochs=1,
        batch_size=16,
        image_size=32,
        env_kwargs={"image_size": 32},
        workers=0,
        text_pretrain_steps=0,
        text_loss_weight=0.0,
        eval_episodes=0,
        val_episodes=0,
        progress=False,
    )
    settings.update(overrides)
    return distill.DistillConfig(**settings)


def test_student_driven_rounds_are_labelled_by_the_teacher(tmp_path: Path) -> None:
    distill.main(tiny_config(tmp_path, dagger_rounds=1, beta0=0.0))
    files = episode_files(tmp_path / "dagger_1")
    assert len(files) == 3
    for path in files:
        episode = read_episode(path)
        assert episode.attrs["driver"].startswith("student:")
        np.testing.assert_allclose(episode.actions, expert_labels(path), atol=1e-6)
        assert not np.allclose(episode.executed_actions, episode.actions)  # the untrained student drove


def test_demos_may_come_from_another_teacher_than_the_dagger_labels(tmp_path: Path) -> None:
    distill.main(tiny_config(tmp_path, dagger_rounds=1, demo_teacher="const:x", only_success_demos=False))
    for path in episode_files(tmp_path / "demos"):
        episode = read_episode(path)
        assert episode.attrs["teacher"] == "const:x" and (episode.actions == PUSH_RIGHT).all()
    for path in episode_files(tmp_path / "dagger_1"):
        assert read_episode(path).attrs["teacher"] == "toy:Reach"
        np.testing.assert_allclose(read_episode(path).actions, expert_labels(path), atol=1e-6)


def test_resumes_after_the_last_finished_round(tmp_path: Path, monkeypatch, caplog) -> None:
    cfg = tiny_config(tmp_path)
    real_collect = distill.collect

    def crash_in_round_2(*args, **kwargs):
        if kwargs.get("driver") and "round_1.pt" in kwargs["driver"]:
            raise KeyboardInterrupt("killed during round 2")
        return real_collect(*args, **kwargs)

    monkeypatch.setattr(distill, "collect", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        distill.main(cfg)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["finished_round"] == 1 and [h["round"] for h in state["history"]] == [0, 1]
    before = {r: (tmp_path / f"round_{r}.pt").read_bytes() for r in (0, 1)}

    monkeypatch.setattr(distill, "collect", real_collect)
    with caplog.at_level(logging.INFO, logger="policies.distill"):
        distill.main(cfg)
    assert "resuming after round 1" in caplog.text
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["finished_round"] == 2 and [h["round"] for h in state["history"]] == [0, 1, 2]
    assert all((tmp_path / f"round_{r}.pt").read_bytes() == before[r] for r in (0, 1))  # not retrained
    assert (tmp_path / "round_2.pt").exists() and (tmp_path / "results.json").exists()

    # Validation picks a (round, execution mode) and the shipped file remembers the mode; a finished
    # run does not reload its training data (10 GB of frames for a 1,600-demo run at 96x96).
    monkeypatch.setattr(distill, "_load", lambda *a, **k: pytest.fail("a finished run reloaded its data"))
    results = distill.main(tiny_config(tmp_path, val_episodes=3, output=str(tmp_path / "shipped.pt")))
    assert set(json.loads((tmp_path / "validation.json").read_text())) == {
        f"round_{r}/{m}/seeds_2000000_2000003" for r in range(3) for m in ("first", "ensemble")
    }
    assert load_student(str(tmp_path / "shipped.pt")).execution == results["execution"]

    with pytest.raises(ValueError, match="bc_epochs"):  # other settings must not silently mix
        distill.main(tiny_config(tmp_path, bc_epochs=5))


def test_one_student_learns_several_tasks_each_with_its_own_data_and_scores(tmp_path: Path) -> None:
    other = "robocell-toy/ReachOtherWording-v0"  # a second "task": the toy reach with other instructions
    if other not in gym.registry:
        gym.register(other, entry_point=ToyReachEnv, kwargs={"instructions": "heldout"}, max_episode_steps=30)
    tasks = [TOY, other]
    cfg = tiny_config(tmp_path, task=",".join(tasks), dagger_rounds=1, val_episodes=2, eval_episodes=2,
                      heldout_env_kwargs={}, aux_target="0:2")  # fmt: skip  # aux labels: each task's goal
    results = distill.main(cfg)
    model, _ = load_checkpoint(tmp_path / "round_1.pt")
    assert model.cfg.aux_dim == 2 and model.aux_std.min() > 0.01  # normalised by both tasks' goals
    for task in tasks:
        folder = task.replace("/", "_")
        assert len(episode_files(tmp_path / "demos" / folder)) == 8
        assert len(episode_files(tmp_path / "dagger_1" / folder)) == 3
        assert {read_episode(p).attrs["teacher"] for p in episode_files(tmp_path / "dagger_1" / folder)} == {
            "toy:Reach"}
        for role in ("student", "teacher"):
            assert results[f"{task}/heldout_seeds/{role}"]["episodes"] == 2
    validation = json.loads((tmp_path / "validation.json").read_text())
    assert {key.split("/round_")[0] for key in validation} == set(tasks)
    # Round 0 trained on both tasks' demos together.
    state = json.loads((tmp_path / "state.json").read_text())
    per_task = [len(distill._load([tmp_path / "demos" / t.replace("/", "_")], cfg, demos=True)) for t in tasks]
    assert min(per_task) > 0 and state["history"][0]["samples"] == sum(per_task)


def test_grounding_scenes_are_first_frames_that_teach_only_the_aux_head(tmp_path: Path, monkeypatch) -> None:
    seeds = range(500, 505)
    monkeypatch.setattr(scenes, "SEEDS_PER_JOB", 2)  # three jobs on two workers: they finish in any order
    frames = {
        workers: scenes.first_frames(TOY, seeds, ("scene_rgb", "wrist_rgb"), 32, (0, 1), chunk=4, action_dim=7,
                                     env_kwargs={"image_size": 32}, workers=workers, progress=False)
        for workers in (0, 2)
    }  # fmt: skip
    env = make_env(TOY, image_size=32)
    for samples in frames.values():
        for i, seed in enumerate(seeds):
            obs, _ = env.reset(seed=seed)
            np.testing.assert_array_equal(samples.scene[i], obs["scene_rgb"])
            np.testing.assert_array_equal(samples.wrist[i], obs["wrist_rgb"])
            np.testing.assert_allclose(samples.aux[i], obs["privileged"][:2])
            assert samples.instructions[samples.instruction_ids[i]] == obs["instruction"]
        assert not samples.mask.any() and samples.episodes == 0

    # Batches of scenes alone train the auxiliary head; their missing action labels count for nothing.
    samples = frames[0]
    model = StudentNet(StudentConfig(image_size=32, aux_dim=2))
    cfg = tiny_config(tmp_path, batch_size=5, aux_target="0:2")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = [p.clone() for p in model.aux_head.parameters()]
    loss = distill.train(model, opt, samples, None, cfg, 1, np.random.default_rng(0), "scenes")
    assert np.isfinite(loss) and any(not torch.equal(a, b) for a, b in zip(before, model.aux_head.parameters(),
                                                                           strict=True))  # fmt: skip

    # In a run they join the demos after the normalisation is taken from the demos.
    distill.main(tiny_config(tmp_path / "run", dagger_rounds=0, aux_target="0:2", grounding_scenes=5))
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    cfg = tiny_config(tmp_path / "run")
    demos = len(distill._load([tmp_path / "run" / "demos"], cfg, demos=True))
    assert state["history"][0]["samples"] == demos + 5
    with pytest.raises(ValueError, match="aux_target"):
        distill.main(tiny_config(tmp_path / "no_aux", dagger_rounds=0, grounding_scenes=5))


def test_grounding_epochs_train_on_the_scenes_alone_before_behaviour_cloning(tmp_path: Path, monkeypatch) -> None:
    calls = []
    real_train = distill.train

    def spy(model, opt, samples, *args, **kwargs):
        calls.append((len(samples), int(samples.mask.sum()), args[2]))  # samples, labelled ones, epochs
        return real_train(model, opt, samples, *args, **kwargs)

    monkeypatch.setattr(distill, "train", spy)
    cfg = tiny_config(tmp_path / "run", dagger_rounds=0, aux_target="0:2", grounding_scenes=5, grounding_epochs=3)
    distill.main(cfg)
    (scenes, scene_labels, scene_epochs), (both, labels, bc_epochs) = calls
    assert (scenes, scene_labels, scene_epochs) == (5, 0, 3)  # the scenes alone, none with an action label
    assert both > scenes and labels > 0 and bc_epochs == cfg.bc_epochs  # then BC on the demos and the scenes
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert np.isfinite(state["grounding_loss"][TOY]) and (tmp_path / "run" / "grounding.pt").is_file()
    with pytest.raises(ValueError, match="grounding_scenes"):
        distill.main(tiny_config(tmp_path / "no_scenes", dagger_rounds=0, aux_target="0:2", grounding_epochs=3))


def test_aux_normalisation_from_the_scenes_scales_the_grounding_epochs_and_bc_goes_back(tmp_path: Path) -> None:
    """Demo frames carry the parts about; the grounding epochs can be scaled to the first frames' spread,
    and BC then goes back to the demos' (a lifted part would be far outside the scenes' spread)."""
    cfg = tiny_config(tmp_path, dagger_rounds=0, aux_target="0:2", grounding_scenes=6, grounding_epochs=1,
                      aux_normalisation="scenes")  # fmt: skip
    distill.main(cfg)
    first = scenes.first_frames(TOY, range(cfg.grounding_seed_start, cfg.grounding_seed_start + 6), tuple(cfg.cameras),
                                32, [0, 1], cfg.chunk, 7, cfg.env_kwargs, 0, False).aux  # fmt: skip
    demos = distill._load([tmp_path / "demos"], cfg, demos=True, aux={TOY: (0, 1)}).aux
    assert not np.allclose(first.std(0), demos.std(0), rtol=0.05)  # the two sources differ here
    grounded, _ = load_checkpoint(tmp_path / "grounding.pt")
    np.testing.assert_allclose(grounded.aux_std.numpy(), np.maximum(first.std(0), 1e-3), rtol=1e-5)
    cloned, _ = load_checkpoint(tmp_path / "round_0.pt")
    np.testing.assert_allclose(cloned.aux_std.numpy(), np.maximum(demos.std(0), 1e-3), rtol=1e-5)
    with pytest.raises(ValueError, match="aux_normalisation"):
        distill.main(tiny_config(tmp_path / "bad", aux_target="0:2", grounding_scenes=6, aux_normalisation="frames"))
    with pytest.raises(ValueError, match="grounding_scenes"):
        distill.main(tiny_config(tmp_path / "none", aux_target="0:2", aux_normalisation="scenes"))
    with pytest.raises(ValueError, match="grounding_epochs"):  # scenes only for BC: the setting would do nothing
        distill.main(tiny_config(tmp_path / "noepochs", aux_target="0:2", grounding_scenes=6,
                                 aux_normalisation="scenes"))  # fmt: skip


def test_grounding_epochs_learn_the_wording_of_scenes_the_demos_never_named(tmp_path: Path, monkeypatch) -> None:
    """Scenes name combinations no demo did (Kitting has many); the text loss needs their targets too."""
    embedded = []

    def fake_encoder(sentences, cache=None):  # stands in for the sentence model, which tests do not load
        embedded.extend(sentences)
        seeds = [sum(map(ord, s)) for s in sentences]
        return np.stack([np.random.default_rng(seed).normal(size=384) for seed in seeds]).astype(np.float32)

    monkeypatch.setattr(text_module, "teacher_embeddings", fake_encoder)
    monkeypatch.setattr(text_module, "minilm_available", lambda: False)  # as in CI: a corpus of ~30 sentences
    cfg = tiny_config(tmp_path, dagger_rounds=0, demo_episodes=1, aux_target="0:2", grounding_scenes=12,
                      grounding_epochs=1, text_loss_weight=0.1, text_corpus_size=80)  # fmt: skip
    distill.main(cfg)
    demo_wording = {read_episode(path).instruction for path in episode_files(tmp_path / "demos")}
    scene_wording = set(scenes.first_frames(TOY, range(cfg.grounding_seed_start, cfg.grounding_seed_start + 12),
                                            tuple(cfg.cameras), 32, [0, 1], cfg.chunk, 7, cfg.env_kwargs,
                                            0, False).instructions)  # fmt: skip
    assert scene_wording - demo_wording and scene_wording <= set(embedded)
