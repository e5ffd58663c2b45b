"""Our cells against Keras's built-in ones, with the same weights."""

import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment.network.cells import CELLS, ElmanCell, GRUCell, LSTMCell, make_cell
from sentiment.network.recurrent import Recurrent

UNITS, FEATURES = 5, 3


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 9, FEATURES)).astype("float32")
    mask = np.ones((4, 9), bool)
    mask[1, 5:] = False  # right padding
    mask[2, 1:] = False
    return x, mask


def _pair(ours_cell, reference_layer, x, map_weights=lambda w: w, wrapper=keras.layers.RNN, **kwargs):
    reference = reference_layer(UNITS, return_sequences=True, return_state=True, **kwargs)
    reference(x)
    ours = wrapper(ours_cell, return_sequences=True, return_state=True)
    ours(x)
    # Random, not initial, biases, so a wrong gate order would show.
    weights = [
        w + np.random.default_rng(1).normal(scale=0.3, size=w.shape).astype("float32") for w in reference.get_weights()
    ]
    reference.set_weights(weights)
    ours.set_weights(map_weights([w.copy() for w in weights]))
    return ours, reference


def _negate_update_gate(weights):
    # Keras: h' = z*h + (1-z)*h~ ; ours: h' = (1-z)*h + z*h~ ; sigmoid(-a) = 1 - sigmoid(a).
    for w in weights:
        w[..., :UNITS] *= -1
    return weights


CASES = [
    (LSTMCell, keras.layers.LSTM, lambda w: w, {}),
    (GRUCell, keras.layers.GRU, _negate_update_gate, {"reset_after": False}),
    (ElmanCell, keras.layers.SimpleRNN, lambda w: w, {}),
]


@pytest.mark.parametrize("wrapper", [keras.layers.RNN, Recurrent], ids=["keras.RNN", "Recurrent"])
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "mask"])
@pytest.mark.parametrize("cell_cls,reference_layer,map_weights,kwargs", CASES, ids=["lstm", "gru", "elman"])
def test_matches_keras_builtin(batch, cell_cls, reference_layer, map_weights, kwargs, masked, wrapper):
    x, mask = batch
    ours, reference = _pair(cell_cls(UNITS), reference_layer, x, map_weights, wrapper, **kwargs)
    m = mask if masked else None
    expected = reference(x, mask=m)
    got = ours(x, mask=m)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def _bidirectional_pair(cell_cls, x):
    """Our cell, bidirectional, in keras.layers.RNN and in Recurrent, same weights."""
    slow = keras.layers.Bidirectional(keras.layers.RNN(cell_cls(UNITS), return_sequences=True))
    fast = keras.layers.Bidirectional(Recurrent(cell_cls(UNITS), return_sequences=True))
    slow(x)
    fast(x)
    fast.set_weights(slow.get_weights())
    return slow, fast


@pytest.mark.parametrize("cell_cls", [LSTMCell, GRUCell, ElmanCell])
def test_go_backwards_and_bidirectional_match_keras_rnn(batch, cell_cls):
    x, mask = batch
    slow, fast = _bidirectional_pair(cell_cls, x)
    np.testing.assert_allclose(np.asarray(fast(x, mask=mask)), np.asarray(slow(x, mask=mask)), atol=1e-5)


@pytest.mark.parametrize("cell_cls", [LSTMCell, GRUCell])
def test_gradients_and_holey_masks_match_keras_rnn(batch, cell_cls):
    keras.utils.set_random_seed(0)
    x, mask = batch
    holey = mask.copy()
    holey[0, 3] = False  # not right-padded
    slow, fast = _bidirectional_pair(cell_cls, x)
    for m in (mask, holey):
        grads = []
        for layer in (slow, fast):
            with tf.GradientTape() as tape:
                y = layer(x, mask=m)
                loss = tf.reduce_sum(y * tf.range(1.0, y.shape[-1] + 1.0))
            grads.append(tape.gradient(loss, layer.trainable_weights))
            np.testing.assert_allclose(np.asarray(y), np.asarray(slow(x, mask=m)), atol=1e-5)
        for a, b in zip(*grads):
            # sums over batch and time: float32 rounding grows with their size
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cell_cls", [LSTMCell, GRUCell, ElmanCell])
def test_graph_with_known_batch_and_unknown_length_runs_every_step(batch, cell_cls):
    """As in training: batches of a fixed size, lengths that vary. (Keras's loop,
    run time-major, took the batch size for the number of steps here and stopped
    after 4 of these 9 steps.)"""
    x, mask = batch
    slow, fast = _bidirectional_pair(cell_cls, x)
    batch_size, length, features = x.shape
    assert length > batch_size
    graph = tf.function(
        lambda x, mask: fast(x, mask=mask),
        input_signature=[tf.TensorSpec([batch_size, None, features]), tf.TensorSpec([batch_size, None], tf.bool)],
    )
    for m in (mask, np.ones_like(mask)):
        np.testing.assert_allclose(np.asarray(graph(x, m)), np.asarray(slow(x, mask=m)), atol=1e-5)


def test_weight_layout_follows_keras():
    for cell_cls in (LSTMCell, GRUCell, ElmanCell):
        cell = cell_cls(UNITS)
        cell.build((None, FEATURES))
        g = len(cell_cls.gate_names)
        assert [w.path.split("/")[-1] for w in cell.weights] == ["kernel", "recurrent_kernel", "bias"]
        assert cell.kernel.shape == (FEATURES, g * UNITS)
        assert cell.recurrent_kernel.shape == (UNITS, g * UNITS)
        assert cell.bias.shape == (g * UNITS,)
    assert LSTMCell.gate_names == ("input", "forget", "candidate", "output")
    assert GRUCell.gate_names == ("update", "reset", "candidate")
    assert ElmanCell.gate_names == ("candidate",)


