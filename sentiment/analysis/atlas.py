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

``build_atlas`` computes it from texts and labels; ``save_atlas`` writes it
beside the model (``<model>.atlas.npz``), with the model file's hash, so that
an atlas of another version of the model is never shown as current;
``load_atlas`` reads it back.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.decomposition import NMF
from sklearn.linear_model import LogisticRegression

from sentiment.analysis.passes import BATCH_ROWS, passes_of
from sentiment.analysis.reader import reader_of
from sentiment.core.files import atomic_path, file_hash

TOP = 20  # top activating positions kept per unit and quantity
CONTEXT = 6  # words either side of a position
BINS = 24  # of the distribution of a pooled value by label
PROBE_SIZES = (1, 2, 4, 8, 16)  # units the probe reads, best first (and then all)
FACTORS = 8
FACTOR_TOKENS = 40_000  # tokens sampled for the NMF
CORPUS = 400  # test reviews whose hidden states are kept for the hypothesis search
FORMAT = 1  # of the atlas file


class AtlasError(ValueError):
    """An atlas that is missing, unreadable, of another format or of another version of its model."""


def atlas_path(model_path: str | os.PathLike) -> str:
    """``lstm.keras`` -> ``lstm.atlas.npz``, beside it."""
    return os.path.splitext(os.fspath(model_path))[0] + ".atlas.npz"


@dataclass
class Atlas:
    """What every unit of a model's last recurrent layer does over a sample of reviews.

    Arrays are indexed (quantity, direction, unit, ...) in the order of
    ``quantities`` and ``directions``; a position is (review, token) in the
    test sample, whose token ids are ``review_ids``'s reviews' own.
    """

    meta: dict  # model file, hash, cell, sample sizes, seconds, pooling
    quantities: list[str]
    directions: list[str]
    top_values: np.ndarray  # (Q, D, U, TOP)
    top_contexts: np.ndarray  # (Q, D, U, TOP, 2 * CONTEXT + 1) token ids, 0 past a review's ends
    top_reviews: np.ndarray  # (Q, D, U, TOP) index into review_ids
    pooled_by_label: np.ndarray  # (Q, D, U, 2) mean pooled value of negative, positive reviews
    histograms: np.ndarray  # (Q, D, U, 2, BINS) pooled values' counts by label
    edges: np.ndarray  # (Q, BINS + 1)
    correlation: np.ndarray  # (D, U) of the hidden state's pooled value with the label
    threshold: np.ndarray  # (D, U) the best single threshold (chosen on validation)
    sign: np.ndarray  # (D, U) +1: positive above the threshold; -1: below
    threshold_accuracy: np.ndarray  # (D, U) its test accuracy
    classifier_weights: np.ndarray  # (D, U, W) the classifier's weights on the unit's pooled features
    weight_names: list[str]  # what each of W reads: "max", "mean" or "final"
    probe: dict[str, float]  # units read ("1", ..., "all") -> test accuracy
    probe_order: np.ndarray  # (D * U,) flat units, best single threshold first
    factors: np.ndarray  # (factors, features): NMF components over [relu(h), relu(-h)]
    factor_top_contexts: np.ndarray  # (factors, TOP, 2 * CONTEXT + 1)
    factor_top_values: np.ndarray  # (factors, TOP)
    corpus_hidden: np.ndarray  # (tokens, D * U) int8: round(127 h)
    corpus_ids: np.ndarray  # (tokens,) the tokens
    corpus_offsets: np.ndarray  # (reviews + 1,) where each kept review starts
    review_ids: list[str] = field(default_factory=list)  # the test sample's reviews, as the data names them

    @property
    def units(self) -> int:
        return self.top_values.shape[2]

    def index(self, name: str) -> int:
        return self.quantities.index(name)


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
    atlas = pass_.finish(test_ids, np.asarray(test_labels))
    d, u = len(directions), cells[0].units
    atlas.correlation = _correlation(test_pooled, np.asarray(test_labels))
    flat_val = np.concatenate(list(val_pooled), axis=1)  # (reviews, D * U)
    flat_test = np.concatenate(list(test_pooled), axis=1)
    threshold, sign, val_acc = best_thresholds(flat_val, np.asarray(val_labels))
    atlas.threshold, atlas.sign = threshold.reshape(d, u), sign.reshape(d, u)
    atlas.threshold_accuracy = threshold_accuracy(flat_test, np.asarray(test_labels), threshold, sign).reshape(d, u)
    atlas.probe_order = np.argsort(-val_acc, kind="stable")
    atlas.probe = probe_curve(flat_val, np.asarray(val_labels), flat_test, np.asarray(test_labels), atlas.probe_order)
    atlas.classifier_weights, atlas.weight_names = classifier_weights(reader, d, u)
    atlas.review_ids = list(review_ids) if review_ids is not None else [str(i) for i in range(len(test_texts))]
    atlas.meta.update(
        cell=type(cells[0]).__name__,
        layer=last.name,
        readout="mean over tokens" if reader.per_step else "final state",
        test_reviews=len(test_texts),
        validation_reviews=len(val_texts),
        model_accuracy=float(np.mean((pass_.probabilities >= 0.5) == np.asarray(test_labels))),
    )
    return atlas


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

    def finish(self, test_ids: list[np.ndarray], labels: np.ndarray) -> Atlas:
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
        factors, factor_values, factor_where = _factors(np.concatenate(self.factor_rows), self.factor_where)
        offsets = np.cumsum([0, *(len(x) for x in self.corpus_ids)])
        return Atlas(
            meta={},
            quantities=list(self.quantities),
            directions=list(self.directions),
            top_values=self.top_values.astype("float16"),
            top_contexts=contexts,
            top_reviews=self.top_where[..., 0].astype("int32"),
            pooled_by_label=by_label.astype("float32"),
            histograms=histograms,
            edges=edges.astype("float32"),
            correlation=np.zeros((d, self.units), "float32"),
            threshold=np.zeros((d, self.units), "float32"),
            sign=np.ones((d, self.units), "int8"),
            threshold_accuracy=np.zeros((d, self.units), "float32"),
            classifier_weights=np.zeros((d, self.units, 1), "float32"),
            weight_names=[],
            probe={},
            probe_order=np.arange(d * self.units),
            factors=factors,
            factor_top_contexts=_contexts(test_ids, factor_where.reshape(-1, 2)).reshape(len(factors), TOP, -1),
            factor_top_values=factor_values,
            corpus_hidden=np.concatenate(self.corpus_hidden)
            if self.corpus_hidden
            else np.zeros((0, d * self.units), "int8"),
            corpus_ids=np.concatenate(self.corpus_ids).astype("int32") if self.corpus_ids else np.zeros(0, "int32"),
            corpus_offsets=offsets.astype("int64"),
        )


