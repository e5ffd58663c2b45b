"""Soft training targets from a bag-of-n-grams teacher (knowledge distillation).

NBSVM reads word 1-3 grams and beats our recurrent models on IMDB by about a
point (docs/model_choices.md, round 4). Distillation (Hinton, Vinyals and Dean
2015) hands some of what it knows to a recurrent student without changing the
student: each training review's target becomes

    (1 - weight) * label + weight * P_teacher(positive | review)

so the student learns which reviews the n-grams find clear and which
ambiguous, and still one model of our cells is what gets saved.

The teacher must not have seen the review it scores: on its own training
reviews NBSVM is almost always right and sure, which would teach nothing but
the labels. So its probabilities are out-of-fold: the training reviews are cut
into ``folds`` parts and each part is scored by an NBSVM fitted on the others.
Only the training reviews are used (never validation or test), so the student
is still trained on the labeled training set alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np

from sentiment.baselines import NBSVM_C, logistic_regression, nbsvm_features

FOLDS = 5
MAX_WEIGHT = 0.5  # below it the label keeps the majority: round(target) is the label


@dataclass
class Teacher:
    """Out-of-fold NBSVM probabilities of the training reviews and how good they are."""

    probs: np.ndarray  # P(positive) per training review, from a model that did not see it
    C: float  # NBSVM's regularisation, chosen on out-of-fold accuracy
    accuracy: float  # out-of-fold accuracy with that C
    folds: int
    seconds: float

    def figures(self) -> dict:
        """What metrics.json keeps of it: everything but the probabilities."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "probs"}


def out_of_fold_nbsvm(texts: list[str], labels: np.ndarray, folds: int = FOLDS, seed: int = 1337) -> Teacher:
    """NBSVM's P(positive) for each training review, each from the folds that leave it out.

    Args:
        texts: the training reviews.
        labels: 0/1 per review.
        folds: how many parts (each review is scored by a model fitted on the other ``folds - 1``).
        seed: shuffles the reviews into folds.

    Returns:
        A `Teacher`; C is the one of ``NBSVM_C`` with the best out-of-fold accuracy.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels).astype(int)
    if folds < 2:
        raise ValueError(f"out_of_fold_nbsvm: needs at least 2 folds, got folds={folds}")
    per_class = np.bincount(labels, minlength=2)
    if per_class.min() < folds:
        raise ValueError(
            f"out_of_fold_nbsvm: each class needs at least {folds} reviews for {folds} folds "
            f"(got {per_class.tolist()} negative/positive)"
        )
    start = time.perf_counter()
    probs = {c: np.zeros(len(labels)) for c in NBSVM_C}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, score_rows in splitter.split(np.zeros(len(labels)), labels):
        x_fit, x_score = nbsvm_features([texts[i] for i in fit_rows], labels[fit_rows], [texts[i] for i in score_rows])
        for c in NBSVM_C:
            clf = logistic_regression(c, seed).fit(x_fit, labels[fit_rows])
            probs[c][score_rows] = clf.predict_proba(x_score)[:, 1]
    accuracy = {c: float(np.mean((p > 0.5) == labels)) for c, p in probs.items()}
    best = max(NBSVM_C, key=lambda c: accuracy[c])
    return Teacher(probs[best], best, accuracy[best], folds, round(time.perf_counter() - start, 1))


def soft_targets(labels: np.ndarray, teacher_probs: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * labels + weight * teacher_probs``, float32.

    ``weight`` must be in [0, 0.5): the label keeps the larger share, so a
    target is always on its label's side of 0.5 (training accuracy reads the
    label back by rounding) and a wrong teacher can only soften it.
    """
    if not 0 <= weight < MAX_WEIGHT:
        raise ValueError(f"soft_targets: weight must be in [0, {MAX_WEIGHT}), got {weight}")
    labels, teacher_probs = np.asarray(labels, "float64"), np.asarray(teacher_probs, "float64")
    if labels.shape != teacher_probs.shape:
        raise ValueError(
            f"soft_targets: one teacher probability per label, got {teacher_probs.shape} for {labels.shape}"
        )
    return ((1 - weight) * labels + weight * teacher_probs).astype("float32")
