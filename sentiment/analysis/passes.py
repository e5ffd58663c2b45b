"""A model's passes over one review, compiled with XLA: what the app's
traces and explanations compute, in one call per model each.

The cost of reading a review is its recurrent loop: 800 small steps in turn
per direction. Under ``tf.function`` each step's ops cost executor overhead
(tens of ms a direction for one review, the backward pass several times that);
compiled with XLA the same loop costs a few ms (docs/benchmark.md). Two things keep XLA from compiling
Keras's own loop usefully (see `sentiment.network.recurrent`): it would compile once
per review length, and its gradient of a loop is slow. So the passes here run
`Recurrent.run` (our loop over a buffer of the model's max length; the number
of steps is a tensor: one compile per model) and `Recurrent.backprop`
(back-propagation through time, each step differentiated by autodiff of the
cell's ``step``). What the recurrent layers read and what reads them are the
saved model's own: the embedding table and, after the last recurrent layer,
a sub-model of the classifier (the pooling and the Dense head).

- `Passes.trace`: every gate and state of every recurrent layer, for one review.
- `Passes.explain`: in one pass (forward, then backward where needed), the
  integrated-gradients path (``IG_POINTS`` points: 16 trapezoid steps), the
  occlusion variants (``OCCLUSION_VARIANTS``) and the unit contributions.
  Batching costs little here: a step multiplies (rows, units) by (units,
  gates x units), and a row more costs far less than a pass more.
- `Passes.reach`: the gradient reach of `sentiment.analysis.gradients` for one review
  (forward; back-propagation through time of the logit; and again from the
  final state alone, through the last layer's forward direction).

Two more savings, both exact up to float rounding: the first layer's input
projection (``x @ kernel + bias``, two thirds of an LSTM step's multiply-adds)
is computed once for the review's tokens and the padding vector (for a cell
with ``reads_projection``: it takes ``step_from_projection``), and every
row's follows from them (a path point's is ``P(b) + a (P(x) - P(b))``, a
variant's is the review's with rows dropped); and the integrated-gradients
rows' gradients are summed with their trapezoid weights before they go back
through that projection.

Models whose layers between the embedding and the head are not our recurrent
layers (and inference-time no-ops: dropout) are not covered: `passes_of` gives
None, and callers take the uncompiled path through Keras's layers.
"""

from __future__ import annotations

import enum
import os

import keras
import numpy as np
import tensorflow as tf

from sentiment.analysis.reader import ModelReader, logit, reader_of
from sentiment.network.model import EMBEDDING

# Integrated gradients start with this many trapezoid steps; where the shares
# do not add up (`sentiment.analysis.explain`), the steps double, and each
# doubling is computed as passes of the new midpoints.
IG_FIRST_STEPS = 16
IG_POINTS = IG_FIRST_STEPS + 1  # path points in the pass with occlusion: the trapezoid's ends included
PATH_POINTS = IG_FIRST_STEPS  # path points in a pass of the path alone (midpoints)
OCCLUSION_VARIANTS = 32  # reviews with a word (or a span of a long review) dropped, in the first pass
BATCH_ROWS = 32  # reviews a pass of `Passes.trace_batch` reads together


class Program(enum.StrEnum):
    """The passes a caller can have compiled ahead of use (`Passes.warm`)."""

    EXPLAIN = "explain"  # a trace and its explanation, in one pass
    PATH = "path"  # the integrated-gradients path alone: more steps where 16 do not add up
    TRACE = "trace"
    REACH = "reach"


def covers(reader: ModelReader) -> bool:
    """Whether the compiled passes read this model: embedding -> our recurrent
    layers (with inference-time no-ops between them: dropout) -> head."""
    names = [layer.name for layer in reader.classifier.layers]
    first, last = names.index(reader.layers[0][0].name), names.index(reader.last_layer.name)
    recurrent = {id(layer) for layer, _ in reader.layers}
    between = reader.classifier.layers[names.index(EMBEDDING) + 1 : last + 1]
    # (SpatialDropout1D is a Dropout too.)
    odd = [layer for layer in between if id(layer) not in recurrent and not isinstance(layer, keras.layers.Dropout)]
    return not odd and names.index(EMBEDDING) < first


