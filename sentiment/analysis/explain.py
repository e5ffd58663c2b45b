"""Why a model said what it said: which words and which units decided it.

- `integrated_gradients`: each token's share of P(positive) - P(baseline)
  (Sundararajan, Taly and Yan 2017), on the word vectors, with the padding
  vector at every position as the baseline ("a review of nothing"). The shares
  add up to that difference ("completeness"); the gap is reported, and the
  number of steps doubles until it is under `COMPLETENESS_TOLERANCE`.
- `occlusion`: each word (in a long review, each span of words) dropped from
  the review in turn, the change in P(positive): an independent second view
  that needs no gradients. Dropping every word of an 800-token review one at a
  time means 800 passes over 799 tokens (seconds a model), so a review of
  more than `OCCLUSION_VARIANTS` tokens is cut into that many spans of
  consecutive tokens instead.
- `unit_contributions`: each unit of the last recurrent layer, per
  direction, ranked by gradient x activation of the logit, summed over the
  tokens. With the model's max-and-mean pooling and a linear head this sum is
  exact: the units' contributions add up to the logit less the head's bias.

`explain`, what the app runs, computes all three in one compiled pass
(`sentiment.analysis.passes.Passes.explain`: the path's 17 points and the 32 occlusion
variants as one batch, forward, then back-propagation through time for the
path's rows; the units from the same pass): a fraction of the time of the
three separate functions (docs/benchmark.md). The separate functions read the
model through sub-models of the saved model itself (no layer is
re-implemented), through Keras's own time loop, on the review's own tokens,
unpadded: they are the reference the tests hold `explain` to, and what
`explain` falls back on for a model the compiled pass does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from sentiment.analysis.passes import IG_FIRST_STEPS, OCCLUSION_VARIANTS
from sentiment.analysis.reader import ModelReader, logit, reader_of

COMPLETENESS_TOLERANCE = 0.05  # |sum of attributions - (P(x) - P(baseline))| / |P(x) - P(baseline)|
IG_STEPS = tuple(IG_FIRST_STEPS * 2**k for k in range(5))  # 16 to 256, tried in turn until complete enough
CHUNK = 128  # sequences per forward pass in batched work


@dataclass
class Attribution:
    """Integrated gradients of P(positive) for one review."""

    tokens: list[str]
    scores: np.ndarray  # (tokens,): each token's share of probability - baseline_probability
    probability: float
    baseline_probability: float
    steps: int

    @property
    def gap(self) -> float:
        """Relative completeness gap: how far the scores' sum is from P(x) - P(baseline)."""
        delta = self.probability - self.baseline_probability
        return abs(float(self.scores.sum()) - delta) / max(abs(delta), 1e-3)


@dataclass
class Occlusion:
    """P(review) less P(review with a span of tokens dropped), per span."""

    spans: list[tuple[int, int]]  # [start, end) token positions, in order, covering the review
    deltas: np.ndarray  # (spans,): positive when the span pushed towards positive

    @property
    def per_word(self) -> bool:
        return all(end - start == 1 for start, end in self.spans)

    def per_token(self) -> np.ndarray:
        """Each token gets its span's change, shared equally among the span's tokens."""
        return np.concatenate(
            [np.full(end - start, d / (end - start)) for (start, end), d in zip(self.spans, self.deltas)]
        )


@dataclass
class UnitRanking:
    """The units of one recurrent layer and direction, by their share of the logit."""

    layer: str
    direction: str
    contributions: np.ndarray  # (units,): gradient x activation of the logit, summed over tokens

    @property
    def order(self) -> np.ndarray:
        """Unit indices, the largest |contribution| first."""
        return np.argsort(-np.abs(self.contributions), kind="stable")


@dataclass
class Explanation:
    """Words and units behind one model's verdict on one review."""

    attribution: Attribution
    occlusion: Occlusion
    units: list[UnitRanking]
    logit: float
    logit_at_zero: float  # the logit with every hidden state 0: what the units' contributions add to

    @property
    def rank_agreement(self) -> float:
        """Spearman correlation of integrated gradients (summed over each span)
        and occlusion, over the occluded spans (the words of a short review)."""
        occ = self.occlusion
        if len(occ.spans) < 3:
            return float("nan")
        ig = [self.attribution.scores[start:end].sum() for start, end in occ.spans]
        return float(pd.Series(ig).corr(pd.Series(occ.deltas), method="spearman"))

    def top_words(self, k: int = 5) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The ``k`` tokens that pushed most towards positive, and towards negative."""
        tokens, scores = self.attribution.tokens, self.attribution.scores
        order = np.argsort(-scores, kind="stable")
        pos = [(tokens[i], float(scores[i])) for i in order[:k] if scores[i] > 0]
        neg = [(tokens[i], float(scores[i])) for i in order[::-1][:k] if scores[i] < 0]
        return pos, neg


def review_ids(model: keras.Model, text: str) -> np.ndarray:
    """The token ids the model reads for ``text``, unpadded.

    Raises:
        NoWordsError: the review has no token the model reads.
    """
    return reader_of(model).review_ids(text)


def _ones_mask(x) -> list:
    return [tf.ones(tf.shape(x)[:2], tf.bool)]


def _probability_and_gradient(reader, x, n_masks):
    with tf.GradientTape() as tape:
        tape.watch(x)
        p = reader([x, *(_ones_mask(x) if n_masks else [])], training=False)[:, 0]
    return p, tape.gradient(p, x)


def integrated_gradients(model: keras.Model, text: str, steps: int | None = None) -> Attribution:
    """Integrated gradients of P(positive) on the word vectors of ``text``.

    Args:
        model: a full sentiment model (raw text in).
        text: the review.
        steps: the number of steps of the path integral (trapezoid rule); by
            default 32, doubled up to 256 until the completeness gap is under
            `COMPLETENESS_TOLERANCE`.

    Returns:
        One score per token the model reads; they add up to P(text) less
        P(baseline) within the reported gap.
    """
    reader = reader_of(model)
    ids = reader.review_ids(text)
    table = reader.table
    vectors = tf.gather(table, ids)  # (n, d)
    baseline = tf.broadcast_to(table[0], tf.shape(vectors))  # the padding vector at every position
    result = None
    for n_steps in (steps,) if steps else IG_STEPS:
        alphas, weights = trapezoid(n_steps)
        probs, grad_sum = [], tf.zeros_like(vectors)
        for start in range(0, len(alphas), CHUNK):
            a = alphas[start : start + CHUNK]
            x = baseline[None] + a[:, None, None] * (vectors - baseline)[None]
            p, g = reader.function(_probability_and_gradient, reader.from_vectors, n_masks=reader.vector_masks)(x)
            probs.append(p.numpy())
            grad_sum += tf.tensordot(weights[start : start + CHUNK], g, axes=1)
        probs = np.concatenate(probs)
        scores = tf.reduce_sum((vectors - baseline) * grad_sum, axis=-1).numpy()
        result = Attribution(reader.tokens(ids), scores, float(probs[-1]), float(probs[0]), n_steps)
        if result.gap <= COMPLETENESS_TOLERANCE:
            break
    return result


def trapezoid(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The path's points (alpha from 0 to 1) and their weights, trapezoid rule."""
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32")
    weights = np.full(steps + 1, 1.0 / steps, "float32")
    weights[[0, -1]] /= 2
    return alphas, weights


