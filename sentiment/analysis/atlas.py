"""The unit atlas: what each unit of a model's last recurrent layer does
across many reviews, not one.

For every unit (both directions) and every quantity its cell computes (each
gate, the hidden state and, for the LSTM, the cell state), over a sample of
test reviews read by the model's compiled batch pass (`Passes.trace_batch`):

- its top activating positions, each with its review and the words around it
  (Karpathy, Johnson and Fei-Fei 2015 read cells this way);
- the distribution of its pooled value (its mean over a review's tokens) by
  label;
- for the hidden state, what the classifier reads: the correlation of the
  unit's pooled value with the label, the accuracy of the best single
  threshold on it (chosen on validation reviews, scored on the test sample),
  and the unit's weights in the classifier;
- the sentiment-neuron question (Radford, Józefowicz and Sutskever 2017): a
  logistic-regression probe on the best 1, 2, 4, 8, 16 and all units;
- a handful of factors: NMF of the hidden states of a sample of tokens (as
  ecco does), each with its top positions;
- the hidden states of the first reviews of the sample, kept (8 bits a
  value) for the hypothesis search (`sentiment.analysis.hypotheses`).

``build_atlas`` streams the sample through the pass once (`_Pass`) and
computes the statistics (`sentiment.analysis.atlas_stats`) on what it kept;
`sentiment.analysis.atlas_file` writes and reads the result.
"""

from __future__ import annotations

import keras
import numpy as np

from sentiment.analysis.atlas_file import Atlas
from sentiment.analysis.atlas_stats import (
    TOP,
    best_thresholds,
    correlation,
    factors_of,
    probe_curve,
    threshold_accuracy,
)
from sentiment.analysis.passes import BATCH_ROWS, passes_of
from sentiment.analysis.reader import reader_of

CONTEXT = 6  # words either side of a position
BINS = 24  # of the distribution of a pooled value by label
FACTOR_TOKENS = 40_000  # tokens sampled for the NMF
CORPUS = 400  # test reviews whose hidden states are kept for the hypothesis search


def build_atlas(
    model: keras.Model,
    test_texts: list[str],
    test_labels: np.ndarray,
    val_texts: list[str],
    val_labels: np.ndarray,
    review_ids: list[str] | None = None,
    seed: int = 0,
    corpus: int = CORPUS,
) -> Atlas:
    """The atlas of ``model`` over ``test_texts`` (thresholds and the probe
    fitted on ``val_texts``).

    Raises:
        ValueError: a model the compiled passes do not cover, or texts the model reads no word of.
    """
    passes = passes_of(model)
    if passes is None:
        raise ValueError("The unit atlas reads a model through its compiled passes, which do not cover this one.")
    reader = reader_of(model)
    (last, directions) = reader.layers[-1]
    cells = [rnn.cell for _, rnn in directions]
    quantities = [*cells[0].gate_names, *cells[0].state_names]
    test_ids = [_ids(reader, t) for t in test_texts]
    pass_ = _Pass(passes, quantities, [d for d, _ in directions], cells[0].units, len(test_ids), seed, corpus)
    pass_.per_step = reader.per_step
    for start in range(0, len(test_ids), BATCH_ROWS):
        pass_.add(test_ids[start : start + BATCH_ROWS], start)
    val_pooled = _pooled_hidden(passes, [_ids(reader, t) for t in val_texts], reader.per_step)
    test_pooled = pass_.readout  # (D, reviews, U): what the classifier reads of each unit
    labels, val_labels = np.asarray(test_labels), np.asarray(val_labels)
    d, u = len(directions), cells[0].units
    flat_val = np.concatenate(list(val_pooled), axis=1)  # (reviews, D * U)
    flat_test = np.concatenate(list(test_pooled), axis=1)
    threshold, sign, val_accuracy = best_thresholds(flat_val, val_labels)
    order = np.argsort(-val_accuracy, kind="stable")
    weights, weight_names = classifier_weights(reader, d, u)
    meta = {
        "cell": type(cells[0]).__name__,
        "layer": last.name,
        "readout": "mean over tokens" if reader.per_step else "final state",
        "test_reviews": len(test_texts),
        "validation_reviews": len(val_texts),
        "model_accuracy": float(np.mean((pass_.probabilities >= 0.5) == labels)),
    }
    return Atlas(
        meta=meta,
        **pass_.finish(test_ids, labels),
        correlation=correlation(test_pooled, labels),
        threshold=threshold.reshape(d, u),
        sign=sign.reshape(d, u),
        threshold_accuracy=threshold_accuracy(flat_test, labels, threshold, sign).reshape(d, u),
        classifier_weights=weights,
        weight_names=weight_names,
        probe=probe_curve(flat_val, val_labels, flat_test, labels, order),
        probe_order=order,
        review_ids=list(review_ids) if review_ids is not None else [str(i) for i in range(len(test_texts))],
    )