class Passes:
    """A model's compiled passes over one review (see the module's docstring).

    Each program is traced and compiled on its first call (seconds), once per
    model; then every thread runs it. Compiling is the caller's to order: the
    app compiles in its one warm-up thread (`sentiment.app.warmup`), and a
    command reads one review at a time.
    """

    def __init__(self, reader: ModelReader):
        self.reader = reader
        self.layers = reader.layers
        self.table = reader.table
        self.head, self.head_masks, self.per_step = reader.head, reader.head_masks, reader.per_step
        self.length = reader.max_length
        self.ids_dtype = tf.int64  # TextVectorization's
        self.projected = {id(rnn): rnn.cell.reads_projection for _, directions in self.layers for _, rnn in directions}

    # -- pieces --------------------------------------------------------------------------------------

    def _project(self, rnn, x):
        return rnn.cell.project(x) if self.projected[id(rnn)] else x

    def _input_grad(self, rnn, x, grad):
        """The gradient with respect to ``x`` from one with respect to what the loop read of it."""
        if not self.projected[id(rnn)]:
            return grad
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = rnn.cell.project(x)
        return tape.gradient(y, x, output_gradients=grad)

    def _forward(self, first, lengths, steps, gate_rows=0):
        """Every layer and direction, from the first layer's inputs (per
        direction: a time-major tensor or a function of the position, as
        `Recurrent.run` takes); [[(inputs, states, gates) per direction] per layer]."""
        out = []
        for index, (_, directions) in enumerate(self.layers):
            if index == 0:
                inputs = first
            else:
                below = tf.concat([states[0] for _, states, _ in out[-1]], -1)
                inputs = [self._project(rnn, below) for _, rnn in directions]
            out.append(
                [
                    (x, *rnn.run(x, lengths, steps, self.projected[id(rnn)], gate_rows, size=self.length))
                    for (_, rnn), x in zip(directions, inputs)
                ]
            )
        return out

    def _head_inputs(self, top, lengths):
        """What the head reads, from the last layer's output per direction (time, batch, units)."""
        if self.per_step:
            h = tf.transpose(tf.concat(top, -1), [1, 0, 2])
            mask = tf.range(self.length)[None, :] < lengths[:, None]
            return [h, mask][: 1 + self.head_masks]
        finals = []
        for (_, rnn), h in zip(self.layers[-1][1], top):
            # The final state: after the last token, or (backwards) after the first.
            at = tf.zeros_like(lengths) if rnn.go_backwards else tf.maximum(lengths - 1, 0)
            finals.append(tf.gather(tf.transpose(h, [1, 0, 2]), at, batch_dims=1))
        return [tf.concat(finals, -1)]

    def _backward(self, out, top_grads, rows, steps, weights, vectors, path):
        """Gradient of the differentiated sum with respect to the word vectors,
        summed over the first ``rows`` rows with ``weights``: (time, features).
        ``path``: per direction of the first layer, what it read for those rows."""
        grads = [g[:, :rows] for g in top_grads]
        for index in reversed(range(len(self.layers))):
            directions = self.layers[index][1]
            total = 0.0
            for (_, rnn), (x, states, _), g, read in zip(directions, out[index], grads, path):
                kept = [s[:, :rows] for s in states]
                projected = self.projected[id(rnn)]
                if index == 0:
                    d = rnn.backprop(read, kept, g, steps, projected, row_weights=weights, size=self.length)
                    total += self._input_grad(rnn, vectors, d)
                else:
                    d = rnn.backprop(x[:, :rows], kept, g, steps, projected)
                    below = tf.concat([s[0][:, :rows] for _, s, _ in out[index - 1]], -1)
                    total += self._input_grad(rnn, below, d)
            if index == 0:
                return total
            grads = tf.split(total, [rnn.cell.units for _, rnn in self.layers[index - 1][1]], axis=-1)

    # -- compiled passes -----------------------------------------------------------------------------

    def _program(self, key, build):
        """``build()`` (a tf.function), made once per model and key, kept with the model's reader."""
        return self.reader.memo(("program", key), build)

    def warm(self, *programs: Program) -> None:
        """Compiles ``programs`` now, on a review of one unknown word: the
        programs do not depend on the review."""
        ids = np.ones(1, "int64")  # [UNK]
        runs = {
            Program.EXPLAIN: lambda: self.explain(
                ids, np.ones(1, "float32"), np.ones(1, "float32"), [np.zeros(1, "int32")]
            ),
            Program.PATH: lambda: self.explain(ids, np.full(1, 0.5, "float32"), np.zeros(1, "float32")),
            Program.TRACE: lambda: self.trace(ids),
            Program.REACH: lambda: self.reach(ids),
        }
        for program in programs:
            if program not in runs:
                raise ValueError(f"No compiled program {program!r}: {', '.join(Program)}.")
            runs[program]()

    def trace(self, ids: np.ndarray) -> dict:
        """Every gate and state of every layer and direction, and P(positive),
        for one review's token ids (unpadded, at most the max length).

        Returns:
            {"probability": float, "values": {layer: {direction: {name: (tokens, units) array}}}}.
        """
        fn = self._program("trace", self._build_trace)
        out = fn(self._padded(ids), tf.constant(len(ids), tf.int32))
        n = len(ids)
        values = {
            layer: {d: {name: v.numpy()[:n] for name, v in by_name.items()} for d, by_name in dirs.items()}
            for layer, dirs in out["values"].items()
        }
        return {"probability": float(out["probability"]), "values": values}

    def _padded(self, ids):
        ids = np.asarray(ids)
        if not 0 < len(ids) <= self.length:
            raise ValueError(f"Expected 1 to {self.length} token ids. Received: {len(ids)}")
        return tf.constant(np.pad(ids, (0, self.length - len(ids))), self.ids_dtype)

    def _values(self, out):
        """{layer: {direction: {gate or state: (time, units)}}} of the first row."""
        values = {}
        for (layer, directions), per_direction in zip(self.layers, out):
            values[layer.name] = {}
            for (direction, rnn), (_, states, gates) in zip(directions, per_direction):
                cell = rnn.cell
                named = zip((*cell.gate_names, *cell.state_names), (*gates, *states))
                values[layer.name][direction] = {name: v[:, 0] for name, v in named}
        return values

    def _build_trace(self):
        spec = [tf.TensorSpec([self.length], self.ids_dtype), tf.TensorSpec([], tf.int32)]

        @tf.function(input_signature=spec, jit_compile=True, autograph=False)
        def run(ids, n):
            x = tf.gather(self.table, ids)[:, None, :]
            lengths = tf.reshape(n, [1])
            out = self._forward([self._project(rnn, x) for _, rnn in self.layers[0][1]], lengths, n, gate_rows=1)
            top = [states[0] for _, states, _ in out[-1]]
            probability = self.head(self._head_inputs(top, lengths), training=False)[0, 0]
            return {"probability": probability, "values": self._values(out)}

        return run

    def trace_batch(self, ids: list[np.ndarray]) -> dict:
        """Every gate and state of the last recurrent layer, for up to
        `BATCH_ROWS` reviews at once (what the unit atlas reads of many
        reviews), and each one's P(positive).

        Args:
            ids: each review's token ids, unpadded, 1 to the max length each.

        Returns:
            {"probabilities": (reviews,), "lengths": (reviews,), "values":
            {direction: {name: (reviews, time, units)}}}, ``time`` the longest
            review's length (past a review's own length: the state carried).
        """
        if not 0 < len(ids) <= BATCH_ROWS:
            raise ValueError(f"Expected 1 to {BATCH_ROWS} reviews. Received: {len(ids)}")
        padded = np.zeros((BATCH_ROWS, self.length), "int64")
        lengths = np.zeros(BATCH_ROWS, "int32")
        for row, review in enumerate(ids):
            padded[row] = self._padded(review).numpy()
            lengths[row] = len(review)
        out = self._program("trace_batch", self._build_trace_batch)(tf.constant(padded), tf.constant(lengths))
        n, steps = len(ids), int(lengths.max())
        values = {
            d: {name: np.swapaxes(v.numpy()[:steps, :n], 0, 1) for name, v in by.items()}
            for d, by in out["values"].items()
        }
        return {"probabilities": out["probabilities"].numpy()[:n], "lengths": lengths[:n], "values": values}

    def _build_trace_batch(self):
        spec = [tf.TensorSpec([BATCH_ROWS, self.length], self.ids_dtype), tf.TensorSpec([BATCH_ROWS], tf.int32)]

        @tf.function(input_signature=spec, jit_compile=True, autograph=False)
        def run(ids, lengths):
            x = tf.gather(self.table, tf.transpose(ids))  # (time, rows, features)
            steps = tf.reduce_max(lengths)
            out = self._forward([self._project(rnn, x) for _, rnn in self.layers[0][1]], lengths, steps, BATCH_ROWS)
            top = [states[0] for _, states, _ in out[-1]]
            probabilities = self.head(self._head_inputs(top, lengths), training=False)[:, 0]
            (_, directions) = self.layers[-1]
            values = {}
            for (direction, rnn), (_, states, gates) in zip(directions, out[-1]):
                cell = rnn.cell
                values[direction] = dict(zip((*cell.gate_names, *cell.state_names), (*gates, *states)))
            return {"probabilities": probabilities, "values": values}

        return run

    def explain(self, ids: np.ndarray, alphas: np.ndarray, weights: np.ndarray, variants=None) -> dict:
        """One pass: integrated gradients along ``alphas`` (summed with the
        trapezoid ``weights``), P(positive) of each of ``variants`` and, for
        the first row, the review at ``alphas[0]`` (give 1: the review itself),
        its trace and each unit's gradient x activation of the logit.

        Args:
            ids: the review's token ids, unpadded.
            alphas, weights: at most ``IG_POINTS`` path points and their
                weights (rows left over get weight 0).
            variants: at most ``OCCLUSION_VARIANTS`` arrays of positions in the
                review: the tokens each variant keeps (rows left over are
                empty, and cost as much as the others). None: a pass of the
                path alone, at most ``PATH_POINTS`` points (a program of its
                own, compiled when first needed: for more steps of the path).

        Returns:
            {"probabilities": (points,) P(positive) at each point,
            "gradient_sum": (tokens, features) the weighted sum of the
            gradients of P(positive) with respect to the word vectors; unless
            ``variants`` is None: "variants": (variants,) P(positive) of each,
            and for the first row "units" (directions x units,), "logit",
            "logit_at_zero", "values" (as `trace` gives)}.
        """
        n, points = len(ids), len(alphas)
        size, rows = (PATH_POINTS, 0) if variants is None else (IG_POINTS, OCCLUSION_VARIANTS)
        if points > size or len(variants or ()) > rows:
            raise ValueError(f"At most {size} path points and {rows} variants a pass.")
        fn = self._program(("explain", size, rows), lambda: self._build_explain(size, rows))
        a = np.ones(size, "float32")
        w = np.zeros(size, "float32")
        a[:points], w[:points] = alphas, weights
        positions = np.zeros((rows, self.length), "int32")
        lengths = np.zeros(rows, "int32")
        for row, kept in enumerate(variants or ()):
            positions[row, : len(kept)], lengths[row] = kept, len(kept)
        out = fn(self._padded(ids), tf.constant(n, tf.int32), a, w, positions, lengths)
        result = {
            "probabilities": out["probabilities"].numpy()[:points],
            "gradient_sum": out["gradient_sum"].numpy()[:n],
        }
        if variants is None:
            return result
        return {
            **result,
            "variants": out["variants"].numpy()[: len(variants)],
            "units": out["units"].numpy(),
            "logit": float(out["logit"]),
            "logit_at_zero": float(out["at_zero"]),
            "values": {
                layer: {d: {name: v.numpy()[:n] for name, v in by_name.items()} for d, by_name in dirs.items()}
                for layer, dirs in out["values"].items()
            },
        }

    def _build_explain(self, points, rows):
        spec = [
            tf.TensorSpec([self.length], self.ids_dtype),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([points], tf.float32),
            tf.TensorSpec([points], tf.float32),
            tf.TensorSpec([rows, self.length], tf.int32),
            tf.TensorSpec([rows], tf.int32),
        ]

        @tf.function(input_signature=spec, jit_compile=True, autograph=False)
        def run(ids, n, alphas, weights, positions, variant_lengths):
            vectors = tf.gather(self.table, ids)
            baseline = self.table[0]  # the padding vector, at every position
            # What the first layer reads at a position, made there from the
            # review's (projected) vectors: no (time, rows, features) tensor.
            path, first = [], []
            for _, rnn in self.layers[0][1]:
                x, b = self._project(rnn, vectors), self._project(rnn, baseline)

                def on_path(pos, x=x, b=b):
                    return b[None, :] + alphas[:, None] * (tf.gather(x, pos) - b)[None, :]

                def every_row(pos, x=x, on_path=on_path):
                    return tf.concat([on_path(pos), tf.gather(x, tf.gather(positions, pos, axis=1))], 0)

                path.append(on_path)
                first.append(every_row)
            lengths = tf.concat([tf.fill([points], n), variant_lengths], 0)
            out = self._forward(first, lengths, n, gate_rows=1 if rows else 0)
            top = [states[0] for _, states, _ in out[-1]]
            with tf.GradientTape() as tape:
                tape.watch(top)
                probabilities = self.head(self._head_inputs(top, lengths), training=False)[:, 0]
                total = tf.reduce_sum(probabilities[:points])  # rows of weight 0 are weighted out below
            top_grads = tape.gradient(total, top)
            gradient_sum = self._backward(out, top_grads, points, n, weights, vectors, path)
            if not rows:
                return {"probabilities": probabilities, "gradient_sum": gradient_sum}
            # The units, of the first row: what the head reads, times the logit's gradient.
            h = self._head_inputs([t[:, :1] for t in top], tf.reshape(n, [1]))
            with tf.GradientTape() as tape:
                tape.watch(h[0])
                logit_ = logit(self.head(h, training=False)[0, 0])
            share = h[0] * tape.gradient(logit_, h[0])
            at_zero = logit(self.head([tf.zeros_like(h[0]), *h[1:]], training=False)[0, 0])
            return {
                "probabilities": probabilities[:points],
                "gradient_sum": gradient_sum,
                "variants": probabilities[points:],
                "units": (tf.reduce_sum(share, axis=1) if self.per_step else share)[0],
                "logit": logit_,
                "at_zero": at_zero,
                "values": self._values(out),
            }

        return run

    def reach(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`sentiment.analysis.gradients.gradient_reach`'s two curves for one review's
        token ids (unpadded): per token, |∂logit/∂(word vector)|, and
        |∂(w·h_T)/∂s_t| through the last layer's forward direction alone (its
        inputs held fixed; ``s_t`` every state it carries after token t; ``w``
        the gradient of the logit with respect to that direction's final h)."""
        fn = self._program("reach", self._build_reach)
        out = fn(self._padded(ids), tf.constant(len(ids), tf.int32))
        n = len(ids)
        return out["embedding"].numpy()[:n], out["recurrence"].numpy()[:n]

    def _build_reach(self):
        spec = [tf.TensorSpec([self.length], self.ids_dtype), tf.TensorSpec([], tf.int32)]

        @tf.function(input_signature=spec, jit_compile=True, autograph=False)
        def run(ids, n):
            vectors = tf.gather(self.table, ids)
            first = [self._project(rnn, vectors[:, None, :]) for _, rnn in self.layers[0][1]]
            lengths = tf.reshape(n, [1])
            out = self._forward(first, lengths, n)
            top = [states[0] for _, states, _ in out[-1]]
            with tf.GradientTape() as tape:
                tape.watch(top)
                review_logit = logit(self.head(self._head_inputs(top, lengths), training=False)[0, 0])
            top_grads = tape.gradient(review_logit, top)
            embedding = self._backward(out, top_grads, 1, n, tf.ones([1], vectors.dtype), vectors, first)
            # The recurrence alone: only w, at the last token, goes in from outside.
            directions = [d for d, _ in self.layers[-1][1]]
            index = directions.index("forward")
            rnn = self.layers[-1][1][index][1]
            read, states, _ = out[-1][index]
            at_end = tf.cast(tf.equal(tf.range(self.length), n - 1), top_grads[index].dtype)[:, None, None]
            _, norms = rnn.backprop(
                read,
                states,
                top_grads[index] * at_end,
                n,
                self.projected[id(rnn)],
                size=self.length,
                state_norms=True,
            )
            return {"embedding": tf.norm(embedding, axis=-1), "recurrence": norms[:, 0]}

        return run


def keep_compiled_programs(directory: str | None = None) -> str | None:
    """Points TensorFlow's persistent XLA cache at ``directory``, so that a
    process started later loads the compiled programs instead of compiling
    them again (docs/benchmark.md has what it saves). The programs are keyed by what they compute,
    not by the weights: a retrained model of the same shape reuses them.

    Call it before the process's first XLA compile (it sets TF_XLA_FLAGS,
    which TensorFlow reads then). Nothing changes where TF_XLA_FLAGS names a
    cache already. A kept program is found again only where the process
    traced the same functions before it, in the same order: the names
    TensorFlow numbers its functions with are part of the key. (The app
    compiles its models one after the other, in the order of their files.)

    Args:
        directory: default: ``$XDG_CACHE_HOME`` (or ~/.cache) /sentiment/xla-tf<version>.

    Returns:
        The directory in use, or None where TF_XLA_FLAGS had one already.
    """
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if "tf_xla_persistent_cache_directory" in flags:
        return None
    if directory is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        directory = os.path.join(base, "sentiment", f"xla-tf{tf.__version__}")
    os.makedirs(directory, exist_ok=True)
    os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={directory}".strip()
    return directory


def passes_of(model: keras.Model) -> Passes | None:
    """The model's compiled passes, built once and kept with its reader; None
    for a model they do not cover."""
    reader = reader_of(model)
    return reader.memo("passes", lambda: Passes(reader) if covers(reader) else None)
