"""The paired tests (McNemar, bootstrap) and the NBSVM baseline, against hand-computed cases and scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from conftest import TINY_REVIEWS
from sentiment.evaluation.significance import (
    bootstrap_difference,
    compare,
    format_p,
    mcnemar_exact,
    mean_std,
    p_clause,
)


def outcomes(both: int, only_first: int, only_second: int, neither: int):
    """Per-review right/wrong of two models with these counts."""
    a = [True] * both + [True] * only_first + [False] * only_second + [False] * neither
    b = [True] * both + [False] * only_first + [True] * only_second + [False] * neither
    return np.array(a), np.array(b)


@pytest.mark.parametrize(
    "only_first,only_second,p",
    [
        (3, 1, 10 / 16),  # P(X <= 1 | n=4) = (1 + 4) / 16, doubled
        (10, 0, 2 / 1024),  # one tail of n=10 is 1/1024
        (0, 10, 2 / 1024),
        (5, 5, 1.0),  # twice a tail above 1/2 is capped at 1
        (0, 0, 1.0),  # nothing tells them apart
    ],
)
def test_mcnemar_by_hand(only_first, only_second, p):
    test = mcnemar_exact(*outcomes(50, only_first, only_second, 7))
    assert (test.only_first, test.only_second) == (only_first, only_second)
    assert test.p_value == pytest.approx(p, rel=1e-12)


@pytest.mark.parametrize("only_first,only_second", [(1, 2), (13, 27), (140, 101), (2000, 2110), (0, 3)])
def test_mcnemar_matches_scipys_exact_binomial_test(only_first, only_second):
    test = mcnemar_exact(*outcomes(100, only_first, only_second, 20))
    reference = stats.binomtest(only_first, only_first + only_second, 0.5).pvalue
    assert test.p_value == pytest.approx(reference, rel=1e-9)


def test_mcnemar_wants_one_outcome_per_review_from_each():
    with pytest.raises(ValueError, match="3 and 2 outcomes"):
        mcnemar_exact([True, False, True], [True, False])


def test_bootstrap_of_identical_or_opposite_models():
    a, _ = outcomes(40, 0, 0, 10)
    assert bootstrap_difference(a, a) == (0.0, 0.0, 0.0)
    right, wrong = outcomes(0, 30, 0, 0)
    assert bootstrap_difference(right, wrong) == (1.0, 1.0, 1.0)


def test_bootstrap_interval_by_hand():
    """Three reviews, one won by the first model: a resample's difference is k/3, k ~ Binomial(3, 1/3).
    P(k = 0) = 8/27 > 2.5% and P(k = 3) = 1/27 > 2.5%, so the 95% interval is [0, 1]."""
    a, b = outcomes(1, 1, 0, 1)
    difference, low, high = bootstrap_difference(a, b, seed=3)
    assert difference == pytest.approx(1 / 3) and (low, high) == (0.0, 1.0)


def test_bootstrap_interval_matches_the_normal_approximation_on_many_reviews():
    """10,000 reviews, 10% won by the first model, 5% by the second: the difference has a standard
    error of sqrt((0.15 - 0.05**2) / 10,000), and the interval is about +-1.96 of them."""
    a, b = outcomes(8000, 1000, 500, 500)
    difference, low, high = bootstrap_difference(a, b, samples=4000, seed=1)
    se = math.sqrt((0.15 - 0.05**2) / 10_000)
    assert difference == pytest.approx(0.05)
    assert (high - low) / 2 == pytest.approx(1.96 * se, rel=0.1)
    assert low < difference < high


def test_compare_and_its_sentence():
    labels = np.array([1, 0] * 50)
    first = np.where(labels == 1, 0.9, 0.1)  # all right
    second = first.copy()
    second[:4] = 1 - second[:4]  # 4 wrong
    c = compare("lstm", "gru", labels, first, second)
    assert (c.n, c.accuracy_first, c.accuracy_second, c.only_first, c.only_second) == (100, 1.0, 0.96, 4, 0)
    assert c.difference == pytest.approx(0.04) and c.p_value == pytest.approx(2 / 16)
    assert not c.significant
    assert c.sentence("LSTM", "GRU").startswith("LSTM vs GRU: +4.00 points, 95% CI [+")
    assert c.sentence("LSTM", "GRU").endswith("p = 0.12: no significant difference.")
    second[:10] = 1 - np.where(labels[:10] == 1, 0.9, 0.1)
    c = compare("lstm", "gru", labels, first, second)
    assert c.significant and c.sentence().endswith("p = 0.002: lstm is better (p < 0.05).")


def test_p_values_read_plainly():
    assert [format_p(p) for p in (0.6632, 0.0312, 0.00314, 2e-7)] == ["0.66", "0.03", "0.0031", "< 0.0001"]
    assert p_clause(0.5) == "p = 0.50" and p_clause(1e-9) == "p < 0.0001"


def test_mean_and_sample_std():
    assert mean_std([0.9, 0.8]) == pytest.approx((0.85, math.sqrt(0.005)))
    assert mean_std([0.9]) == (0.9, None)


def test_nb_ratio_by_hand():
    from sentiment.training.baselines import nb_ratio

    x = np.array([[1, 0], [1, 1], [0, 1]])
    r = nb_ratio(x, np.array([1, 1, 0]), alpha=1.0)
    # p = 1 + [2, 1], q = 1 + [0, 1]; r = log((p / 5) / (q / 3))
    assert r == pytest.approx([math.log(0.6 / (1 / 3)), math.log(0.4 / (2 / 3))])
    with pytest.raises(ValueError, match="both classes"):
        nb_ratio(x, np.array([1, 1, 1]))


def test_nbsvm_learns_the_tiny_reviews():
    from sentiment.training.baselines import nbsvm_baseline

    texts = [t for t, _ in TINY_REVIEWS] * 3
    labels = np.array([y for _, y in TINY_REVIEWS] * 3)
    result, probs = nbsvm_baseline(texts, labels, texts, labels, texts, seed=0)
    assert np.mean((probs >= 0.5) == labels) == 1.0 and result.val_accuracy == 1.0
    assert probs.shape == (len(texts),) and np.all((probs >= 0) & (probs <= 1))
    assert result.name.startswith("NBSVM") and result.parameters == result.features + 1