def _ids(reader, text: str) -> np.ndarray:
    ids, _ = reader.read(text)
    return ids if len(ids) else np.ones(1, ids.dtype)  # a review of no known word reads as one [UNK]


class _Pass:
    """What one pass over the test sample keeps, batch after batch."""

    def __init__(self, passes, quantities, directions, units, reviews, seed, corpus):
        self.passes, self.quantities, self.directions, self.units = passes, quantities, directions, units
        q, d = len(quantities), len(directions)
        self.top_values = np.full((q, d, units, TOP), -np.inf, "float32")
        self.top_where = np.zeros((q, d, units, TOP, 2), "int64")  # (review, position)
        self.pooled = np.zeros((q, d, reviews, units), "float32")
        self.readout = np.zeros((d, reviews, units), "float32")
        self.per_step = True
        self.probabilities = np.zeros(reviews, "float32")
        self.rng = np.random.default_rng(seed)
        self.sample_rate = None
        self.factor_rows, self.factor_where = [], []
        self.corpus_limit = corpus
        self.corpus_hidden, self.corpus_ids = [], []

    def add(self, batch: list[np.ndarray], first: int) -> None:
        out = self.passes.trace_batch(batch)
        lengths = out["lengths"]
        self.probabilities[first : first + len(batch)] = out["probabilities"]
        mask = np.arange(lengths.max())[None, :] < lengths[:, None]  # (rows, time)
        for qi, name in enumerate(self.quantities):
            for di, direction in enumerate(self.directions):
                v = out["values"][direction][name]  # (rows, time, units)
                self.pooled[qi, di, first : first + len(batch)] = (v * mask[..., None]).sum(1) / lengths[:, None]
                self._top(qi, di, np.where(mask[..., None], v, -np.inf), first)
        self.readout[:, first : first + len(batch)] = _readout(out, self.per_step)
        hidden = np.concatenate([out["values"][d]["hidden"] for d in self.directions], axis=-1)  # (rows, time, D*U)
        self._sample_tokens(hidden, lengths, first)
        for row, n in enumerate(lengths):
            if first + row < self.corpus_limit:
                self.corpus_hidden.append(np.round(127 * np.clip(hidden[row, :n], -1, 1)).astype("int8"))
                self.corpus_ids.append(batch[row][:n])

    def _top(self, qi: int, di: int, values: np.ndarray, first: int) -> None:
        rows, time, units = values.shape
        flat = values.reshape(rows * time, units)
        k = min(TOP, flat.shape[0])
        candidates = np.argpartition(-flat, k - 1, axis=0)[:k]  # (k, units)
        cand_values = np.take_along_axis(flat, candidates, axis=0).T  # (units, k)
        where = np.stack([first + candidates.T // time, candidates.T % time], axis=-1)  # (units, k, 2)
        merged = np.concatenate([self.top_values[qi, di], cand_values], axis=1)
        merged_where = np.concatenate([self.top_where[qi, di], where], axis=1)
        order = np.argsort(-merged, axis=1, kind="stable")[:, :TOP]
        self.top_values[qi, di] = np.take_along_axis(merged, order, axis=1)
        self.top_where[qi, di] = np.take_along_axis(merged_where, order[..., None], axis=1)

    def _sample_tokens(self, hidden: np.ndarray, lengths: np.ndarray, first: int) -> None:
        """Tokens for the NMF: each kept with the same chance, about FACTOR_TOKENS in all."""
        if self.sample_rate is None:
            expected = self.pooled.shape[2] * float(lengths.mean())
            self.sample_rate = min(1.0, FACTOR_TOKENS / max(expected, 1.0))
        for row, n in enumerate(lengths):
            keep = np.flatnonzero(self.rng.random(n) < self.sample_rate)
            self.factor_rows.append(hidden[row, keep])
            self.factor_where.extend((first + row, int(p)) for p in keep)

    def finish(self, test_ids: list[np.ndarray], labels: np.ndarray) -> dict[str, np.ndarray | list[str]]:
        """The atlas's fields this pass makes (the statistics on the pooled values are the caller's)."""
        q, d = len(self.quantities), len(self.directions)
        contexts = _contexts(test_ids, self.top_where.reshape(-1, 2)).reshape(q, d, self.units, TOP, -1)
        pooled = self.pooled  # (Q, D, reviews, U)
        by_label = np.stack([pooled[:, :, labels == c].mean(axis=2) for c in (0, 1)], axis=-1)
        edges = np.stack([np.linspace(pooled[i].min(), pooled[i].max() + 1e-6, BINS + 1) for i in range(q)])
        histograms = np.zeros((q, d, self.units, 2, BINS), "int32")
        for qi in range(q):
            for c in (0, 1):
                bins = np.clip(np.searchsorted(edges[qi], pooled[qi][:, labels == c], side="right") - 1, 0, BINS - 1)
                for di in range(d):
                    for u in range(self.units):
                        histograms[qi, di, u, c] = np.bincount(bins[di, :, u], minlength=BINS)
        factors, factor_values, factor_where = factors_of(np.concatenate(self.factor_rows), self.factor_where)
        offsets = np.cumsum([0, *(len(x) for x in self.corpus_ids)])
        no_corpus = np.zeros((0, d * self.units), "int8")
        return {
            "quantities": list(self.quantities),
            "directions": list(self.directions),
            "top_values": self.top_values.astype("float16"),
            "top_contexts": contexts,
            "top_reviews": self.top_where[..., 0].astype("int32"),
            "pooled_by_label": by_label.astype("float32"),
            "histograms": histograms,
            "edges": edges.astype("float32"),
            "factors": factors,
            "factor_top_contexts": _contexts(test_ids, factor_where.reshape(-1, 2)).reshape(len(factors), TOP, -1),
            "factor_top_values": factor_values,
            "corpus_hidden": np.concatenate(self.corpus_hidden) if self.corpus_hidden else no_corpus,
            "corpus_ids": np.concatenate(self.corpus_ids).astype("int32") if self.corpus_ids else np.zeros(0, "int32"),
            "corpus_offsets": offsets.astype("int64"),
        }


def _contexts(reviews: list[np.ndarray], where: np.ndarray) -> np.ndarray:
    """The ids of CONTEXT tokens either side of each (review, position), 0 past a review's ends."""
    out = np.zeros((len(where), 2 * CONTEXT + 1), "int32")
    for row, (review, position) in enumerate(where):
        ids = reviews[review]
        lo, hi = max(0, position - CONTEXT), min(len(ids), position + CONTEXT + 1)
        out[row, CONTEXT - (position - lo) : CONTEXT + (hi - position)] = ids[lo:hi]
    return out


def _readout(batch: dict, per_step: bool) -> np.ndarray:
    """(D, rows, U): each review's hidden state as the atlas pools it: its
    mean over the tokens (a max-and-mean model), or the final state (a
    last-state model: after the last token, or backwards after the first)."""
    lengths = batch["lengths"]
    mask = (np.arange(lengths.max())[None, :] < lengths[:, None])[..., None]
    out = []
    for direction, by_name in batch["values"].items():
        h = by_name["hidden"]
        if per_step:
            out.append((h * mask).sum(1) / lengths[:, None])
        else:
            out.append(h[:, 0] if direction == "backward" else h[np.arange(len(h)), lengths - 1])
    return np.stack(out)


def _pooled_hidden(passes, reviews: list[np.ndarray], per_step: bool) -> np.ndarray:
    """(D, reviews, U): `_readout` of every review."""
    parts = [
        _readout(passes.trace_batch(reviews[i : i + BATCH_ROWS]), per_step) for i in range(0, len(reviews), BATCH_ROWS)
    ]
    return np.concatenate(parts, axis=1)


def classifier_weights(reader, directions: int, units: int) -> tuple[np.ndarray, list[str]]:
    """(D, U, W): the Dense head's weights on each unit's pooled features:
    its max and its mean (max-and-mean pooling), or its final state."""
    dense = reader.classifier.get_layer("positive")
    w = np.asarray(dense.kernel)[:, 0]
    if reader.per_step:  # MaskedPool concatenates [max over time, mean over time], each (D * U)
        mx, mean = np.split(w, 2)
        return np.stack([mx.reshape(directions, units), mean.reshape(directions, units)], axis=-1), ["max", "mean"]
    return w.reshape(directions, units, 1), ["final"]
