"""The sentiment model's forward pass in NumPy: raw text in, P(positive) out.

    text -> ids (`text`) -> embedding -> recurrent layers, each direction a
    loop of its cell's step (`cells`) -> max and mean over time, or the last
    state -> sigmoid(x @ w + b)

the same as `sentiment.network.model`'s at inference (its dropout layers do
nothing then). Reviews are read in batches, right-padded: past a review's end
a step carries its state unchanged, as Keras's mask makes it, and the
backward direction reads each review from its own last word.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from threadpoolctl import threadpool_limits

from sentiment.numpy_cells.cells import Cell, sigmoid
from sentiment.numpy_cells.keras_file import RecurrentLayer, SavedModel, read_keras_file
from sentiment.numpy_cells.text import PAD, Vocabulary, head_tail, pad

BATCH = 64  # reviews a pass: a (batch, 800, 4 x 64) projection is 105 MB
# Keras computes in float32, and so its P(positive) is off the exact one by up
# to ~5e-6 on the committed models (after 800 steps of a Jordan RNN). In
# float32 here too, our rounding would add to Keras's (8e-6 measured); in
# float64 the difference is Keras's alone.
DTYPE = np.float64


def run_cell(cell: Cell, w: dict, x: np.ndarray, lengths: np.ndarray, keep_all: bool = False):
    """One direction of a recurrent layer over right-padded ``x``.

    Args:
        cell: the cell.
        w: its weights by name.
        x: (batch, time, features), each row's steps from position 0.
        lengths: (batch,) each row's steps; later ones carry the state.
        keep_all: also return every gate and state at every step.

    Returns:
        ``(outputs, states, steps)``: ``outputs`` (batch, time, units), the
        hidden state at each step (0 past a row's end, as Keras gives);
        ``states``, each state after the row's last step; ``steps`` (with
        ``keep_all``), every gate's and state's (batch, time, units) values.
    """
    batch, time, _ = x.shape
    units = w["recurrent_kernel"].shape[0]
    xw = x @ w["kernel"] + w["bias"]  # the input's share of every gate, every step at once
    states = tuple(np.zeros((batch, units), x.dtype) for _ in cell.states)
    outputs = np.zeros((batch, time, units), x.dtype)
    steps = []
    for t in range(time):
        new, gates = cell.step(xw[:, t], states, w)
        live = (t < lengths)[:, None]
        states = tuple(np.where(live, n, s) for n, s in zip(new, states))
        outputs[:, t] = np.where(live, states[0], 0)
        if keep_all:
            steps.append((*gates, *states))
    if not keep_all:
        return outputs, states, None
    names = (*cell.gates, *cell.states)
    return outputs, states, {name: np.stack([s[k] for s in steps], axis=1) for k, name in enumerate(names)}


def reverse_rows(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each row's first ``length`` steps in reverse order, the padding left
    where it is (reversing twice gives ``x`` back)."""
    pos = np.arange(x.shape[1])[None, :]
    index = np.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)
    return np.take_along_axis(x, index[..., None], axis=1)


def run_layer(layer: RecurrentLayer, x: np.ndarray, lengths: np.ndarray, keep_all: bool = False):
    """A recurrent layer, one direction or both (the backward one reading each
    review from its end): ``(output, steps)``, ``output`` the step-by-step
    hidden states, or the last ones, directions side by side; ``steps``
    (``keep_all``) every gate and state by direction, in word order."""
    outputs, steps = [], {}
    for direction, w in layer.directions.items():
        backward = direction == "backward"
        seen = reverse_rows(x, lengths) if backward else x
        out, last, values = run_cell(layer.cell, w, seen, lengths, keep_all)
        if backward:
            out = reverse_rows(out, lengths)
            values = values and {k: reverse_rows(v, lengths) for k, v in values.items()}
        outputs.append(out if layer.return_sequences else last[0])
        steps[direction] = values
    return np.concatenate(outputs, axis=-1), steps


def masked_pool(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Max and mean over each row's steps, side by side (zeros for an empty review)."""
    live = (np.arange(x.shape[1])[None, :] < lengths[:, None])[..., None]
    count = np.maximum(lengths, 1)[:, None].astype(x.dtype)
    mean = np.where(live, x, 0).sum(axis=1) / count
    maxed = np.where(live, x, -np.inf).max(axis=1)
    maxed = np.where(lengths[:, None] > 0, maxed, 0)
    return np.concatenate([maxed, mean], axis=-1)


class NumpyModel:
    """A saved sentiment model, run in NumPy: `load` one."""

    def __init__(self, saved: SavedModel):
        self.saved = saved
        self.layers = [
            replace(layer, directions={d: _cast(w) for d, w in layer.directions.items()}) for layer in saved.layers
        ]
        self.dense = _cast({"kernel": saved.dense_kernel, "bias": saved.dense_bias})
        self.vocabulary = Vocabulary(saved.vocabulary)
        self.path, self.name = saved.path, saved.name

    def ids(self, texts: list[str]) -> np.ndarray:
        """The token ids the model reads, (batch, time), right-padded with 0."""
        s = self.saved
        return pad([head_tail(self.vocabulary.ids(t), s.max_length, s.head) for t in texts])

    @threadpool_limits.wrap(limits=1, user_api="blas")
    def forward(self, ids: np.ndarray, keep_all: bool = False):
        """``(P(positive) (batch,), steps)`` from token ids; ``steps`` (with
        ``keep_all``): every gate and state, by layer and direction."""
        # One BLAS thread: a step's matmuls are small, and threads waiting on
        # each other at every step of a loop made 1,000 reviews 6x slower on 2
        # busy cores (27 s against 4.2 s).
        s = self.saved
        lengths = (ids != PAD).sum(axis=1)
        x = s.embedding[ids].astype(DTYPE)  # the rows read, not the whole table
        steps = {}
        for layer in self.layers:
            x, steps[layer.name] = run_layer(layer, x, lengths, keep_all)
        if s.pooling == "max_mean":
            x = masked_pool(x, lengths)
        return sigmoid(x @ self.dense["kernel"] + self.dense["bias"])[:, 0].astype(np.float32), steps

    def predict(self, texts: list[str], batch_size: int = BATCH) -> np.ndarray:
        """P(positive) of each text, (n,) float32: in batches of similar
        length, so that little is padded."""
        texts = list(texts)
        ids = [head_tail(self.vocabulary.ids(t), self.saved.max_length, self.saved.head) for t in texts]
        out = np.empty(len(texts), np.float32)
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            out[index] = self.forward(pad([ids[i] for i in index]))[0]
        return out

    def trace(self, text: str) -> dict:
        """Every gate and state at each of ``text``'s words: {layer name:
        {direction: {name: (words, units) array}}}, as
        `sentiment.analysis.traces` gives them."""
        ids = self.ids([text])
        if not (ids != PAD).any():
            raise ValueError(f"No word of this text is read by {self.path}: nothing to trace.")
        steps = self.forward(ids, keep_all=True)[1]
        return {
            layer: {direction: {name: v[0] for name, v in values.items()} for direction, values in by_direction.items()}
            for layer, by_direction in steps.items()
        }


def _cast(weights: dict) -> dict:
    return {name: value.astype(DTYPE) for name, value in weights.items()}


def load(path: str | os.PathLike) -> NumpyModel:
    """The sentiment model saved at ``path``, run in NumPy.

    Raises:
        KerasFileError: a file this path cannot read (say so, and load it with Keras).
    """
    return NumpyModel(read_keras_file(path))
