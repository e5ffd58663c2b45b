"""`Recurrent`: a `keras.layers.RNN` that runs our cells and traces them.

It runs ``cell.step`` at every time step (the same math as ``cell.call``), and
can return every gate's value at every step (`trace`). Everything else, initial
states, masks, ``go_backwards``, per-sequence dropout masks, serialization and
`keras.layers.Bidirectional`, is `keras.layers.RNN`'s. (Measured in
benchmark.py: neither computing ``x @ kernel`` for all steps before the loop
nor skipping per-step masks for right-padded batches made training faster on a
2-core CPU, so the loop is kept plain.)
"""

from __future__ import annotations

import keras
from keras import ops

from sentiment.cells import CELLS, PACKAGE, RecurrentCell
from sentiment.keras_internals import backend_rnn


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
