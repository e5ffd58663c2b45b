"""Per-token traces: what every gate and state of a model does on one review.

The gate math is not repeated here, and neither is any other layer's: each
direction of each recurrent layer runs its own cell's ``step`` over the
review. `trace` runs the compiled pass of `sentiment.passes` (XLA: a few ms
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

from sentiment.cells import Quantity
from sentiment.model import HEAD_TAIL, VECTORIZER, classifier_of, vocabulary_of
from sentiment.recurrent import Recurrent


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


def recurrent_layers(model: keras.Model) -> list[tuple[keras.layers.Layer, list[tuple[str, Recurrent]]]]:
    """Each recurrent layer of the classifier, in order, with its directions."""
    found = []
    for layer in classifier_of(model).layers:
        if isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, Recurrent):
            if layer.merge_mode != "concat":
                raise ValueError(f"Tracing needs merge_mode='concat'. Received: {layer.merge_mode!r}")
            found.append((layer, [("forward", layer.forward_layer), ("backward", layer.backward_layer)]))
        elif isinstance(layer, Recurrent):
            found.append((layer, [("forward", layer)]))
    if not found:
        raise ValueError(f"Model {model.name!r} has no recurrent layer of ours to trace.")
    return found


def _build_trace_fn(model: keras.Model):
    classifier = classifier_of(model)
    layers = recurrent_layers(model)
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


def trace(model: keras.Model, text: str) -> Trace:
    """Every gate and state of every recurrent layer, token by token, for ``text``.

    Args:
        model: a full sentiment model (raw text in), as `sentiment.model.build_model` makes.
        text: the review.

    Returns:
        The tokens the model reads, P(positive) and, per recurrent layer and
        direction, a (tokens, units) array for each gate and state.

    Raises:
        ValueError: the review has no token the model reads.
    """
    from sentiment.passes import stack_of

    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    stack = stack_of(model)
    if stack is None:
        return trace_through_keras(model, text)
    ids, total = stack.read(text)
    if len(ids) == 0:
        raise ValueError(_NO_WORDS)
    out = stack.trace(ids)
    return trace_of(model, stack.vocabulary[ids], out["probability"], out["values"], total)


def trace_of(model: keras.Model, tokens, probability: float, values: dict, total_tokens: int) -> Trace:
    """A `Trace` from what a compiled pass gives (`sentiment.passes`)."""
    layers = []
    for layer, directions in recurrent_layers(model):
        for direction, rnn in directions:
            cell = rnn.cell
            layers.append(LayerTrace(layer.name, direction, (*cell.gates, *cell.states), values[layer.name][direction]))
    head_tail = model.get_layer(HEAD_TAIL)
    return Trace(
        tokens=[str(t) for t in tokens],
        probability=float(probability),
        layers=layers,
        total_tokens=int(total_tokens),
        max_length=head_tail.max_length,
        head=head_tail.head,
    )


_NO_WORDS = "The review has no words the model can read (only spaces, punctuation or symbols)."


def trace_through_keras(model: keras.Model, text: str) -> Trace:
    """`trace` through Keras's own time loop, uncompiled (about 60-100 ms a
    direction for 800 tokens on 2 CPU cores, warm).

    Args:
        model: a full sentiment model (raw text in), as `sentiment.model.build_model` makes.
        text: the review.

    Returns:
        The tokens the model reads, P(positive) and, per recurrent layer and
        direction, a (tokens, units) array for each gate and state.

    Raises:
        ValueError: the review has no token the model reads.
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    fn = getattr(model, "_sentiment_trace_fn", None)
    if fn is None:
        fn = model._sentiment_trace_fn = _build_trace_fn(model)
    out = fn(tf.constant(text))
    n = int(out["n"])
    if n == 0:
        raise ValueError(_NO_WORDS)
    vocab = vocabulary_of(model)
    layers = []
    for layer, directions in recurrent_layers(model):
        for direction, rnn in directions:
            cell = rnn.cell
            values = {name: v.numpy()[0] for name, v in out["values"][layer.name][direction].items()}
            layers.append(LayerTrace(layer.name, direction, (*cell.gates, *cell.states), values))
    head_tail = model.get_layer(HEAD_TAIL)
    return Trace(
        tokens=[str(vocab[i]) for i in out["ids"].numpy()],
        probability=float(out["probability"]),
        layers=layers,
        total_tokens=int(out["total"]),
        max_length=head_tail.max_length,
        head=head_tail.head,
    )
