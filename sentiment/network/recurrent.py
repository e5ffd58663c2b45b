"""`Recurrent`: a `keras.layers.RNN` that runs our cells and traces them.

It runs ``cell.step`` at every time step (the same math as ``cell.call``), and
can return every gate's value at every step (`trace`). Everything else, initial
states, masks, ``go_backwards``, per-sequence dropout masks, serialization and
`keras.layers.Bidirectional`, is `keras.layers.RNN`'s. (Measured in
benchmark.py: neither computing ``x @ kernel`` for all steps before the loop
nor skipping per-step masks for right-padded batches made training faster on a
2-core CPU, so the loop is kept plain.)

`run` and `backprop` are a second time loop, of our own, for passes compiled
with XLA (`sentiment.analysis.passes`): the app's explanations and traces. Keras's loop
takes its number of steps from the input's shape, and XLA compiles once per
shape, so every review length would compile anew (seconds); `run` reads a
buffer of fixed length and takes the number of steps as a tensor. And XLA's
own gradient of a while loop is slow (docs/benchmark.md: many times the
forward pass), so `backprop` is back-propagation through time as a
loop of its own: each step's vector-Jacobian product by autodiff of the
cell's own ``step``, from the states `run` kept. Both run ``cell.step``; no
gate is written twice.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from sentiment.network.cells import CELLS, PACKAGE, RecurrentCell
from sentiment.network.keras_internals import backend_rnn


@keras.saving.register_keras_serializable(package=PACKAGE)
class Recurrent(keras.layers.RNN):
    """Runs one of our cells (`sentiment.network.cells`) over a sequence.

    Same arguments and results as `keras.layers.RNN`; the cell must be a
    `RecurrentCell`.
    """

    def __init__(self, cell, **kwargs):
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not isinstance(cell, RecurrentCell):
            raise ValueError(
                "`Recurrent` runs the cells of `sentiment.network.cells` "
                f"({', '.join(c.__name__ for c in CELLS.values())}). Received: cell={cell!r}"
            )
        if kwargs.get("unroll") or kwargs.get("stateful"):
            raise ValueError(
                "`Recurrent` supports neither `unroll` nor `stateful`. "
                f"Received: unroll={kwargs.get('unroll')}, stateful={kwargs.get('stateful')}"
            )
        super().__init__(cell, **kwargs)

    def inner_loop(self, sequences, initial_state, mask, training=False, with_gates=False):
        """Keras's time loop over ``cell.step``; with ``with_gates``, each
        step's output also holds every gate and state."""
        cell = self.cell
        sequences = cell.drop_inputs(sequences, training)  # once, not at every step

        def step(x, states):
            output, new_states, gates = cell.step(x, states, training)
            if with_gates:
                output = ops.concatenate([output, *gates, *new_states], axis=-1)
            return output, new_states

        return backend_rnn(
            step,
            sequences,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            input_length=sequences.shape[1],
            # Batch-major in and out (the loop transposes to time-major inside).
            # Not time_major=True: Keras then takes the *batch* size for the
            # number of steps when the length is unknown and the batch size
            # known, and silently stops after `batch` steps.
            time_major=False,
            # A trace shows the carried state on masked steps, not zeros.
            zero_output_for_mask=self.zero_output_for_mask and not with_gates,
            return_all_outputs=self.return_sequences or with_gates,
        )

    def trace(self, sequences, mask=None) -> dict:
        """Per-step values of every gate and state, in input (token) order.

        Returns a dict: each name of ``cell.gate_names`` and ``cell.state_names``
        maps to a (batch, time, units) tensor. Masked steps carry the state.
        """
        cell = self.cell
        initial_state = self.get_initial_state(batch_size=ops.shape(sequences)[0])
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        _, outputs, _ = self.inner_loop(sequences, initial_state, mask, False, with_gates=True)
        if self.go_backwards:
            outputs = ops.flip(outputs, axis=1)
        names = ("_output", *cell.gate_names, *cell.state_names)
        parts = ops.split(outputs, len(names), axis=-1)
        values = dict(zip(names, parts))
        del values["_output"]  # equals "hidden", except on masked steps
        return values

    # -- the compiled passes' loop (see the module's docstring) -----------------------------------

    def _initial_states(self, batch):
        initial = self.get_initial_state(batch_size=batch)
        return list(initial) if isinstance(initial, (list, tuple)) else [initial]

    def _step(self, x, states, projected):
        """``cell.step`` at inference; ``x`` is ``cell.project``ed if ``projected``."""
        if projected:
            return self.cell.step_from_projection(x, list(states), False)
        return self.cell.step(x, list(states), False)

    @staticmethod
    def _reader(inputs, size):
        """``(read, size)``: ``read(pos)`` gives every row's input at a position."""
        if callable(inputs):
            if size is None:
                raise ValueError("A function of the position as `inputs` needs `size`, the buffer's length.")
            return inputs, size
        return (lambda pos: tf.gather(inputs, pos)), inputs.shape[0]

    def run(self, inputs, lengths, steps, projected=False, gate_rows=0, size=None):
        """Every state (and, for the first ``gate_rows`` rows, every gate) at
        every position, over a buffer of fixed length: for compiled passes.

        Args:
            inputs: (time, batch, features), time-major, right-padded, or a
                function of a position (an int32 tensor) that gives every
                row's input there, (batch, features): so that rows that are
                variants of one sequence need not be stored whole. Each
                step's ``cell.project(x)`` when ``projected``.
            lengths: (batch,) int32, each row's length: past it a step carries
                the state, as Keras's loop does under a mask (so the backward
                direction of a shorter row starts from its own last token).
            steps: () int32 tensor, at least ``max(lengths)``: the positions
                read (``go_backwards``: from ``steps - 1`` down to 0).
            projected: whether ``inputs`` are projected.
            gate_rows: how many rows (the first) to keep every gate of.
            size: the buffer's length, when ``inputs`` is a function.

        Returns:
            ``(states, gates)``: for each of ``cell.state_names``, a (time,
            batch, units) tensor, the state after each position in token order
            (zero past ``steps``); for each of ``cell.gate_names``, a (time,
            gate_rows, units) tensor (an empty list when ``gate_rows`` is 0).
        """
        cell = self.cell
        read, size = self._reader(inputs, size)
        batch = lengths.shape[0]
        initial = self._initial_states(batch)
        state_arrays = [tf.TensorArray(s.dtype, size=size, element_shape=s.shape) for s in initial]
        gate_arrays = [
            tf.TensorArray(initial[0].dtype, size=size, element_shape=[gate_rows, cell.units])
            for _ in (cell.gate_names if gate_rows else ())
        ]

        def body(t, pos, states, state_arrays, gate_arrays):
            _, new, gates = self._step(read(pos), states, projected)
            active = tf.expand_dims(pos < lengths, -1)
            new = [tf.where(active, n, s) for n, s in zip(new, states)]
            state_arrays = [a.write(pos, s) for a, s in zip(state_arrays, new)]
            gate_arrays = [a.write(pos, g[:gate_rows]) for a, g in zip(gate_arrays, gates)]
            return t + 1, pos + (-1 if self.go_backwards else 1), new, state_arrays, gate_arrays

        start = steps - 1 if self.go_backwards else tf.zeros_like(steps)
        *_, state_arrays, gate_arrays = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.zeros_like(steps), start, initial, state_arrays, gate_arrays),
            maximum_iterations=size,
        )
        return [a.stack() for a in state_arrays], [a.stack() for a in gate_arrays]

    def backprop(
        self, inputs, states, output_grads, steps, projected=False, row_weights=None, size=None, state_norms=False
    ):
        """Back-propagation through time over `run`'s states, for rows that
        all have ``steps`` positions.

        Args:
            inputs: what `run` read (a tensor or a function, as there).
            states: what `run` returned for those rows.
            output_grads: (time, batch, units): the gradient of whatever is
                differentiated with respect to the layer's output (``h``) at
                each position.
            steps: () int32 tensor.
            projected: as for `run`.
            row_weights: (batch,): if given, the rows' gradients are summed
                with these weights at each step.
            size: as for `run`.
            state_norms: also give, per position and row, the norm of the
                gradient with respect to every state the cell carries after
                that position (h; h and c for the LSTM), all of them together.

        Returns:
            (time, batch, features), or with ``row_weights`` (time, features):
            the gradient with respect to ``inputs`` (zero past ``steps``); with
            ``state_norms``, a pair: that and the norms, (time, batch).
        """
        read, size = self._reader(inputs, size)
        batch = output_grads.shape[1]
        initial = self._initial_states(batch)
        features = read(tf.constant(0)).shape[-1]
        shape = [batch, features] if row_weights is None else [features]
        grads = tf.TensorArray(initial[0].dtype, size=size, element_shape=shape)
        norms = tf.TensorArray(initial[0].dtype, size=size, element_shape=[batch])
        # The positions in the reverse of `run`'s order; the state before a
        # position is the one `run` kept at the position it read just before.
        back = 1 if self.go_backwards else -1

        def body(t, pos, carried, grads, norms):
            if state_norms:
                # What reaches the states after this position: from the later
                # steps, and (through the output, which is h) from outside.
                after = [carried[0] + tf.gather(output_grads, pos), *carried[1:]]
                norms = norms.write(pos, tf.sqrt(tf.add_n([tf.reduce_sum(g * g, -1) for g in after])))
            first = tf.equal(t, steps - 1)  # the position `run` read first: its state before is the initial one
            before = tf.clip_by_value(pos + back, 0, size - 1)
            previous = [tf.where(first, i, tf.gather(s, before)) for i, s in zip(initial, states)]
            x = read(pos)
            with tf.GradientTape() as tape:
                tape.watch([x, *previous])
                output, new, _ = self._step(x, previous, projected)
                total = tf.reduce_sum(tf.gather(output_grads, pos) * output)
                total += tf.add_n([tf.reduce_sum(c * s) for c, s in zip(carried, new)])
            dx, *carried = tape.gradient(total, [x, *previous], unconnected_gradients=tf.UnconnectedGradients.ZERO)
            if row_weights is not None:
                dx = tf.tensordot(row_weights, dx, 1)
            return t + 1, pos + back, carried, grads.write(pos, dx), norms

        start = tf.zeros_like(steps) if self.go_backwards else steps - 1
        *_, grads, norms = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.zeros_like(steps), start, [tf.zeros_like(i) for i in initial], grads, norms),
            maximum_iterations=size,
        )
        return (grads.stack(), norms.stack()) if state_norms else grads.stack()
