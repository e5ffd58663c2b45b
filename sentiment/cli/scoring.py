"""Scoring a run's models and baselines on the test reviews: shared by
training (`sentiment.cli.train`) and re-evaluation (`sentiment.cli.evaluate`)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from sentiment.data.batches import token_ids
from sentiment.data.splits import Split
from sentiment.evaluation.metrics import classification_metrics
from sentiment.evaluation.predictions import predict_token_ids
from sentiment.evaluation.results import BaselineResult
from sentiment.network.model import classifier_of, text_to_ids
from sentiment.training.baselines import BASELINES


def score_baseline(
    key: str, train: Split, val: Split, test: Split, seed: int, lengths: np.ndarray
) -> tuple[BaselineResult, np.ndarray]:
    """Baseline ``key`` fitted on ``train`` (C chosen on ``val``), scored on
    ``test``: its figures and its P(positive) for each test review."""
    fitted, probs = BASELINES[key](train.texts, train.labels, val.texts, val.labels, test.texts, seed)
    return BaselineResult(test=classification_metrics(test.labels, probs, lengths), **asdict(fitted)), probs


def predict_texts(model, texts) -> np.ndarray:
    """A full model's P(positive) for each of ``texts`` (a list, or a streamed table's texts)."""
    return predict_token_ids(classifier_of(model), token_ids(texts, text_to_ids(model)))
