"""The private Keras pieces we rely on still look the way we use them."""

import inspect

import keras
import numpy as np

from sentiment.network import keras_internals


def test_time_loop_takes_the_arguments_we_pass():
    params = inspect.signature(keras_internals.backend_rnn).parameters
    missing = [name for name in keras_internals.RNN_ARGUMENTS if name not in params]
    assert not missing, (
        f"keras.src.backend.rnn (Keras {keras.__version__}) no longer takes {missing}; "
        f"sentiment/keras_internals.py was checked against Keras {keras_internals.CHECKED_KERAS_VERSION}."
    )


def test_time_loop_returns_last_output_all_outputs_and_states():
    # The contract Recurrent.inner_loop relies on: batch-major in and out, and
    # every step when the length is unknown to the graph.
    x = np.arange(2 * 5 * 1, dtype="float32").reshape(2, 5, 1)

    def step(inputs, states):
        total = states[0] + inputs
        return total, [total]

    last, outputs, states = keras_internals.backend_rnn(
        step, x, [np.zeros((2, 1), "float32")], input_length=None, time_major=False, return_all_outputs=True
    )
    np.testing.assert_allclose(np.asarray(outputs)[:, :, 0], np.cumsum(x[:, :, 0], axis=1))
    np.testing.assert_allclose(np.asarray(last), np.asarray(outputs)[:, -1])
    np.testing.assert_allclose(np.asarray(states[0]), np.asarray(last))


def test_dropout_mixin_has_the_methods_keras_rnn_calls():
    missing = [
        m for m in keras_internals.DROPOUT_METHODS if not callable(getattr(keras_internals.DropoutRNNCell, m, None))
    ]
    assert not missing, f"DropoutRNNCell (Keras {keras.__version__}) lacks {missing}"


def test_model_builds_from_a_data_batch_as_the_trainer_overrides_it():
    # sentiment.training.trainer.Trainer replaces _maybe_symbolic_build and calls _symbolic_build(data_batch=...).
    for name in keras_internals.SYMBOLIC_BUILD:
        params = inspect.signature(getattr(keras.Model, name)).parameters
        assert {"iterator", "data_batch"} <= set(params), (
            f"keras.Model.{name} (Keras {keras.__version__}) changed: {list(params)}; "
            f"sentiment/keras_internals.py was checked against Keras {keras_internals.CHECKED_KERAS_VERSION}."
        )


def test_checked_version_is_the_installed_one():
    # A newer Keras may well work; this says which one the checks above
    # were written against, so that an upgrade is a deliberate step.
    assert keras.__version__ == keras_internals.CHECKED_KERAS_VERSION, (
        f"Keras {keras.__version__} installed; sentiment/keras_internals.py was checked against "
        f"{keras_internals.CHECKED_KERAS_VERSION}: re-check it and update CHECKED_KERAS_VERSION."
    )
