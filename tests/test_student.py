"""The student network, its text encoder and its runtime: shapes, modes, training lowers the loss."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from policies.dataset.arrays import chunk_labels, load_samples
from policies.dataset.collect import collect
from policies.distill import DistillConfig, privileged_columns, train
from policies.student.model import StudentConfig, StudentNet, count_macs, example_inputs
from policies.student.runtime import StudentPolicy, load_student, save_checkpoint, torch_backend
from policies.student.text import tokenize

torch.set_num_threads(1)
TINY = StudentConfig(image_size=32, convs=((8, 4, 2), (16, 3, 2)), text_buckets=512, hidden=64, chunk=4)


def observation(cfg: StudentConfig, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    obs = {k: rng.integers(0, 256, (cfg.image_size, cfg.image_size, 3), dtype=np.uint8) for k in cfg.cameras}
    obs["proprio"] = rng.normal(size=cfg.proprio_dim).astype(np.float32)
    return obs


def test_tokenize_is_stable_and_padded() -> None:
    a = tokenize("Pick the RED cube", 512, 8)
    assert a.dtype == np.int64 and a.shape == (8,)
    assert (a == tokenize("pick the red cube", 512, 8)).all()  # case-insensitive, process-independent
    assert (a[:7] > 0).all() and a[7] == 0  # 4 words + 3 bigrams, then padding
    assert not (a == tokenize("pick the blue cube", 512, 8)).all()


def test_word_pairs_tell_which_colour_comes_first() -> None:
    # Same words and the same bigrams, roles swapped: a bag of words and bigrams cannot tell them apart.
    red_on_blue, blue_on_red = "place the red block onto the blue block", "place the blue block onto the red block"
    assert set(tokenize(red_on_blue, 8192, 128)) == set(tokenize(blue_on_red, 8192, 128))
    with_pairs = [set(tokenize(s, 8192, 128, word_pairs=True)) for s in (red_on_blue, blue_on_red)]
    assert with_pairs[0] != with_pairs[1]
    n = 8  # words: 8 + 7 bigrams + 28 ordered pairs, then padding
    assert (tokenize(red_on_blue, 8192, 128, word_pairs=True) > 0).sum() == n + (n - 1) + n * (n - 1) // 2
    # Truncation keeps the words and bigrams: the pairs go first.
    assert (tokenize(red_on_blue, 8192, 15, word_pairs=True) == tokenize(red_on_blue, 8192, 15)).all()


@pytest.mark.parametrize("film", ["last", "all"])
def test_forward_shape_range_and_cost(film: str) -> None:
    model = StudentNet(StudentConfig(film=film)).eval()
    with torch.no_grad():
        out = model(*example_inputs(model.cfg, batch=3))
    assert out.shape == (3, 4, 7)
    assert out.abs().max() <= 1.0
    assert count_macs(model, example_inputs(model.cfg)) < 20e6


def test_film_on_every_map_lets_the_instruction_reach_the_first_conv() -> None:
    torch.manual_seed(0)
    image = example_inputs(StudentConfig(), batch=1)[0].expand(2, -1, -1, -1)  # one image, two instructions
    text = torch.randn(2, 32)
    for film, instruction_matters in (("last", False), ("all", True)):
        encoder = StudentNet(StudentConfig(film=film)).encoders[0]
        first_relu = []
        encoder.convs[1].register_forward_hook(lambda _m, _i, out, seen=first_relu: seen.append(out))
        encoder(image, text)
        assert (not torch.allclose(first_relu[0][0], first_relu[0][1])) == instruction_matters, film
    with pytest.raises(ValueError, match="film must be"):
        StudentNet(StudentConfig(film="first"))


def test_execution_modes(tmp_path: Path) -> None:
    model = StudentNet(TINY).eval()
    save_checkpoint(tmp_path / "s.pt", model)
    obs = observation(TINY)
    chunk_policy = load_student(str(tmp_path / "s.pt"), execution="chunk")
    chunk_policy.reset("move to the red target")
    chunk = chunk_policy.act(obs)
    assert chunk.shape == (4, 7) and chunk.dtype == np.float32
    for mode, expected in (("first", chunk[0]), ("queue", chunk[0]), ("ensemble", chunk[0])):
        policy = StudentPolicy(torch_backend(model), TINY, execution=mode)
        policy.reset("move to the red target")
        np.testing.assert_allclose(policy.act(obs), expected, atol=1e-5)
    queue = StudentPolicy(torch_backend(model), TINY, execution="queue")
    queue.reset("move to the red target")
    rows = [queue.act(obs) for _ in range(4)]
    np.testing.assert_allclose(np.stack(rows), chunk, atol=1e-5)  # one chunk played out row by row
    big = {**obs, "scene_rgb": np.zeros((64, 48, 3), np.uint8)}  # other camera sizes are resized
    assert queue.act(big).shape == (7,)
    with pytest.raises(KeyError, match="wrist_rgb"):
        chunk_policy.act({"scene_rgb": obs["scene_rgb"], "proprio": obs["proprio"]})


def test_chunk_labels_mask_the_episode_end() -> None:
    actions = np.arange(3, dtype=np.float32)[:, None].repeat(7, 1)
    labels, mask = chunk_labels(actions, 4)
    assert labels.shape == (3, 4, 7)
    assert labels[2, :, 0].tolist() == [2, 2, 2, 2]
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]]


def test_tiny_student_lowers_its_loss(tmp_path: Path) -> None:
    collect(
        "robocell-toy/Reach-v0",
        "toy:Reach",
        tmp_path,
        range(12),
        workers=0,
        env_kwargs={"image_size": 32},
        progress=False,
    )
    samples = load_samples([tmp_path], TINY.cameras, TINY.image_size, TINY.chunk)
    torch.manual_seed(0)
    model = StudentNet(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    cfg = DistillConfig(batch_size=16, shift_px=1, token_dropout=0.0, progress=False)
    gen = np.random.default_rng(0)
    untrained = train(model, opt, samples, None, cfg, 1, gen, "measure", peak_lr=1e-12)  # lr ~0: a measurement
    trained = train(model, opt, samples, None, cfg, 20, gen, "train", peak_lr=3e-3)
    assert trained < 0.5 * untrained, (untrained, trained)


def test_latency_is_in_the_millisecond_range(tmp_path: Path) -> None:
    """A loose guard (the real number comes from benchmarks/bench_student.py on a quiet machine)."""
    save_checkpoint(tmp_path / "s.pt", StudentNet(StudentConfig()).eval())
    policy = load_student(str(tmp_path / "s.pt"))
    obs = observation(policy.cfg)
    policy.reset("pick the red cube and place it in the left bin")
    for _ in range(20):
        policy.act(obs)
    times = []
    for _ in range(100):
        start = time.perf_counter()
        policy.act(obs)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 5e-3


def test_spec_options_pick_the_execution_mode(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "s.pt", StudentNet(TINY).eval())
    policy = load_student(f"{tmp_path / 's.pt'}?execution=ensemble&threads=1")
    assert policy.execution == "ensemble"
    with pytest.raises(ValueError, match="unknown student option"):
        load_student(f"{tmp_path / 's.pt'}?speed=fast")


def test_sentence_targets_train_the_text_encoder_from_a_cache(tmp_path: Path) -> None:
    """With cached sentence-encoder embeddings, the text encoder learns to match them (no model needed)."""
    from policies.student.text import SentenceTargets, TextEncoder, generic_corpus

    sentences = ["pick the red cube", "pick the blue cube", "put the red cube in the left bin", "stack blocks"]
    corpus = sorted(set(sentences) | set(generic_corpus(sentences, 40, seed=0)))
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(len(corpus), 384)).astype(np.float32)
    np.savez(tmp_path / "cache.npz", sentences=np.array(corpus), embeddings=embeddings)
    targets = SentenceTargets.build(sentences, tmp_path / "cache.npz", 8, lambda s: tokenize(s, 512, 16),
                                    corpus_size=40, seed=0)  # fmt: skip
    assert set(sentences) <= set(targets.targets) and targets.targets[sentences[0]].shape == (8,)
    torch.manual_seed(0)
    encoder = TextEncoder(512, 16, 8)
    before = targets.loss(encoder, sentences).item()
    targets.pretrain(encoder, 300, 3e-3, np.random.default_rng(0))
    assert targets.loss(encoder, sentences).item() < 0.5 * before


def test_pca_targets_keep_the_encoder_width_when_sentences_are_few() -> None:
    """Five distinct sentences (repeated, as task instructions are) span at most four directions;
    the rest of the 32 target dims are zero, not noise blown up by a near-zero singular value."""
    from policies.student.text import pca_targets

    distinct = np.random.default_rng(0).normal(size=(5, 384))
    embeddings = np.repeat(distinct, 10, axis=0)
    mean, comps = pca_targets(embeddings, 32)
    assert comps.shape == (32, 384)
    projected = (distinct - mean) @ comps.T
    assert np.abs(projected[:, 4:]).max() == 0.0
    assert np.allclose((np.repeat(projected, 10, axis=0)[:, :4]).std(0, ddof=1), 1.0, atol=1e-4)


def test_renormalising_the_aux_head_keeps_its_estimates() -> None:
    model = StudentNet(StudentConfig(image_size=32, aux_dim=3)).eval()
    model.aux_mean.copy_(torch.tensor([0.5, 0.0, 0.05]))
    model.aux_std.copy_(torch.tensor([0.05, 0.05, 0.001]))
    with torch.no_grad():
        features = model.features(*example_inputs(model.cfg, batch=4))
        before = model.aux_estimate(features)
        model.renormalise_aux(torch.tensor([0.48, 0.01, 0.06]), torch.tensor([0.14, 0.06, 0.05]))
        after = model.aux_estimate(features)
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)
    assert torch.equal(model.aux_std, torch.tensor([0.14, 0.06, 0.05]))


def test_orientation_features_ignore_the_quaternion_sign() -> None:
    model = StudentNet(StudentConfig(image_size=32)).eval()
    inputs = list(example_inputs(model.cfg, batch=2))
    inputs[2] = torch.tensor([[0.4, 0.1, 0.2, 0.96, -0.28, 0.0, 0.0, 1.0]] * 2)
    flipped = inputs[2].clone()
    flipped[:, 3:7] *= -1  # the same orientation
    with torch.no_grad():
        a = model(*inputs)
        b = model(*inputs[:2], flipped, inputs[3])
    torch.testing.assert_close(a, b)


def test_auxiliary_head_learns_the_privileged_target_without_touching_the_actions(tmp_path: Path) -> None:
    collect("robocell-toy/Reach-v0", "toy:Reach", tmp_path, range(12), workers=0, env_kwargs={"image_size": 32},
            progress=False)  # fmt: skip
    goal = privileged_columns("robocell-toy/Reach-v0", "0:2")  # the toy's privileged state starts with its goal
    samples = load_samples([tmp_path], TINY.cameras, TINY.image_size, TINY.chunk, aux=goal)
    assert samples.aux.shape == (len(samples), 2)
    torch.manual_seed(0)
    model = StudentNet(dataclasses.replace(TINY, aux_dim=2))
    model.aux_mean.copy_(torch.from_numpy(samples.aux.mean(0)))
    model.aux_std.copy_(torch.from_numpy(samples.aux.std(0)))

    def aux_error() -> float:
        with torch.no_grad():
            feats = model.features(torch.from_numpy(samples.scene), torch.from_numpy(samples.wrist),
                                   torch.from_numpy(samples.proprio), tokens_of(model, samples))  # fmt: skip
            target = (torch.from_numpy(samples.aux) - model.aux_mean) / model.aux_std
            return float(((model.aux(feats) - target) ** 2).mean())

    def trained_error(weight: float) -> float:
        model.load_state_dict(initial)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        cfg = DistillConfig(batch_size=16, shift_px=0, token_dropout=0.0, progress=False, aux_loss_weight=weight)
        train(model, opt, samples, None, cfg, 15, np.random.default_rng(0), "train", peak_lr=3e-3)
        return aux_error()

    initial = {k: v.clone() for k, v in model.state_dict().items()}
    before = aux_error()
    without, with_aux = trained_error(0.0), trained_error(1.0)
    assert with_aux < 0.6 * before and with_aux < 0.6 * without, (before, without, with_aux)

    # The head is training-only: a saved and reloaded student acts the same, and `forward` is the action path.
    save_checkpoint(tmp_path / "aux.pt", model)
    policy = load_student(str(tmp_path / "aux.pt"), execution="first")
    obs = observation(model.cfg)
    policy.reset("reach the red target")
    direct = model(*(torch.from_numpy(obs[k][None]) for k in model.cfg.cameras), torch.from_numpy(obs["proprio"][None]),
                   torch.from_numpy(tokenize("reach the red target", TINY.text_buckets, TINY.max_tokens)[None]))
    np.testing.assert_allclose(policy.act(obs), direct[0, 0].detach().numpy(), atol=1e-5)


def tokens_of(model: StudentNet, samples) -> torch.Tensor:
    tokens = np.stack([model.cfg.tokenize(s) for s in samples.instructions])
    return torch.from_numpy(tokens[samples.instruction_ids])


def test_privileged_columns_name_fields_prefixes_or_ranges() -> None:
    assert privileged_columns("PickPlace", "part_pose") == tuple(range(7))
    assert privileged_columns("PickPlace", "part_pose:3") == (0, 1, 2)
    assert privileged_columns("PickPlace", "grasp_yaw") == (7,)
    assert privileged_columns("PickPlace", "2:5") == (2, 3, 4)
    assert privileged_columns("Stack", "top_pose:3, bottom_pose:3") == (0, 1, 2, 13, 14, 15)
    assert privileged_columns("Stack", "top_grasp_yaw_vector") == (8, 9)
    with pytest.raises(ValueError, match="no field 'bolt_pose'.*part_pose"):
        privileged_columns("PickPlace", "bolt_pose")
    with pytest.raises(ValueError, match="has 1 values"):
        privileged_columns("PickPlace", "grasp_yaw:2")
    with pytest.raises(ValueError, match="start:stop"):
        privileged_columns("PickPlace", "5:2")
