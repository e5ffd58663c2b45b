"""Per-token traces: what every gate and state of a model does on one review.

The gate math is not repeated here: each recurrent layer runs its own cell's
``step`` through `Recurrent.trace`, and the other layers are the model's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from sentiment.model import HEAD_TAIL, VECTORIZER, MaskedPool, classifier_of, vocabulary_of
from sentiment.recurrent import Recurrent


@dataclass
class LayerTrace:
    """One recurrent layer in one direction: name -> (tokens, units) array."""

    layer: str
    direction: str  # "forward" or "backward"
    cell: str  # "LSTMCell", "GRUCell", "ElmanCell"
    gate_names: tuple[str, ...]
    state_names: tuple[str, ...]
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.layer} ({self.direction})"


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


def _build_trace_fn(model: keras.Model):
    vectorizer = model.get_layer(VECTORIZER)
    head_tail = model.get_layer(HEAD_TAIL)
    classifier = classifier_of(model)
    recurrent = [layer for layer in classifier.layers if isinstance(layer, (keras.layers.Bidirectional, Recurrent))]
    if not recurrent:
        raise ValueError(f"Model {model.name!r} has no recurrent layer to trace.")
    # Everything before the first recurrent layer (embeddings), as the model's
    # own layers; the recurrent layers are traced; the rest run as they are.
    first_input = recurrent[0].input  # [x, mask] where the layer was called with a mask
    embed = keras.Model(classifier.input, first_input[0] if isinstance(first_input, list) else first_input)
    after = classifier.layers[classifier.layers.index(recurrent[-1]) + 1 :]

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def run(text):
        all_ids = vectorizer(tf.reshape(text, [1]))
        ids = head_tail(all_ids)
        mask = tf.not_equal(ids, 0)  # what Embedding(mask_zero=True) gives
        x, values = embed(ids, training=False), {}
        for layer in recurrent:
            directions = (
                [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
                if isinstance(layer, keras.layers.Bidirectional)
                else [("forward", layer)]
            )
            parts = []
            for direction, rnn in directions:
                traced = rnn.trace(x, mask)
                for name, value in traced.items():
                    values[f"{layer.name}|{direction}|{name}"] = value[0]
                parts.append(traced["hidden"])
            # Bidirectional's default merge is "concat"; one review has
            # no padding, so the hidden states are the layer's outputs.
            x = tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0]
        for layer in after:
            if isinstance(layer, MaskedPool):
                x = layer(x, mask=mask)
            else:
                x = layer(x, training=False)
        return {"ids": ids[0], "total": tf.shape(all_ids)[1], "prob": x[0, 0], "values": values}

    return run


def trace(model: keras.Model, text: str) -> Trace:
    """Every gate and state of every recurrent layer, token by token, for ``text``.

    Raises ValueError when the review has no token the model reads.
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    for layer in classifier_of(model).layers:
        if isinstance(layer, keras.layers.Bidirectional) and layer.merge_mode != "concat":
            raise ValueError(f"Tracing needs merge_mode='concat'. Received: {layer.merge_mode!r}")
    fn = getattr(model, "_sentiment_trace_fn", None)
    if fn is None:
        fn = _build_trace_fn(model)
        model._sentiment_trace_fn = fn
    out = fn(tf.constant(text))
    ids = out["ids"].numpy()
    n = int(np.count_nonzero(ids))
    if n == 0:
        raise ValueError("The review has no words the model can read (only spaces, punctuation or symbols).")
    vocab = vocabulary_of(model)
    tokens = [str(vocab[i]) for i in ids[:n]]

    by_layer: dict[tuple[str, str], LayerTrace] = {}
    for key, value in out["values"].items():
        layer_name, direction, name = key.split("|")
        if (layer_name, direction) not in by_layer:
            layer = classifier_of(model).get_layer(layer_name)
            rnn = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
            by_layer[(layer_name, direction)] = LayerTrace(
                layer_name, direction, type(rnn.cell).__name__, rnn.cell.gate_names, rnn.cell.state_names
            )
        by_layer[(layer_name, direction)].values[name] = value.numpy()[:n]
    order = [layer.name for layer in classifier_of(model).layers]
    layer_traces = sorted(by_layer.values(), key=lambda t: (order.index(t.layer), t.direction != "forward"))
    head_tail = model.get_layer(HEAD_TAIL)
    return Trace(
        tokens=tokens,
        probability=float(out["prob"].numpy()),
        layers=layer_traces,
        total_tokens=int(out["total"].numpy()),
        max_length=head_tail.max_length,
        head=head_tail.head,
    )


def predict(model: keras.Model, texts: list[str]) -> np.ndarray:
    """P(positive) for each text, shape (n,)."""
    return model.predict(tf.constant(list(texts)), verbose=0)[:, 0]
