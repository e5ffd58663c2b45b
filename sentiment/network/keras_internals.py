"""The pieces of Keras's private API (``keras.src``) this project relies on.

Both are what Keras's own recurrent layers use, so our cells and layer behave
like Keras's in every respect these pieces handle. Being private, they can
change in any Keras release: they are imported here only, and
``tests/test_keras_internals.py`` checks the parts we rely on, so that an
upgrade fails there, loudly, rather than somewhere inside a trace.

Checked against Keras ``CHECKED_KERAS_VERSION`` (requirements.txt pins it).
"""

from __future__ import annotations

# The time loop `keras.layers.RNN` itself runs (a tf.while_loop on TensorFlow),
# with its handling of masks and go_backwards. We call it with these keywords.
from keras.src.backend import rnn as backend_rnn

# One dropout mask per sequence: `keras.layers.RNN` creates it before its time
# loop (`get_dropout_mask`, `get_recurrent_dropout_mask`) and clears it after
# (`reset_dropout_mask`, `reset_recurrent_dropout_mask`).
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

CHECKED_KERAS_VERSION = "3.15.1"

# Under a tf.distribute strategy, `Model.fit` and `evaluate` first call
# `Model._maybe_symbolic_build(iterator=...)`, which takes a batch from a first
# pass over the data and reduces it over the replicas to build the model's
# metrics, loss and optimizer with `Model._symbolic_build(data_batch=...)`. That
# fails under MultiWorkerMirroredStrategy (a structure reduced as one value:
# keras-team/keras#20585), fails for an evaluation batch that does not split
# evenly, and starts a pass over the training data that moves tf.data's
# reshuffling on by one epoch. `sentiment.training.trainer.Trainer` overrides the
# first to call the second with the dataset's element spec instead of a batch.
SYMBOLIC_BUILD = ("_maybe_symbolic_build", "_symbolic_build")

# The keyword arguments `sentiment.network.recurrent.Recurrent` passes to `backend_rnn`.
RNN_ARGUMENTS = (
    "step_function",
    "inputs",
    "initial_states",
    "go_backwards",
    "mask",
    "input_length",
    "time_major",
    "zero_output_for_mask",
    "return_all_outputs",
)

# The methods of `DropoutRNNCell` that our cells and `keras.layers.RNN` call.
DROPOUT_METHODS = (
    "get_dropout_mask",
    "get_recurrent_dropout_mask",
    "reset_dropout_mask",
    "reset_recurrent_dropout_mask",
)

__all__ = [
    "CHECKED_KERAS_VERSION",
    "DROPOUT_METHODS",
    "SYMBOLIC_BUILD",
    "DropoutRNNCell",
    "RNN_ARGUMENTS",
    "backend_rnn",
]
