"""How far back the gradient reaches, and what the gates keep: the argument
for gates, measured on real reviews.

Back-propagation through time multiplies one Jacobian per step. For the
Elman RNN, ``∂h_t/∂h_{t-1} = diag(1-h_t²)·W``, so the gradient that reaches
an early word shrinks (or grows) geometrically with its distance from the
end. The LSTM's cell path ``c'=f⊙c+i⊙c̃`` (``∂c_t/∂c_{t-1} = diag(f_t)``) and
the GRU's ``h'=(1-z)⊙h+z⊙h̃`` let it through where the gates say so.

- `gradient_reach`: per token, the norm of the gradient of the model's logit
  with respect to the token's word vector, and of the gradient that flows back
  through the recurrence alone, from the final state (projected on the
  direction the classifier reads it in) to the state at that step.
- `retention`: per token, the share of what the cell wrote there that is still
  in memory at the end, from the traced gates: ``∏ f`` after it (LSTM),
  ``∏ (1-z)`` (GRU).
- `saturation`: per unit, the share of tokens where each gate is below 0.1 or
  above 0.9 (Karpathy, Johnson and Fei-Fei 2015, fig. 3).
- `reach_profile`: the per-token curves of many reviews as a median and a
  band per distance from the end, for saving beside a model.

All of it is TF autodiff over the model's own layers and the cell's own
``step``: no gate is re-implemented.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from sentiment.analysis.explain import logit_gradient
from sentiment.analysis.reader import logit, reader_of
from sentiment.analysis.traces import Trace
from sentiment.network.keras_internals import backend_rnn

# Distances from the end of a review (in tokens) at which curves are summarised.
DISTANCES = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass
class Reach:
    """Gradient norms for one review and one model, by token position."""

    tokens: list[str]
    embedding: np.ndarray  # |∂logit/∂x_t| for each token's word vector
    recurrence: np.ndarray  # |∂(w·h_T)/∂s_t|, s_t every carried state: through the recurrence alone

    @property
    def distance(self) -> np.ndarray:
        """Each token's distance from the end of the review (0: the last token)."""
        return np.arange(len(self.tokens))[::-1]


def _embedding_gradient(reader, x, n_masks):
    with tf.GradientTape() as tape:
        tape.watch(x)
        p = reader([x, *([tf.ones(tf.shape(x)[:2], tf.bool)] if n_masks else [])], training=False)[:, 0]
        value = logit(p)
    return tf.norm(tape.gradient(value, x), axis=-1)


def _recurrence_gradient(rnn, x, direction):
    """|∂(direction·h_T)/∂s_t| for every t, ``s_t`` every state the cell
    carries (h; h and c for the LSTM): a zero added to each state after each
    step, differentiated at zero, through Keras's own time loop."""
    cell = rnn.cell
    units, n_states = cell.units, len(cell.state_names)
    width = units * n_states
    zeros = tf.zeros(tf.concat([tf.shape(x)[:2], [width]], 0), dtype=x.dtype)
    with tf.GradientTape() as tape:
        tape.watch(zeros)

        def step(inputs, states):
            x_t, nudge = inputs[:, :-width], inputs[:, -width:]
            _, new_states, _ = cell.step(x_t, states)
            new_states = [s + nudge[:, k * units : (k + 1) * units] for k, s in enumerate(new_states)]
            return new_states[0], new_states

        initial = rnn.get_initial_state(batch_size=tf.shape(x)[0])
        last, _, _ = backend_rnn(
            step,
            tf.concat([x, zeros], -1),
            list(initial) if isinstance(initial, (list, tuple)) else [initial],
            time_major=False,
            return_all_outputs=False,
        )
        s = tf.reduce_sum(last * direction, axis=-1)
    return tf.norm(tape.gradient(s, zeros), axis=-1)