def spans_of(n: int, max_variants: int) -> list[tuple[int, int]]:
    """Each token, or ``max_variants`` spans of consecutive tokens, covering ``n``."""
    bounds = np.linspace(0, n, min(n, max_variants) + 1).round().astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def occlusion(model: keras.Model, text: str, max_variants: int = OCCLUSION_VARIANTS) -> Occlusion:
    """P(positive) of ``text`` less P(positive) with each word dropped in turn;
    for a review of more than ``max_variants`` tokens, each of ``max_variants``
    spans of consecutive tokens. Positive: the span pushed towards positive."""
    reader = reader_of(model)
    ids = reader.review_ids(text)
    spans = spans_of(len(ids), max_variants)
    variants = [np.concatenate([ids[:start], ids[end:]]) for start, end in spans]
    # Right-padded with 0 (masked) where spans differ in length by one token.
    width = max(1, max(len(v) for v in variants))
    batch = np.zeros((len(variants), width), ids.dtype)
    for row, v in zip(batch, variants):
        row[: len(v)] = v
    probs = np.concatenate(
        [
            reader.function(_predict, reader.classifier)(tf.constant(batch[s : s + CHUNK])).numpy()
            for s in range(0, len(batch), CHUNK)
        ]
    )
    full = float(reader.function(_predict, reader.classifier)(tf.constant(ids[None])).numpy()[0])
    return Occlusion(spans, full - probs)


def _predict(classifier, ids):
    return classifier(ids, training=False)[:, 0]


def _head_logit(head, h, n_masks):
    return logit(head([h, *(_ones_mask(h) if n_masks else [])], training=False)[:, 0])


def _logit_gradient(sequences, head, ids, n_masks):
    h = tf.identity(sequences(ids, training=False))  # without the mask Keras attached
    with tf.GradientTape() as tape:
        tape.watch(h)
        value = _head_logit(head, h, n_masks)
    return h, value, tape.gradient(value, h), _head_logit(head, tf.zeros_like(h), n_masks)


def logit_gradient(reader: ModelReader, ids: np.ndarray):
    """For a batch of token ids (no padding): what the last recurrent layer
    gives (h), the logit, its gradient with respect to h, and the logit with
    every h zero; through the saved model's own layers."""
    fn = reader.function(_logit_gradient, reader.sequences, reader.head, n_masks=reader.head_masks)
    return fn(tf.constant(ids))


def unit_contributions(model: keras.Model, text: str) -> tuple[list[UnitRanking], float, float]:
    """Each unit's gradient x activation of the logit, summed over the tokens,
    for the last recurrent layer, per direction. (With pooling "last" the
    layer gives its final state only: the share of that state. The shares add
    up to the logit less its value at zero exactly when the head is linear in
    them, as with a Dense layer on max-and-mean pooling or on the last state.)

    Returns:
        The rankings (one per direction), the logit, and the logit with every
        hidden state 0, to which the contributions add up.
    """
    reader = reader_of(model)
    ids = reader.review_ids(text)
    h, value, grad, at_zero = logit_gradient(reader, ids[None])
    share = h * grad
    # (directions * units,): summed over the steps where the layer gives every step
    per_unit = (tf.reduce_sum(share, axis=1) if reader.per_step else share)[0].numpy()
    return rankings(reader, per_unit), float(value[0]), float(at_zero[0])


def rankings(reader: ModelReader, per_unit: np.ndarray) -> list[UnitRanking]:
    """One ranking per direction: Bidirectional concatenates the forward then the backward direction's units."""
    split = np.split(per_unit, len(reader.directions))
    return [UnitRanking(reader.last_layer.name, d, c) for d, c in zip(reader.directions, split)]


def explain_through_keras(model: keras.Model, text: str) -> Explanation:
    """`integrated_gradients`, `occlusion` and `unit_contributions` of one
    review, each through Keras's own loop: the reference the compiled pass is
    held to (`sentiment.analysis.reading.explain`)."""
    units, value, at_zero = unit_contributions(model, text)
    return Explanation(integrated_gradients(model, text), occlusion(model, text), units, value, at_zero)
