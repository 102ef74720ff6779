"""Wilson intervals and the exact McNemar test against published and hand-computed values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.evaluation.stats import (
    histogram_percentile,
    latency_bin,
    mcnemar_exact,
    merge_histograms,
    percentile,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "episodes", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # Values also given by R's binom::binom.confint(method = "wilson").
        (8, 10, 0.4902, 0.9433),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(successes: int, episodes: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(successes, episodes)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_interval_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    wide, narrow = wilson_interval(5, 10, 0.99), wilson_interval(5, 10, 0.90)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]
    with pytest.raises(ValueError, match="successes=11"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=1.5)


@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_contains_the_rate(pair: tuple[int, int]) -> None:
    successes, episodes = pair
    low, high = wilson_interval(successes, episodes)
    rate = successes / episodes if episodes else 0.5
    assert 0.0 <= low <= rate <= high <= 1.0


@pytest.mark.parametrize(
    ("only_a", "only_b", "p_value"),
    [
        (0, 0, 1.0),
        (5, 5, 1.0),
        (0, 5, 0.0625),  # 2 / 2**5
        (1, 9, 0.021484375),  # 2 * (1 + 10) / 2**10
        (2, 8, 0.109375),  # 2 * (1 + 10 + 45) / 2**10
        (3, 11, 0.057373046875),  # 2 * 470 / 2**14
        (10, 0, 0.001953125),  # 2 / 2**10
        (0, 1, 1.0),
    ],
)
def test_mcnemar_exact_matches_the_binomial(only_a: int, only_b: int, p_value: float) -> None:
    assert mcnemar_exact(only_a, only_b) == pytest.approx(p_value, rel=1e-12)
    assert mcnemar_exact(only_b, only_a) == mcnemar_exact(only_a, only_b)


def test_mcnemar_exact_is_exact_for_large_counts() -> None:
    # Too many pairs for float binomial coefficients; the tail is still a valid, tiny probability.
    p_value = mcnemar_exact(3000, 3300)
    assert p_value == pytest.approx(1.6475607669748363e-4, rel=1e-9)  # scipy.stats.binomtest(3000, 6300)
    assert 0.0 <= mcnemar_exact(0, 5000) < 1e-300  # 2 / 2**5000 underflows cleanly, no error
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_percentiles_and_histograms() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert math.isnan(percentile([], 50))
    values = [0.5] * 90 + [20.0] * 10
    histogram = merge_histograms([[[latency_bin(v), 1]] for v in values])
    assert sum(histogram.values()) == 100
    assert histogram_percentile(histogram, 50) == pytest.approx(0.5, rel=0.13)  # one bin is 12% wide
    assert histogram_percentile(histogram, 99) == pytest.approx(20.0, rel=0.13)