def reach_of_ids(model: keras.Model, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`gradient_reach`'s two curves for a batch of reviews of one length
    (token ids, no padding), each (batch, tokens)."""
    reader = reader_of(model)
    batch = tf.constant(ids)
    vectors = tf.gather(reader.table, batch)
    embedding = reader.function(_embedding_gradient, reader.from_vectors, n_masks=reader.vector_masks)(vectors)
    _, _, grad, _ = logit_gradient(reader, ids)
    forward = dict(reader.layers[-1][1])["forward"]
    units = forward.cell.units
    direction = grad[:, -1, :units] if reader.per_step else grad[:, :units]
    x = reader.last_input(batch, training=False)
    recurrence = reader.function(_recurrence_gradient, forward)(x, direction)
    return embedding.numpy(), recurrence.numpy()


def reach_of_reviews(model: keras.Model, texts: list[str], step: int = 32) -> list[Reach]:
    """`gradient_reach` for many reviews, batched: each review is cut to its
    last ``step``·k tokens (the largest multiple of ``step`` that fits; a
    shorter review is kept whole), so that reviews of one length run together.
    The curves are read from the end, so the cut loses only the first tokens."""
    reader = reader_of(model)
    groups: dict[int, list[np.ndarray]] = {}
    for text in texts:
        ids = reader.review_ids(text)
        n = len(ids) if len(ids) < step else step * (len(ids) // step)
        groups.setdefault(n, []).append(ids[len(ids) - n :])
    out = []
    for _, rows in sorted(groups.items()):
        for start in range(0, len(rows), 64):
            chunk = np.stack(rows[start : start + 64])
            embedding, recurrence = reach_of_ids(model, chunk)
            out += [Reach(reader.tokens(r), e, c) for r, e, c in zip(chunk, embedding, recurrence)]
    return out


def retention(trace: Trace) -> dict[str, np.ndarray]:
    """For each forward layer of ``trace`` with a keep gate, per token and
    unit, the share of what was written at that token still kept at the end:
    the product of the keep gate over the later tokens (1 at the last token).

    LSTM: ``∏ f`` (the cell state's path, ``c'=f⊙c+i⊙c̃``); GRU: ``∏ (1-z)``
    (``h'=(1-z)⊙h+z⊙h̃``). Cells without a keep gate (Elman, Jordan) have no
    entry: they overwrite their state at every step.

    Returns:
        {layer label: (tokens, units) array}.
    """
    out = {}
    for layer in trace.layers:
        if layer.direction != "forward":
            continue  # the backward direction ends at the first token: its "end" is the review's start
        if "forget" in layer.values:
            keep = layer.values["forget"]
        elif "update" in layer.values:
            keep = 1.0 - layer.values["update"]
        else:
            continue
        # kept[t] = prod_{k>t} keep[k]: a reversed cumulative product, shifted by one.
        later = np.concatenate([keep[1:], np.ones((1, keep.shape[1]), keep.dtype)])
        out[layer.label] = np.cumprod(later[::-1], axis=0)[::-1]
    return out


def saturation(traces: list[Trace], low: float = 0.1, high: float = 0.9) -> dict[str, dict[str, np.ndarray]]:
    """Per layer and sigmoid gate, per unit: the share of all tokens of
    ``traces`` where the gate is below ``low`` and where it is above ``high``.

    Returns:
        {layer label: {gate: (2, units) array: [share below low, share above high]}}.
    """
    sums: dict[str, dict[str, np.ndarray]] = {}
    count: dict[str, int] = {}
    for t in traces:
        for layer in t.layers:
            gates = [q.name for q in layer.quantities if q.is_gate]
            for name in gates:
                v = layer.values[name]
                acc = sums.setdefault(layer.label, {}).setdefault(name, np.zeros((2, v.shape[1])))
                acc[0] += (v < low).sum(axis=0)
                acc[1] += (v > high).sum(axis=0)
            count[layer.label] = count.get(layer.label, 0) + len(t.tokens)
    return {label: {g: a / max(count[label], 1) for g, a in gates.items()} for label, gates in sums.items()}


def reach_profile(reaches: list[Reach], distances=DISTANCES) -> dict[str, dict[str, list[float | None]]]:
    """Median and quartiles, over reviews, of each curve at each distance from
    the end (reviews shorter than a distance do not count there). Each review's
    curve is divided by its value at the last token first, so reviews of
    different strengths compare: the curves start at 1.

    Returns:
        {"embedding" | "recurrence": {"distance", "median", "q25", "q75", "n"}}.
    """
    out = {}
    for kind in ("embedding", "recurrence"):
        at = {d: [] for d in distances}
        for r in reaches:
            curve = getattr(r, kind)[::-1]  # index = distance from the end
            base = curve[0] if curve[0] > 0 else np.nan
            for d in distances:
                if d < len(curve):
                    at[d].append(curve[d] / base)
        rows = {"distance": list(distances), "median": [], "q25": [], "q75": [], "n": []}
        for d in distances:
            values = np.asarray([v for v in at[d] if np.isfinite(v)])
            rows["n"].append(int(len(values)))
            for key, q in (("median", 50), ("q25", 25), ("q75", 75)):
                rows[key].append(float(np.percentile(values, q)) if len(values) else None)
        out[kind] = rows
    return out
