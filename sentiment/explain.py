"""Why a model said what it said: which words and which units decided it.

- `integrated_gradients`: each token's share of P(positive) - P(baseline)
  (Sundararajan, Taly and Yan 2017), on the word vectors, with the padding
  vector at every position as the baseline ("a review of nothing"). The shares
  add up to that difference ("completeness"); the gap is reported, and the
  number of steps doubles until it is under `COMPLETENESS_TOLERANCE`.
- `occlusion`: each word (in a long review, each span of words) dropped from
  the review in turn, the change in P(positive): an independent second view
  that needs no gradients. Dropping every word of an 800-token review one at a
  time means 800 passes over 799 tokens (over 2 s a model on 2 CPU cores), so
  a review of more than `OCCLUSION_VARIANTS` tokens is cut into that many
  spans of consecutive tokens instead.
- `unit_contributions`: each unit of the last recurrent layer, per
  direction, ranked by gradient x activation of the logit, summed over the
  tokens. With the model's max-and-mean pooling and a linear head this sum is
  exact: the units' contributions add up to the logit less the head's bias.

`explain`, what the app runs, computes all three in one compiled pass
(`sentiment.passes.Stack.explain`: the path's 17 points and the 32 occlusion
variants as one batch, forward, then back-propagation through time for the
path's rows; the units from the same pass): about a sixth of the time of the
three separate functions on 2 CPU cores, warm. The separate functions read the
model through sub-models of the saved model itself (no layer is
re-implemented), through Keras's own time loop, on the review's own tokens,
unpadded: they are the reference the tests hold `explain` to, and what
`explain` falls back on for a model the compiled pass does not cover.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from sentiment.model import EMBEDDING, classifier_of, text_to_ids, vocabulary_of
from sentiment.passes import IG_POINTS, OCCLUSION_ROWS, PATH_POINTS, stack_of
from sentiment.traces import Trace, recurrent_layers, trace, trace_of

COMPLETENESS_TOLERANCE = 0.05  # |sum of attributions - (P(x) - P(baseline))| / |P(x) - P(baseline)|
IG_STEPS = (16, 32, 64, 128, 256)  # tried in turn until complete enough
OCCLUSION_VARIANTS = 32  # at most this many reviews with a word or span dropped (cost: one pass each)
CHUNK = 128  # sequences per forward pass in batched work
# What the compiled passes hold: the first path, the occlusion variants, the midpoints that double the steps.
assert IG_STEPS[0] + 1 == IG_POINTS and OCCLUSION_VARIANTS == OCCLUSION_ROWS and IG_STEPS[0] % PATH_POINTS == 0


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


class _Parts:
    """Sub-models of one saved model, built once and kept on the model."""

    def __init__(self, model: keras.Model):
        classifier = classifier_of(model)
        embedding = classifier.get_layer(EMBEDDING)
        layers = recurrent_layers(model)
        first, last = layers[0][0], layers[-1][0]
        # The other arguments a recurrent layer is called with: the mask, which
        # Keras computes from the ids and which is all True for a review's own
        # tokens. Made inputs here, so that the sub-models start mid-graph.
        mask = keras.tree.flatten(first.input)[1:]
        self.to_ids = text_to_ids(model)
        self.embedding = embedding
        self.vocab = vocabulary_of(model)
        self.classifier = classifier
        self.reader = keras.Model([embedding.output, *mask], classifier.output)
        # A layer that gives every step's state (pooling max_mean) is read
        # under its mask; one that gives only its final state (pooling last) is not.
        self.per_step = len(last.output.shape) == 3
        last_mask = keras.tree.flatten(last.input)[1:] if self.per_step else []
        self.head = keras.Model([last.output, *last_mask], classifier.output)
        self.n_head_masks = len(last_mask)
        self.sequences = keras.Model(classifier.input, last.output)
        # What the last recurrent layer reads, and its forward direction (for gradients.py).
        self.last_input = keras.Model(classifier.input, keras.tree.flatten(last.input)[0])
        self.last_forward = dict(layers[-1][1])["forward"]
        self.last = last
        self.directions = [d for d, _ in layers[-1][1]]
        self.n_masks = len(mask)
        self._functions = {}

    def function(self, fn, *bound, **kw):
        """``fn`` with ``bound`` first, traced once for this model (a
        tf.function given a model as an argument retraces for every model)."""
        key = (fn, *(id(b) for b in bound), *sorted(kw.items()))
        if key not in self._functions:
            self._functions[key] = tf.function(functools.partial(fn, *bound, **kw), reduce_retracing=True)
        return self._functions[key]


def _parts(model: keras.Model) -> _Parts:
    parts = getattr(model, "_sentiment_explain_parts", None)
    if parts is None:
        parts = model._sentiment_explain_parts = _Parts(model)
    return parts


def review_ids(model: keras.Model, text: str) -> np.ndarray:
    """The token ids the model reads for ``text``, unpadded.

    Raises:
        ValueError: the review has no token the model reads.
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    ids = np.asarray(_parts(model).to_ids(tf.constant([text])))[0]
    ids = ids[: np.count_nonzero(ids)]
    if len(ids) == 0:
        raise ValueError("The review has no words the model can read (only spaces, punctuation or symbols).")
    return ids


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
    parts = _parts(model)
    ids = review_ids(model, text)
    table = parts.embedding.embeddings
    vectors = tf.gather(table, ids)  # (n, d)
    baseline = tf.broadcast_to(table[0], tf.shape(vectors))  # the padding vector at every position
    result = None
    for n_steps in (steps,) if steps else IG_STEPS:
        alphas, weights = _trapezoid(n_steps)
        probs, grad_sum = [], tf.zeros_like(vectors)
        for start in range(0, len(alphas), CHUNK):
            a = alphas[start : start + CHUNK]
            x = baseline[None] + a[:, None, None] * (vectors - baseline)[None]
            p, g = parts.function(_probability_and_gradient, parts.reader, n_masks=parts.n_masks)(x)
            probs.append(p.numpy())
            grad_sum += tf.tensordot(weights[start : start + CHUNK], g, axes=1)
        probs = np.concatenate(probs)
        scores = tf.reduce_sum((vectors - baseline) * grad_sum, axis=-1).numpy()
        result = Attribution([str(parts.vocab[i]) for i in ids], scores, float(probs[-1]), float(probs[0]), n_steps)
        if result.gap <= COMPLETENESS_TOLERANCE:
            break
    return result