def _contexts(reviews: list[np.ndarray], where: np.ndarray) -> np.ndarray:
    """The ids of CONTEXT tokens either side of each (review, position), 0 past a review's ends."""
    out = np.zeros((len(where), 2 * CONTEXT + 1), "int32")
    for row, (review, position) in enumerate(where):
        ids = reviews[review]
        lo, hi = max(0, position - CONTEXT), min(len(ids), position + CONTEXT + 1)
        out[row, CONTEXT - (position - lo) : CONTEXT + (hi - position)] = ids[lo:hi]
    return out


def nonnegative(hidden: np.ndarray) -> np.ndarray:
    """Hidden states as the NMF reads them: [relu(h), relu(-h)] (they are signed; NMF wants no sign)."""
    return np.concatenate([np.maximum(hidden, 0), np.maximum(-hidden, 0)], axis=-1)


def _factors(hidden: np.ndarray, where: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _correlation(pooled: np.ndarray, labels: np.ndarray) -> np.ndarray:
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


def classifier_weights(reader, directions: int, units: int) -> tuple[np.ndarray, list[str]]:
    """(D, U, W): the Dense head's weights on each unit's pooled features:
    its max and its mean (max-and-mean pooling), or its final state."""
    dense = reader.classifier.get_layer("positive")
    w = np.asarray(dense.kernel)[:, 0]
    if reader.per_step:  # MaskedPool concatenates [max over time, mean over time], each (D * U)
        mx, mean = np.split(w, 2)
        return np.stack([mx.reshape(directions, units), mean.reshape(directions, units)], axis=-1), ["max", "mean"]
    return w.reshape(directions, units, 1), ["final"]


# -- the file -------------------------------------------------------------------------------------------


_ARRAYS = (
    "top_values", "top_contexts", "top_reviews", "pooled_by_label", "histograms", "edges", "correlation", "threshold",
    "sign", "threshold_accuracy", "classifier_weights", "probe_order", "factors", "factor_top_contexts",
    "factor_top_values", "corpus_hidden", "corpus_ids", "corpus_offsets",
)  # fmt: skip


def save_atlas(atlas: Atlas, model_path: str | os.PathLike) -> str:
    """Writes the atlas beside the model (whole or not at all); its path."""
    path = atlas_path(model_path)
    header = {
        "format": FORMAT,
        "meta": {
            **atlas.meta,
            "model_file": os.path.basename(os.fspath(model_path)),
            "model_hash": file_hash(model_path),
        },
        "quantities": atlas.quantities,
        "directions": atlas.directions,
        "weight_names": atlas.weight_names,
        "probe": atlas.probe,
        "review_ids": atlas.review_ids,
    }
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, header=np.asarray(json.dumps(header)), **{k: getattr(atlas, k) for k in _ARRAYS})
    return path


def load_atlas(model_path: str | os.PathLike, check_hash: bool = True) -> Atlas:
    """The atlas beside ``model_path``.

    Raises:
        AtlasError: it is missing, unreadable, of another format, or (with
            ``check_hash``) made from another version of the model file; the
            message says which command rebuilds it.
    """
    path = atlas_path(model_path)
    rebuild = f"`python -m sentiment units {os.path.dirname(os.path.abspath(model_path))} --data PATH` rebuilds it"
    if not os.path.isfile(path):
        raise AtlasError(f"No unit atlas for {os.path.basename(os.fspath(model_path))} yet: {rebuild}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            header = json.loads(str(f["header"]))
            arrays = {k: f[k] for k in _ARRAYS}
    except (OSError, ValueError, KeyError) as err:
        raise AtlasError(f"{path} cannot be read ({type(err).__name__}: {str(err)[:200]}): {rebuild}.") from err
    if header.get("format") != FORMAT:
        raise AtlasError(
            f"{path} is of another format ({header.get('format')!r}, this code reads {FORMAT}): {rebuild}."
        )
    if check_hash and header["meta"].get("model_hash") != file_hash(model_path):
        raise AtlasError(
            f"{path} was made from another version of {os.path.basename(os.fspath(model_path))}: {rebuild}."
        )
    return Atlas(
        meta=header["meta"],
        quantities=header["quantities"],
        directions=header["directions"],
        weight_names=header["weight_names"],
        probe=header["probe"],
        review_ids=header["review_ids"],
        **arrays,
    )
