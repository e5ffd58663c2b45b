"""Test-set figures: accuracy, F1, ROC-AUC, the confusion matrix, the
accuracy by review length; and, for a run's models together, their
ensembles and the paired tests between them."""

from __future__ import annotations

import numpy as np
from sklearn import metrics

from sentiment.evaluation.results import ClassificationMetrics, EnsembleResult, LengthBucket, RunMetrics, run_name
from sentiment.evaluation.significance import compare

# Upper ends of the review-length buckets, in tokens (the models read 800 by default).
LENGTH_EDGES = (100, 200, 400, 800)


def length_labels(edges=LENGTH_EDGES) -> list[str]:
    lows = [0, *edges]
    return [f"<={edges[0]}", *(f"{lo + 1}-{hi}" for lo, hi in zip(lows[1:], edges[1:])), f">{edges[-1]}"]


def accuracy_by_length(
    labels: np.ndarray, probs: np.ndarray, lengths: np.ndarray, edges=LENGTH_EDGES
) -> list[LengthBucket]:
    """Accuracy in each length bucket (``lengths`` in tokens), with its count."""
    labels, lengths = np.asarray(labels), np.asarray(lengths)
    bucket = np.searchsorted(np.asarray(edges), lengths, side="left")  # length <= edge[i] -> bucket i
    correct = (np.asarray(probs) >= 0.5).astype(int) == labels
    out = []
    for i, label in enumerate(length_labels(edges)):
        n = int(np.sum(bucket == i))
        out.append(LengthBucket(label, n, float(correct[bucket == i].mean()) if n else None))
    return out


def classification_metrics(
    labels: np.ndarray, probs: np.ndarray, lengths: np.ndarray | None = None
) -> ClassificationMetrics:
    """Accuracy, precision, recall, F1, ROC-AUC, the confusion matrix and,
    given each review's length in tokens, the accuracy by length."""
    pred = (probs >= 0.5).astype(int)
    return ClassificationMetrics(
        accuracy=float(metrics.accuracy_score(labels, pred)),
        precision=float(metrics.precision_score(labels, pred, zero_division=0)),
        recall=float(metrics.recall_score(labels, pred, zero_division=0)),
        f1=float(metrics.f1_score(labels, pred, zero_division=0)),
        roc_auc=float(metrics.roc_auc_score(labels, probs)) if len(set(labels)) > 1 else None,
        # rows: true neg/pos; columns: predicted neg/pos
        confusion_matrix=metrics.confusion_matrix(labels, pred, labels=[0, 1]).tolist(),
        n=int(len(labels)),
        by_length=[] if lengths is None else accuracy_by_length(labels, probs, lengths),
    )


def add_comparisons(summary: RunMetrics, labels: np.ndarray, probs: dict[str, np.ndarray], lengths=None) -> None:
    """Fills ``summary.ensembles`` and ``summary.comparisons`` from the test predictions.

    Ensembles (the mean P(positive)): of the kept model of each cell, and, when
    a cell was trained more than once, of every run. Paired tests (McNemar's
    exact test and a bootstrap 95% interval of the accuracy difference): each
    pair of kept models, each kept model and ensemble against each baseline.

    Args:
        summary: the run; its models, runs and baselines name the keys of ``probs``.
        labels: the test labels, in the order of ``probs``.
        probs: P(positive) per test review, by name (cells, runs, baselines).
        lengths: each test review's length in tokens, for the ensembles' accuracy by length.
    """
    labels = np.asarray(labels)
    seed = int(summary.options.get("seed", 0))
    cells = [c for c in summary.models if c in probs]
    summary.ensembles = {}
    if len(cells) > 1:
        summary.ensembles["ensemble"] = EnsembleResult(cells, _mean_test(labels, probs, cells, lengths))
    every = [run_name(c, r.seed) for c in cells for r in summary.runs.get(c, []) if r.seed is not None]
    every = [name for name in every if name in probs]
    if len(every) > len(cells):
        summary.ensembles["ensemble_all"] = EnsembleResult(every, _mean_test(labels, probs, every, lengths))
    ensembled = {name: np.mean([probs[m] for m in e.members], axis=0) for name, e in summary.ensembles.items()}
    baselines = [b for b in summary.baselines if b in probs]
    pairs = [(a, b) for i, a in enumerate(cells) for b in cells[i + 1 :]]
    pairs += [(a, b) for a in [*cells, *ensembled] for b in baselines]
    both = {**probs, **ensembled}
    summary.comparisons = [compare(a, b, labels, both[a], both[b], seed=seed) for a, b in pairs]


def _mean_test(labels, probs, members, lengths) -> ClassificationMetrics:
    return classification_metrics(labels, np.mean([probs[m] for m in members], axis=0), lengths)
