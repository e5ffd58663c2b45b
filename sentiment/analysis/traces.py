"""Per-token traces: what every gate and state of a model does on one review.

The gate math is not repeated here, and neither is any other layer's: each
direction of each recurrent layer runs its own cell's ``step`` over the
review. `trace` runs the compiled pass of `sentiment.analysis.passes` (XLA: a few ms
a model warm); for a model that pass does not cover, and as the reference
the tests hold it to, `trace_through_keras` runs Keras's own time loop
(`Recurrent.trace`) on what a sub-model of the saved model gives: the token
ids, the probability and every recurrent layer's input sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from sentiment.analysis.reader import ModelReader, NoWordsError, reader_of
from sentiment.network.cells import Quantity
from sentiment.network.model import HEAD_TAIL, VECTORIZER


@dataclass
class LayerTrace:
    """One recurrent layer in one direction: name -> (tokens, units) array."""

    layer: str
    direction: str  # "forward" or "backward"
    quantities: tuple[Quantity, ...]  # the cell's gates, then its states
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.layer} ({self.direction})"

    @property
    def names(self) -> list[str]:
        return [q.name for q in self.quantities]

    @property
    def units(self) -> int:
        return self.values["hidden"].shape[1]

    def quantity(self, name: str) -> Quantity:
        return next(q for q in self.quantities if q.name == name)


@dataclass
class Trace:
    """A review as one model reads it."""

    tokens: list[str]  # the tokens the model reads, in order
    probability: float  # P(positive)
    layers: list[LayerTrace]
    total_tokens: int  # tokens in the review before the model's length limit
    max_length: int
    head: int

    @property
    def truncated(self) -> bool:
        return self.total_tokens > len(self.tokens)

    @property
    def last_layer(self) -> list[LayerTrace]:
        """The last recurrent layer's directions, at the end of ``layers``: what
        the classifier reads (in a stacked model, the only layer whose units are
        ranked and in the atlas)."""
        last = self.layers[-1].layer
        return [layer for layer in self.layers if layer.layer == last]


def _build_trace_fn(reader: ModelReader):
    model, classifier, layers = reader.model, reader.classifier, reader.layers
    # The sequence a layer reads is its call's first argument; Keras lists the
    # mask it was called with after it in `layer.input`.
    inner = keras.Model(
        classifier.input,
        {"sequences": [keras.tree.flatten(layer.input)[0] for layer, _ in layers], "probability": classifier.output},
    )
    ids = model.get_layer(HEAD_TAIL).output
    sub = keras.Model(model.input, {"all_ids": model.get_layer(VECTORIZER).output, "ids": ids, **inner(ids)})

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def run(text):
        out = sub(tf.reshape(text, [1]), training=False)
        n = tf.math.count_nonzero(out["ids"][0], dtype=tf.int32)
        # Only the review's own tokens, no padding: then no step is masked and
        # each direction reads exactly what it read inside the model.
        length = tf.maximum(n, 1)
        values = {
            layer.name: {direction: rnn.trace(seq[:, :length]) for direction, rnn in directions}
            for (layer, directions), seq in zip(layers, out["sequences"])
        }
        return {
            "ids": out["ids"][0, :length],
            "n": n,
            "total": tf.math.count_nonzero(out["all_ids"][0], dtype=tf.int32),
            "probability": out["probability"][0, 0],
            "values": values,
        }

    return run


def trace_of(reader: ModelReader, tokens: list[str], probability: float, values: dict, total_tokens: int) -> Trace:
    """A `Trace` from what a compiled pass gives (`sentiment.analysis.passes`)."""
    layers = []
    for layer, directions in reader.layers:
        for direction, rnn in directions:
            cell = rnn.cell
            layers.append(LayerTrace(layer.name, direction, (*cell.gates, *cell.states), values[layer.name][direction]))
    return Trace(
        tokens=[str(t) for t in tokens],
        probability=float(probability),
        layers=layers,
        total_tokens=int(total_tokens),
        max_length=reader.max_length,
        head=reader.head_tokens,
    )


def trace_through_keras(model: keras.Model, text: str) -> Trace:
    """Every gate and state of every recurrent layer, token by token, for
    ``text``, through Keras's own time loop, uncompiled: the reference the
    tests hold the compiled pass to (`sentiment.analysis.reading.trace`).

    Raises:
        NoWordsError: the review has no token the model reads.
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    reader = reader_of(model)
    out = reader.memo("trace_through_keras", lambda: _build_trace_fn(reader))(tf.constant(text))
    if int(out["n"]) == 0:
        raise NoWordsError()
    values = {
        layer: {d: {name: v.numpy()[0] for name, v in by_name.items()} for d, by_name in dirs.items()}
        for layer, dirs in out["values"].items()
    }
    return trace_of(reader, reader.tokens(out["ids"].numpy()), float(out["probability"]), values, int(out["total"]))
