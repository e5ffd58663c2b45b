"""`Recurrent`: a `keras.layers.RNN` that runs our cells and traces them.

It runs `cell.project` then `cell.step` at every time step (the same math as
``cell.call``), and can return every gate's value at every step (`trace`).
Batches padded on the right, as all of ours are, skip the per-step mask checks:
a backward layer reads each review reversed within its own length, and padded
outputs are zeroed afterwards. Everything else, initial states, other masks,
``go_backwards``, per-sequence dropout masks, serialization and
`keras.layers.Bidirectional`, is `keras.layers.RNN`'s.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

# The time loop `keras.layers.RNN` itself uses (a tf.while_loop on TensorFlow),
# with its handling of masks and go_backwards.
from keras.src.backend import rnn as backend_rnn

from sentiment.cells import PACKAGE, RecurrentCell


@keras.saving.register_keras_serializable(package=PACKAGE)
class Recurrent(keras.layers.RNN):
    """Runs one of our cells (`sentiment.cells`) over a sequence.

    Same arguments and results as `keras.layers.RNN`; the cell must be a
    `RecurrentCell`.
    """

    def __init__(self, cell, **kwargs):
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not isinstance(cell, RecurrentCell):
            raise ValueError(
                "`Recurrent` runs the cells of `sentiment.cells` "
                f"(LSTMCell, GRUCell, ElmanCell). Received: cell={cell!r}"
            )
        if kwargs.get("unroll") or kwargs.get("stateful"):
            raise ValueError(
                "`Recurrent` supports neither `unroll` nor `stateful`. "
                f"Received: unroll={kwargs.get('unroll')}, stateful={kwargs.get('stateful')}"
            )
        super().__init__(cell, **kwargs)

    def _loop(self, sequences, initial_state, mask, training, with_gates=False, lengths=None):
        """Keras's time loop over ``cell.project`` and ``cell.step``.

        With ``lengths`` (right-padded batches), no mask is applied per step:
        a backward layer reads each review reversed within its own length,
        and the padded steps' outputs are zeroed afterwards.
        """
        cell = self.cell
        if training and cell.dropout > 0:
            # The mask `RNN.call` made for the first step, the same for every step.
            sequences = sequences * ops.expand_dims(cell.get_dropout_mask(sequences[:, 0, :]), 1)
        backwards = self.go_backwards
        if lengths is not None:
            if backwards:
                sequences = tf.reverse_sequence(sequences, lengths, seq_axis=1, batch_axis=0)
            mask, backwards = None, False
        projected = cell.project(sequences) if self.hoist_projection else sequences

        def step(x, states):
            x_proj = x if self.hoist_projection else cell.project(x)
            output, new_states, gates = cell.step(x_proj, states, training)
            if with_gates:
                output = ops.concatenate([output, *gates, *new_states], axis=-1)
            return output, new_states

        last, outputs, states = backend_rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=backwards,
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
        if lengths is not None:
            valid = ops.expand_dims(tf.sequence_mask(lengths, ops.shape(outputs)[1], dtype=outputs.dtype), -1)
            outputs = outputs * valid  # reverse_sequence below leaves padding in place
            if self.go_backwards:
                # back to token order, then Keras's (reversed) order for go_backwards
                outputs = ops.flip(tf.reverse_sequence(outputs, lengths, seq_axis=1, batch_axis=0), axis=1)
        return last, outputs, states

    # Class-level switches so the benchmark can measure what each choice gives.
    skip_step_masking = True
    # Measured on a 2-core CPU (benchmark.py), computing x @ kernel for the whole
    # sequence before the loop made training ~30% slower than in the loop: the
    # loop then carries the 4x wider projection instead of the input.
    hoist_projection = False

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # The fast path gives the outputs only: zeroed padding, no final states.
        outputs_only = self.return_sequences and self.zero_output_for_mask and not self.return_state
        if mask is None or not (outputs_only and self.skip_step_masking):
            return self._loop(sequences, initial_state, mask, training)
        # Checking a mask at every step costs several ops per step, forward and
        # backward. Batches padded on the right (all of ours) need no check;
        # any other mask takes Keras's per-step masking.
        mask = ops.cast(mask, "bool")
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        right_padded = ops.all(ops.equal(mask, tf.sequence_mask(lengths, ops.shape(mask)[1])))
        return tf.cond(
            right_padded,
            lambda: self._loop(sequences, initial_state, None, training, lengths=lengths),
            lambda: self._loop(sequences, initial_state, mask, training),
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
        _, outputs, _ = self._loop(sequences, initial_state, mask, False, with_gates=True)
        if self.go_backwards:
            outputs = ops.flip(outputs, axis=1)
        names = ("_output", *cell.gate_names, *cell.state_names)
        parts = ops.split(outputs, len(names), axis=-1)
        values = dict(zip(names, parts))
        del values["_output"]  # equals "hidden", except on masked steps
        return values
