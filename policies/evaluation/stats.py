"""The statistics an evaluation campaign reports: Wilson intervals and the exact McNemar test.

Both are exact formulas with no dependency beyond the standard library, so a
summary computed anywhere gives the same digits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist


def wilson_interval(successes: int, episodes: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a success rate of `successes` out of `episodes`.

    Unlike the normal approximation it stays inside [0, 1] and is honest at 0 or
    all successes (0/10 gives about [0, 0.278]). With no episodes it is [0, 1].
    """
    if episodes < 0 or not 0 <= successes <= episodes:
        raise ValueError(f"successes={successes}, episodes={episodes}: expected 0 <= successes <= episodes")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence}, expected a value in (0, 1)")
    if episodes == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    n = float(episodes)
    p = successes / n
    denominator = 1.0 + z * z / n
    center = (p + z * z / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # Clamp rounding noise: the exact interval touches 0 (or 1) when p is 0 (or 1).
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == episodes else min(1.0, center + half)
    return low, high


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs.

    `only_a`: pairs (same task and seed) that A solved and B did not; `only_b`: the
    reverse. Under "no difference" each discordant pair is a fair coin flip, so
    p = P(Binomial(only_a + only_b, 1/2) at least as extreme), doubled and capped at 1.
    No discordant pairs gives p = 1.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError(f"discordant counts must be >= 0, got {only_a} and {only_b}")
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail, term = 0, 1  # term = C(n, i), kept as an exact integer
    for i in range(k + 1):
        tail += term
        term = term * (n - i) // (i + 1)
    # Python divides big integers with correct rounding, so this is exact to the last bit.
    return min(1.0, tail / 2 ** (n - 1))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)


# Latency histograms: log-spaced bins, `BINS_PER_DECADE` per factor of ten, bin b
# covering [10**(b/B), 10**((b+1)/B)) milliseconds. Episodes store sparse counts so
# a campaign's latency distribution can be merged exactly across workers.
BINS_PER_DECADE = 20


def latency_bin(ms: float) -> int:
    return math.floor(BINS_PER_DECADE * math.log10(max(ms, 1e-4)))


def bin_edges_ms(bin_index: int) -> tuple[float, float]:
    return 10 ** (bin_index / BINS_PER_DECADE), 10 ** ((bin_index + 1) / BINS_PER_DECADE)


def merge_histograms(histograms: Iterable[Iterable[Sequence[int]]]) -> dict[int, int]:
    """Sum sparse histograms given as [[bin, count], ...] lists."""
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bin_index, count in histogram:
            merged[int(bin_index)] = merged.get(int(bin_index), 0) + int(count)
    return dict(sorted(merged.items()))


def histogram_percentile(histogram: dict[int, int], q: float) -> float:
    """Approximate percentile (ms) of a merged histogram: the geometric centre of the bin holding it."""
    total = sum(histogram.values())
    if total == 0:
        return math.nan
    target = q / 100.0 * total
    seen = 0
    for bin_index, count in sorted(histogram.items()):
        seen += count
        if seen >= target:
            low, high = bin_edges_ms(bin_index)
            return math.sqrt(low * high)
    low, high = bin_edges_ms(max(histogram))
    return math.sqrt(low * high)
