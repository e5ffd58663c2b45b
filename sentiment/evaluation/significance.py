"""Is one classifier better than another on the same test reviews, or is it noise?

Two paired views of the same question, both on the per-review right/wrong of
two models on one test set:

- McNemar's exact test: of the reviews exactly one model gets right (``b``
  for the first, ``c`` for the second), would a fair coin split them this
  unevenly? Under "no difference" ``b ~ Binomial(b + c, 1/2)``; the two-sided
  p-value is twice the smaller tail, capped at 1 (the exact test, not the
  chi-squared approximation, so small counts are right too).
- A paired bootstrap of the accuracy difference: resample the test reviews
  with replacement, keeping each review's pair of outcomes together, and read
  the 2.5th and 97.5th percentiles of the difference (a 95% interval).

And, over repeated training runs of one cell, the mean and the sample
standard deviation of a figure (run-to-run noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05  # "significant" below this p-value, and 95% intervals
BOOTSTRAP_SAMPLES = 10_000
_CHUNK = 250  # bootstrap resamples drawn at once (25k reviews x 250 int64 = 50 MB)


@dataclass
class McNemar:
    only_first: int  # reviews only the first model gets right ("b")
    only_second: int  # reviews only the second model gets right ("c")
    p_value: float


@dataclass
class Comparison:
    """Model ``first`` against model ``second`` on the same test reviews."""

    first: str
    second: str
    n: int  # test reviews
    accuracy_first: float
    accuracy_second: float
    difference: float  # accuracy_first - accuracy_second
    ci_low: float  # 95% paired-bootstrap interval of the difference
    ci_high: float
    only_first: int  # McNemar's discordant counts
    only_second: int
    p_value: float  # McNemar's exact test, two-sided

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def sentence(self, first: str | None = None, second: str | None = None) -> str:
        """'LSTM vs GRU: +0.09 points, 95% CI [-0.31, +0.49], p = 0.66: no significant difference.'"""
        first, second = first or self.first, second or self.second
        if self.significant:
            better = first if self.difference > 0 else second
            verdict = f"{better} is better (p < {ALPHA:g})"
        else:
            verdict = "no significant difference"
        return (
            f"{first} vs {second}: {100 * self.difference:+.2f} points, 95% CI "
            f"[{100 * self.ci_low:+.2f}, {100 * self.ci_high:+.2f}], {p_clause(self.p_value)}: {verdict}."
        )


def format_p(p: float) -> str:
    """Two significant figures, and no false precision for tiny values: "0.66", "0.0031", "< 0.0001"."""
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.2f}"


def p_clause(p: float) -> str:
    """ "p = 0.66" or "p < 0.0001"."""
    text = format_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _correct(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return (np.asarray(probs) >= 0.5).astype(int) == np.asarray(labels).astype(int)


def mcnemar_exact(correct_first: np.ndarray, correct_second: np.ndarray) -> McNemar:
    """McNemar's exact (binomial) test on two models' per-review right/wrong.

    Args:
        correct_first, correct_second: booleans, one per review, same order.

    Returns:
        The discordant counts and the two-sided p-value (1.0 when no review
        is discordant: nothing tells the models apart).
    """
    a, b = np.asarray(correct_first, bool), np.asarray(correct_second, bool)
    if a.shape != b.shape:
        raise ValueError(f"mcnemar_exact: {a.shape[0]} and {b.shape[0]} outcomes; pass one per review for both models")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = only_a + only_b
    if n == 0:
        return McNemar(only_a, only_b, 1.0)
    k = min(only_a, only_b)
    # P(X <= k) for X ~ Binomial(n, 1/2), summed in log space: exact for any n.
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(x - top) for x in logs)
    return McNemar(only_a, only_b, min(1.0, 2 * tail))


def bootstrap_difference(
    correct_first: np.ndarray,
    correct_second: np.ndarray,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    level: float = 1 - ALPHA,
) -> tuple[float, float, float]:
    """Paired bootstrap of the accuracy difference (first - second).

    Returns:
        (difference on the whole set, lower, upper end of the ``level`` percentile interval).
    """
    a, b = np.asarray(correct_first, bool), np.asarray(correct_second, bool)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"bootstrap_difference: needs one outcome per review for both models, got {a.size} and {b.size}"
        )
    diff = a.astype(np.int8) - b.astype(np.int8)  # -1, 0, +1 per review
    rng = np.random.default_rng(seed)
    n, out = diff.size, []
    for start in range(0, samples, _CHUNK):
        m = min(_CHUNK, samples - start)
        out.append(diff[rng.integers(0, n, size=(m, n))].mean(axis=1))
    means = np.concatenate(out)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diff.mean()), float(low), float(high)


def compare(
    first: str, second: str, labels: np.ndarray, probs_first: np.ndarray, probs_second: np.ndarray, seed: int = 0
) -> Comparison:
    """Both tests for two models' P(positive) on the same labelled reviews."""
    a, b = _correct(labels, probs_first), _correct(labels, probs_second)
    test = mcnemar_exact(a, b)
    difference, low, high = bootstrap_difference(a, b, seed=seed)
    return Comparison(
        first=first,
        second=second,
        n=int(a.size),
        accuracy_first=float(a.mean()),
        accuracy_second=float(b.mean()),
        difference=difference,
        ci_low=low,
        ci_high=high,
        only_first=test.only_first,
        only_second=test.only_second,
        p_value=test.p_value,
    )


def mean_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n - 1); no deviation from one run."""
    x = np.asarray(values, float)
    return float(x.mean()), (float(x.std(ddof=1)) if x.size > 1 else None)