def test_lstm_forget_bias_starts_at_one():
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    bias = np.asarray(cell.bias)
    np.testing.assert_array_equal(bias[UNITS : 2 * UNITS], 1.0)
    np.testing.assert_array_equal(np.delete(bias, range(UNITS, 2 * UNITS)), 0.0)
    plain = LSTMCell(UNITS, unit_forget_bias=False)
    plain.build((None, FEATURES))
    np.testing.assert_array_equal(np.asarray(plain.bias), 0.0)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_config_round_trip(name):
    cell = make_cell(name, 7, dropout=0.1, recurrent_dropout=0.2, seed=3, kernel_initializer="he_normal")
    config = cell.get_config()
    clone = type(cell).from_config(config)
    assert clone.get_config() == config
    assert config["units"] == 7 and config["dropout"] == 0.1 and config["recurrent_dropout"] == 0.2
    layer = Recurrent(cell, return_sequences=True, go_backwards=True)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, Recurrent) and restored.go_backwards and restored.cell.get_config() == config


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: LSTMCell(0), "units"),
        (lambda: GRUCell(2.5), "units"),
        (lambda: ElmanCell(4, dropout=1.0), "dropout"),
        (lambda: LSTMCell(4, recurrent_dropout=-0.1), "recurrent_dropout"),
        (lambda: make_cell("transformer", 4), "Unknown cell"),
        (lambda: Recurrent(keras.layers.LSTMCell(4)), "Recurrent"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("cell_cls", [LSTMCell, GRUCell, ElmanCell])
def test_trace_gates_in_range_and_masked_steps_carry_state(batch, cell_cls):
    x, mask = batch
    layer = Recurrent(cell_cls(UNITS), return_sequences=True)
    layer(x)
    values = {k: np.asarray(v) for k, v in layer.trace(x, mask).items()}
    for q in cell_cls.gates:
        assert values[q.name].min() > q.low and values[q.name].max() < q.high, q.name
    for name in cell_cls.state_names:
        v = values[name]
        # row 1 is padded from step 5, row 2 from step 1: the state stays put.
        np.testing.assert_array_equal(v[1, 5:], np.repeat(v[1, 4:5], 4, axis=0))
        np.testing.assert_array_equal(v[2, 1:], np.repeat(v[2, 0:1], 8, axis=0))
    # The trace's hidden state is the layer's output on unmasked steps.
    out = np.asarray(layer(x, mask=mask))
    np.testing.assert_allclose(values["hidden"][mask], out[mask], atol=1e-6)


@pytest.mark.parametrize("wrapper", [keras.layers.RNN, Recurrent], ids=["keras.RNN", "Recurrent"])
def test_input_dropout_uses_one_mask_per_sequence_and_only_in_training(wrapper):
    # Same input at every step and no recurrence: with one mask per sequence,
    # every step's output is the same.
    cell = ElmanCell(UNITS, dropout=0.5, recurrent_initializer="zeros", seed=0)
    layer = wrapper(cell, return_sequences=True)
    x = np.ones((8, 6, 20), "float32")
    train_out = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(train_out, np.repeat(train_out[:, :1], 6, axis=1), atol=1e-6)
    infer_out = np.asarray(layer(x, training=False))
    assert not np.allclose(train_out, infer_out)
    np.testing.assert_allclose(infer_out, np.asarray(layer(x)), atol=1e-6)
    # a fresh mask for the next batch
    assert not np.allclose(train_out, np.asarray(layer(x, training=True)))


def test_recurrent_dropout_changes_training_output_only():
    cell = LSTMCell(UNITS, recurrent_dropout=0.5, seed=0)
    layer = Recurrent(cell)
    x = np.random.default_rng(0).normal(size=(4, 6, FEATURES)).astype("float32")
    infer = np.asarray(layer(x))
    np.testing.assert_allclose(infer, np.asarray(layer(x, training=False)))
    assert not np.allclose(infer, np.asarray(layer(x, training=True)))


def test_no_builtin_recurrent_layers_in_the_product():
    root = os.path.join(os.path.dirname(__file__), "..", "sentiment")
    pattern = re.compile(r"layers\.(LSTM|GRU|SimpleRNN)(Cell)?\b")
    offenders = []
    for name in os.listdir(root):
        if name.endswith(".py"):
            with open(os.path.join(root, name), encoding="utf-8") as f:
                offenders += [f"{name}: {line.strip()}" for line in f if pattern.search(line)]
    assert not offenders


def test_jordan_cell_matches_a_numpy_loop_of_its_equations(batch):
    """Keras has no Jordan RNN: the reference is h=tanh(W[y,x]+b), y'=tanh(Vh+c) in NumPy."""
    from sentiment.network.cells import JordanCell

    x, mask = batch
    layer = Recurrent(JordanCell(UNITS), return_sequences=True, return_state=True)
    layer(x)
    rng = np.random.default_rng(2)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    kernel, recurrent, bias, v, c = layer.get_weights()
    for m in (None, mask):
        expected = np.zeros((x.shape[0], x.shape[1], UNITS), "float32")
        y = np.zeros((x.shape[0], UNITS), "float32")
        for t in range(x.shape[1]):
            h = np.tanh(x[:, t] @ kernel + y @ recurrent + bias)
            new = np.tanh(h @ v + c)
            keep = np.ones(len(y), bool) if m is None else m[:, t]
            y = np.where(keep[:, None], new, y)
            expected[:, t] = y  # a masked step repeats the carried output
        out, state = layer(x, mask=m)
        np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)
        np.testing.assert_allclose(np.asarray(state), y, atol=1e-5)
    values = layer.trace(x)
    assert set(values) == {"candidate", "hidden"}