def _trapezoid(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The path's points (alpha from 0 to 1) and their weights, trapezoid rule."""
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32")
    weights = np.full(steps + 1, 1.0 / steps, "float32")
    weights[[0, -1]] /= 2
    return alphas, weights


def _spans(n: int, max_variants: int) -> list[tuple[int, int]]:
    """Each token, or ``max_variants`` spans of consecutive tokens, covering ``n``."""
    bounds = np.linspace(0, n, min(n, max_variants) + 1).round().astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def occlusion(model: keras.Model, text: str, max_variants: int = OCCLUSION_VARIANTS) -> Occlusion:
    """P(positive) of ``text`` less P(positive) with each word dropped in turn;
    for a review of more than ``max_variants`` tokens, each of ``max_variants``
    spans of consecutive tokens. Positive: the span pushed towards positive."""
    parts = _parts(model)
    ids = review_ids(model, text)
    spans = _spans(len(ids), max_variants)
    variants = [np.concatenate([ids[:start], ids[end:]]) for start, end in spans]
    # Right-padded with 0 (masked) where spans differ in length by one token.
    width = max(1, max(len(v) for v in variants))
    batch = np.zeros((len(variants), width), ids.dtype)
    for row, v in zip(batch, variants):
        row[: len(v)] = v
    probs = np.concatenate(
        [
            parts.function(_predict, parts.classifier)(tf.constant(batch[s : s + CHUNK])).numpy()
            for s in range(0, len(batch), CHUNK)
        ]
    )
    full = float(parts.function(_predict, parts.classifier)(tf.constant(ids[None])).numpy()[0])
    return Occlusion(spans, full - probs)


def _predict(classifier, ids):
    return classifier(ids, training=False)[:, 0]


def _logit(head, h, n_masks):
    p = head([h, *(_ones_mask(h) if n_masks else [])], training=False)[:, 0]
    return tf.math.log(p) - tf.math.log1p(-p)


def _logit_gradient(sequences, head, ids, n_masks):
    h = tf.identity(sequences(ids, training=False))  # without the mask Keras attached
    with tf.GradientTape() as tape:
        tape.watch(h)
        logit = _logit(head, h, n_masks)
    return h, logit, tape.gradient(logit, h), _logit(head, tf.zeros_like(h), n_masks)


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
    parts = _parts(model)
    ids = review_ids(model, text)
    logit_gradient = parts.function(_logit_gradient, parts.sequences, parts.head, n_masks=parts.n_head_masks)
    h, logit, grad, at_zero = logit_gradient(tf.constant(ids[None]))
    share = h * grad
    # (directions * units,): summed over the steps where the layer gives every step
    per_unit = (tf.reduce_sum(share, axis=1) if parts.per_step else share)[0].numpy()
    # Bidirectional concatenates the forward then the backward direction's units.
    split = np.split(per_unit, len(parts.directions))
    rankings = [UnitRanking(parts.last.name, d, c) for d, c in zip(parts.directions, split)]
    return rankings, float(logit[0]), float(at_zero[0])


def explain(model: keras.Model, text: str) -> Explanation:
    """Integrated gradients, occlusion and unit ranking for one review: what
    `integrated_gradients`, `occlusion` and `unit_contributions` give (to
    float rounding), from one compiled pass where the model allows."""
    if stack_of(model) is None:
        units, logit, at_zero = unit_contributions(model, text)
        return Explanation(integrated_gradients(model, text), occlusion(model, text), units, logit, at_zero)
    return trace_and_explain(model, text)[1]


def trace_and_explain(model: keras.Model, text: str) -> tuple[Trace, Explanation]:
    """`sentiment.traces.trace` and `explain` of one review, from one compiled
    pass (`sentiment.passes.Stack.explain`): the review itself, the 17 points
    of the integrated-gradients path (16 steps) and the 32 occlusion variants
    as one batch. Where the path's shares miss completeness by more than
    `COMPLETENESS_TOLERANCE`, the steps double (up to 256) and only the new
    midpoints are computed (the trapezoid rule of 2k steps is half that of k
    steps plus the midpoints'), in passes of 16 points. (Over 200 test
    reviews, 16 steps were enough for 51% of the LSTM's and 88% of the GRU's;
    the LSTM's took 256 for 20%.)

    Raises:
        ValueError: the review has no token the model reads.
    """
    stack = stack_of(model)
    if stack is None:
        return trace(model, text), explain(model, text)
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    ids, total = stack.read(text)
    if len(ids) == 0:
        raise ValueError("The review has no words the model can read (only spaces, punctuation or symbols).")
    n, tokens = len(ids), stack.vocabulary[ids]
    spans = _spans(n, OCCLUSION_VARIANTS)
    variants = [np.concatenate([np.arange(start), np.arange(end, n)]) for start, end in spans]
    steps = IG_STEPS[0]
    alphas, weights = _trapezoid(steps)
    # The review itself (alpha 1) first: the pass traces and ranks the units of its first row.
    out = stack.explain(ids, alphas[::-1], weights[::-1], variants)
    probability, baseline = (float(p) for p in out["probabilities"][[0, -1]])
    table = np.asarray(stack.table)
    difference = table[ids] - table[0]  # the word vectors less the baseline's (the padding vector)
    grad_sum = out["gradient_sum"]
    attribution = Attribution(list(map(str, tokens)), (difference * grad_sum).sum(-1), probability, baseline, steps)
    for steps in IG_STEPS[1:]:
        if attribution.gap <= COMPLETENESS_TOLERANCE:
            break
        middle = (np.arange(steps // 2, dtype="float32") + 0.5) / (steps // 2)
        grad_sum = grad_sum / 2
        for start in range(0, len(middle), PATH_POINTS):
            chunk = middle[start : start + PATH_POINTS]
            grad_sum = grad_sum + stack.explain(ids, chunk, np.full(len(chunk), 1 / steps, "float32"))["gradient_sum"]
        attribution = Attribution(attribution.tokens, (difference * grad_sum).sum(-1), probability, baseline, steps)
    # Bidirectional concatenates the forward then the backward direction's units.
    last, directions = stack.layers[-1]
    split = np.split(out["units"], len(directions))
    units = [UnitRanking(last.name, d, c) for (d, _), c in zip(directions, split)]
    explanation = Explanation(
        attribution, Occlusion(spans, probability - out["variants"]), units, out["logit"], out["logit_at_zero"]
    )
    return trace_of(model, tokens, probability, out["values"], total), explanation
