"""Scoring a run's models and baselines on the test reviews: shared by
training (`sentiment.cli.train`) and re-evaluation (`sentiment.cli.evaluate`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from sentiment.data.splits import Split
from sentiment.evaluation.metrics import classification_metrics
from sentiment.evaluation.results import BaselineResult
from sentiment.training.baselines import BASELINES, refit


def score_baseline(
    key: str, train: Split, val: Split, test: Split, seed: int, lengths: np.ndarray
) -> tuple[BaselineResult, np.ndarray]:
    """Baseline ``key`` fitted on ``train`` (C chosen on ``val``), scored on
    ``test``: its figures and its P(positive) for each test review."""
    result, probs, _ = score_baseline_also(key, train, val, test, seed, lengths)
    return result, probs


def score_baseline_also(
    key: str, train: Split, val: Split, test: Split, seed: int, lengths: np.ndarray, also: Sequence[list[str]] = ()
) -> tuple[BaselineResult, np.ndarray, list[np.ndarray]]:
    """`score_baseline`, and the same fitted model's P(positive) for each list
    of texts in ``also`` (SST's sentences): one fit, read on every set."""
    # The texts go in as one test set and come out cut apart: the baselines
    # fit on training texts alone, so the other texts change nothing.
    texts = [*test.texts, *(t for part in also for t in part)]
    fitted, probs = BASELINES[key](train.texts, train.labels, val.texts, val.labels, texts, seed)
    cuts = np.cumsum([len(test), *(len(part) for part in also)])
    test_probs, *others = np.split(probs, cuts[:-1])
    result = BaselineResult(test=classification_metrics(test.labels, test_probs, lengths), **asdict(fitted))
    return result, test_probs, others


def refit_baseline_on(key: str, recorded: BaselineResult, train: Split, val: Split, seed: int, also) -> list:
    """A run's baseline fitted again with the C it chose, checked by its
    validation accuracy (``ValueError`` where it differs: other data), and its
    P(positive) for each list of texts in ``also``."""
    fitted = refit(key, train.texts, train.labels, recorded.C, seed)
    val_accuracy = float(np.mean(fitted.predict(list(val.texts)) == np.asarray(val.labels)))
    if abs(val_accuracy - recorded.val_accuracy) > 1e-9:
        raise ValueError(
            f"{key} baseline: validation accuracy {val_accuracy:.5f} when fitted again, {recorded.val_accuracy:.5f} "
            "in metrics.json: not the data the run was trained on; pass its --data."
        )
    return [fitted.predict_proba(list(texts))[:, 1] for texts in also]
