"""The statistics of the unit atlas, on plain arrays: which unit tells the
labels apart (correlation, the best single threshold), what a probe on the
best units reads, and the factors (NMF) of the hidden states."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import NMF
from sklearn.linear_model import LogisticRegression

from sentiment.analysis.atlas_file import Atlas

TOP = 20  # top activating positions kept per unit and quantity (and per factor)
FACTORS = 8
PROBE_SIZES = (1, 2, 4, 8, 16)  # units the probe reads, best first (and then all)


def nonnegative(hidden: np.ndarray) -> np.ndarray:
    """Hidden states as the NMF reads them: [relu(h), relu(-h)] (they are signed; NMF wants no sign)."""
    return np.concatenate([np.maximum(hidden, 0), np.maximum(-hidden, 0)], axis=-1)


def factors_of(hidden: np.ndarray, where: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FACTORS NMF components of the sampled tokens (fewer for a layer of
    fewer features), and each one's TOP tokens (value, (review, position))."""
    x = nonnegative(hidden)
    nmf = NMF(n_components=min(FACTORS, *x.shape), init="nndsvda", max_iter=500, tol=1e-3, random_state=0)
    w = nmf.fit_transform(x)  # (tokens, FACTORS)
    top = np.argsort(-w, axis=0, kind="stable")[:TOP].T  # (FACTORS, TOP)
    where = np.asarray(where, "int64")[top]  # (FACTORS, TOP, 2)
    return nmf.components_.astype("float32"), np.take_along_axis(w.T, top, axis=1).astype("float32"), where


def factor_activations(atlas: Atlas, hidden: np.ndarray) -> np.ndarray:
    """Each token's activation of each factor, (tokens, FACTORS): the
    non-negative least squares fit of the atlas's components to its hidden
    state (what NMF's transform computes, token by token)."""
    from scipy.optimize import nnls  # SciPy comes with scikit-learn; only the app's factor view needs it

    basis = atlas.factors.T.astype("float64")  # (features, FACTORS)
    return np.stack([nnls(basis, row)[0] for row in nonnegative(hidden).astype("float64")])


def correlation(pooled: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(D, U): Pearson correlation of each unit's pooled value with the 0/1 label (point-biserial)."""
    x = pooled - pooled.mean(axis=1, keepdims=True)
    y = labels - labels.mean()
    return (x * y[None, :, None]).sum(1) / np.maximum(np.sqrt((x**2).sum(1) * (y**2).sum()), 1e-12)


def best_thresholds(values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``values`` (reviews, units): the threshold and sign
    (+1: positive above it; -1: positive below it) that classify ``labels``
    best, and that accuracy."""
    n = len(labels)
    order = np.argsort(values, axis=0, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=0)
    positives_below = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(labels[order], axis=0)])  # (n+1, U)
    below = np.arange(n + 1)[:, None]
    # Cut k: the first k reviews (lowest values) called negative under sign +1.
    accuracy_up = (below - positives_below + (labels.sum() - positives_below)) / n
    accuracy_down = 1 - accuracy_up
    best_up, best_down = accuracy_up.argmax(axis=0), accuracy_down.argmax(axis=0)
    up = accuracy_up.max(axis=0) >= accuracy_down.max(axis=0)
    cut = np.where(up, best_up, best_down)
    padded = np.vstack([sorted_values[:1] - 1, sorted_values, sorted_values[-1:] + 1])
    cols = np.arange(values.shape[1])
    threshold = (padded[cut, cols] + padded[cut + 1, cols]) / 2  # between the cut's two values
    return threshold, np.where(up, 1, -1).astype("int8"), np.maximum(accuracy_up.max(0), accuracy_down.max(0))


def threshold_accuracy(values: np.ndarray, labels: np.ndarray, threshold: np.ndarray, sign: np.ndarray) -> np.ndarray:
    predicted = (values > threshold) == (sign > 0)
    return (predicted == labels[:, None].astype(bool)).mean(axis=0)


def probe_curve(train_x, train_y, test_x, test_y, order: np.ndarray) -> dict[str, float]:
    """Test accuracy of a logistic regression on the best 1, 2, 4, 8, 16 units
    (in ``order``) and on all of them, fitted on the validation reviews."""
    out = {}
    for k in [*(k for k in PROBE_SIZES if k < train_x.shape[1]), train_x.shape[1]]:
        cols = order[:k]
        probe = LogisticRegression(max_iter=2000).fit(train_x[:, cols], train_y)
        out["all" if k == train_x.shape[1] else str(k)] = float(probe.score(test_x[:, cols], test_y))
    return out
