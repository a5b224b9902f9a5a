"""Paired statistics: intervals that cover, verdicts that follow the evidence, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.stats import (
    block_bootstrap_means,
    default_block_length,
    paired_difference,
    sign_test_p,
)


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0]
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_identical_methods_have_no_difference() -> None:
    base = np.random.default_rng(0).uniform(0, 2, 50)
    res = paired_difference(base.copy(), base)
    assert res.verdict == "no reliable difference" and res.p_value == 1.0
    assert res.ties == 50 and res.wins == res.losses == 0
    assert res.mean_difference == res.ci_low == res.ci_high == 0.0
    assert res.relative == pytest.approx(1.0)


@pytest.mark.parametrize(("shift", "verdict"), [(-0.5, "better"), (0.5, "worse")])
def test_a_clear_shift_gets_its_verdict_and_an_interval_around_it(shift: float, verdict: str) -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(1, 3, 300)
    method = base + shift + rng.normal(0, 0.3, 300)
    res = paired_difference(method, base, seed=3)
    assert res.verdict == verdict and res.p_value < 1e-6
    assert res.ci_low < shift < res.ci_high and res.ci_high - res.ci_low < 0.2
    assert res.block_length == default_block_length(300) == 7
    assert (res.wins > res.losses) == (shift < 0)


def test_block_bootstrap_keeps_its_level_on_correlated_decisions_where_the_iid_one_does_not() -> None:
    """With strongly autocorrelated differences and no true effect, block intervals cover zero far more often."""
    rng = np.random.default_rng(7)
    covered = {"block": 0, "iid": 0}
    reps = 150
    for _ in range(reps):
        d = _ar1(rng, 240, 0.8)
        base = np.full(240, 5.0)
        blk = paired_difference(base + d, base, block_length=24, n_boot=400, seed=int(rng.integers(1 << 30)))
        iid = paired_difference(base + d, base, time_ordered=False, n_boot=400, seed=int(rng.integers(1 << 30)))
        covered["block"] += blk.ci_low <= 0 <= blk.ci_high
        covered["iid"] += iid.ci_low <= 0 <= iid.ci_high
    assert covered["block"] / reps >= 0.85
    assert covered["iid"] / reps <= 0.75
    assert covered["block"] > covered["iid"] + 0.15 * reps


def test_moving_blocks_resample_contiguous_runs() -> None:
    d = np.arange(100, dtype=float)
    means = block_bootstrap_means(d, 100, 10, np.random.default_rng(0))
    assert np.allclose(means, d.mean())  # one block of the whole series: every resample is the series
    means = block_bootstrap_means(d, 1, 5000, np.random.default_rng(0))
    assert abs(means.mean() - d.mean()) < 0.5 and means.std() > 1.0


def test_two_large_wins_among_ties_are_not_a_reliable_difference() -> None:
    """Two large wins among many ties: the mean moves but the signed-rank test cannot be sure."""
    base = np.ones(40)
    method = base.copy()
    method[[5, 30]] -= 5.0
    res = paired_difference(method, base, time_ordered=False, seed=0)
    assert res.p_value > 0.05 and res.verdict == "no reliable difference"


def test_sentence_states_the_numbers() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(1, 2, 100)
    res = paired_difference(base - 0.3, base)
    text = res.sentence(unit="vehicle-minutes")
    assert "lowers regret by 0.3 vehicle-minutes" in text and "95% interval" in text and "100 paired" in text
    assert res.to_dict()["verdict"] == "better"


@pytest.mark.parametrize(
    ("a", "b", "kw", "needle"),
    [
        (np.ones(3), np.ones(4), {}, "pair them"),
        (np.ones(1), np.ones(1), {}, "at least 2"),
        (np.array([1.0, np.nan]), np.ones(2), {}, "finite"),
        (np.ones(5), np.ones(5), {"n_boot": 10}, "n_boot"),
        (np.ones(5), np.ones(5), {"level": 1.5}, "level"),
    ],
)
def test_bad_input_is_named(a: np.ndarray, b: np.ndarray, kw: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        paired_difference(a, b, **kw)


def test_sign_test() -> None:
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(10, 10) == pytest.approx(1.0)
    assert sign_test_p(66, 14) < 1e-6
