"""Bag-of-n-grams baselines the recurrent models must beat, on the same split.

- ``tfidf``: TF-IDF of word 1-2 grams + logistic regression.
- ``nbsvm``: Wang and Manning (2012), "Baselines and Bigrams": binarised word
  1-3 gram features scaled by their naive-Bayes log-count ratio
  ``r = log((p/|p|₁) / (q/|q|₁))`` (``p``, ``q``: feature counts in positive
  and negative training reviews plus a smoothing ``alpha``), then a linear
  model. Theirs is an SVM interpolated with the NB weights; the logistic
  regression used here on the same scaled features (as in Mesnil et al. 2015's
  re-implementation) gives probabilities too and reads about the same
  (91.2-91.9% in the literature on IMDB).

Each is built from scikit-learn parts, with its regularisation strength
chosen on the validation split (never on test), and returns what it is with
its test P(positive), which the run scores like the recurrent models' and
joins to the paired significance tests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

# Validation picks one of these inverse regularisation strengths.
TFIDF_C = (1.0, 4.0, 16.0)
NBSVM_C = (0.1, 0.3, 1.0)
NB_ALPHA = 1.0  # add-one smoothing of the NB counts
# Keep "!" and "?" (and words with apostrophes) as tokens: "not good!" carries signal a bare \w+ loses.
_TOKEN = r"(?u)[\w']+|[!?]"
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _clean(text: str) -> str:
    return _BR.sub(" ", text)


def logistic_regression(c: float, seed: int):
    """The (unfitted) logistic regression every bag-of-n-grams model here uses, of strength ``c``."""
    return LogisticRegression(C=c, max_iter=2000, random_state=seed)


@dataclass
class BaselineFit:
    """A fitted bag-of-n-grams model: what it is and what validation chose."""

    name: str  # what it is, for tables
    C: float  # chosen on validation
    val_accuracy: float
    features: int
    parameters: int
    train_seconds: float


def _fit_logistic(x_train, y_train, x_val, y_val, grid, seed: int):
    """The logistic regression of ``grid``'s C with the best validation accuracy: (val_acc, C, model)."""
    best = None
    for c in grid:
        clf = logistic_regression(c, seed).fit(x_train, y_train)
        val_acc = float(np.mean(clf.predict(x_val) == np.asarray(y_val)))
        if best is None or val_acc > best[0]:
            best = (val_acc, c, clf)
    return best


def tfidf_baseline(
    train_texts, train_labels, val_texts, val_labels, test_texts, seed: int
) -> tuple[BaselineFit, np.ndarray]:
    """TF-IDF of word 1-2 grams + logistic regression; C chosen on validation.

    Returns:
        What was fitted, and its P(positive) for each test review.
    """
    start = time.perf_counter()
    vectorizer = _tfidf_vectorizer()
    x_train = vectorizer.fit_transform(train_texts)
    x_val, x_test = vectorizer.transform(val_texts), vectorizer.transform(test_texts)
    return _result(
        "TF-IDF word 1-2 grams + logistic regression",
        _fit_logistic(x_train, train_labels, x_val, val_labels, TFIDF_C, seed),
        x_test,
        start,
    )


def nb_ratio(x, labels: np.ndarray, alpha: float = NB_ALPHA) -> np.ndarray:
    """The naive-Bayes log-count ratio of each feature column of ``x`` (binarised counts).

    Args:
        x: (reviews, features) counts, dense or scipy sparse.
        labels: 0/1 per review.

    Returns:
        r, one value per feature: > 0 for features commoner in positive reviews.
    """
    labels = np.asarray(labels)
    if set(np.unique(labels)) != {0, 1}:
        raise ValueError(f"nb_ratio: needs reviews of both classes, got labels {sorted(set(labels.tolist()))}")
    p = alpha + np.asarray(x[labels == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[labels == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def nbsvm_features(fit_texts, fit_labels, *other_texts):
    """NBSVM's features: binarised word 1-3 gram counts (vocabulary and NB ratio
    from ``fit_texts`` alone) times their NB log-count ratio.

    Returns:
        The scaled sparse features of ``fit_texts``, then of each of ``other_texts``.
    """
    vectorizer = _nbsvm_vectorizer()
    x_fit = vectorizer.fit_transform(fit_texts)
    r = nb_ratio(x_fit, fit_labels)
    return tuple(x.multiply(r).tocsr() for x in (x_fit, *(vectorizer.transform(t) for t in other_texts)))


def _tfidf_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")


def _nbsvm_vectorizer() -> CountVectorizer:
    return CountVectorizer(ngram_range=(1, 3), min_df=2, binary=True, token_pattern=_TOKEN, preprocessor=_lower_clean)


def _lower_clean(text: str) -> str:
    return _clean(text).lower()


class NBScaling(TransformerMixin, BaseEstimator):
    """NBSVM's scaling as a pipeline step: each feature times its NB log-count ratio (`nb_ratio`)."""

    def fit(self, x, y):
        self.r_ = nb_ratio(x, y)
        return self

    def transform(self, x):
        return x.multiply(self.r_).tocsr()


def refit(name: str, texts, labels, c: float, seed: int) -> Pipeline:
    """A baseline of ``BASELINES`` fitted again (texts in, ``predict_proba`` out),
    with the C a run chose on validation: for scoring it on new texts (the
    runs keep their baselines' test predictions, not the fitted models)."""
    steps = {"tfidf": [_tfidf_vectorizer()], "nbsvm": [_nbsvm_vectorizer(), NBScaling()]}
    if name not in steps:
        raise ValueError(f"Unknown baseline {name!r}; the baselines are {sorted(steps)}")
    return make_pipeline(*steps[name], logistic_regression(c, seed)).fit(list(texts), np.asarray(labels))


def nbsvm_baseline(
    train_texts, train_labels, val_texts, val_labels, test_texts, seed: int
) -> tuple[BaselineFit, np.ndarray]:
    """NBSVM (Wang and Manning 2012) over word 1-3 grams; C chosen on validation.

    Returns:
        What was fitted, and its P(positive) for each test review.
    """
    start = time.perf_counter()
    x_train, x_val, x_test = nbsvm_features(train_texts, train_labels, val_texts, test_texts)
    return _result(
        "NBSVM: NB-scaled word 1-3 grams + logistic regression",
        _fit_logistic(x_train, train_labels, x_val, val_labels, NBSVM_C, seed),
        x_test,
        start,
    )


def _result(name: str, best, x_test, start: float) -> tuple[BaselineFit, np.ndarray]:
    val_acc, c, clf = best
    features = int(x_test.shape[1])
    fitted = BaselineFit(name, c, float(val_acc), features, features + 1, round(time.perf_counter() - start, 1))
    return fitted, clf.predict_proba(x_test)[:, 1]


# Name in metrics.json and test_predictions.npz -> how it is fitted.
BASELINES: dict[str, Callable[..., tuple[BaselineFit, np.ndarray]]] = {
    "tfidf": tfidf_baseline,
    "nbsvm": nbsvm_baseline,
}
