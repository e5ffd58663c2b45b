"""Cell variants (issue 31): a gate fixed or tied, as configuration of our cells.

Each variant is held to two references: its equations written out in NumPy,
and the full cell with that gate forced (its weights zero and its bias at +30,
so that it is 1 in float32; or tied to the gate the variant ties it to).
"""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, predict
from sentiment.network.cells import (
    CELLS,
    GRUCell,
    LSTMCell,
    RecurrentCell,
    Variant,
    cell_choices,
    make_cell,
    parse_cell,
    sigmoid_gate,
)
from sentiment.network.recurrent import Recurrent

# What each variant computes, written here rather than read from the cell, so
# that a description that drifted from the math would fail.
GATES = {
    "lstm": ("input", "forget", "candidate", "output"),
    "lstm:no_forget": ("input", "candidate", "output"),
    "lstm:no_input": ("forget", "candidate", "output"),
    "lstm:no_output": ("input", "forget", "candidate"),
    "lstm:cifg": ("forget", "candidate", "output"),
    "lstm:no_candidate_tanh": ("input", "forget", "candidate", "output"),
    "lstm:no_output_tanh": ("input", "forget", "candidate", "output"),
    "gru": ("update", "reset", "candidate"),
    "gru:no_reset": ("update", "candidate"),
    "gru:no_update": ("reset", "candidate"),
    "gru:mgu": ("update", "candidate"),
}
VARIANTS = [spec for spec in GATES if ":" in spec]

OPEN = 30.0  # σ(30) is 1 in float32: a gate wide open, whatever its input
# The variants that are the full cell with one gate forced: the gate, and
# what its block is in the full cell: None (weights 0, bias +30, so the gate
# is 1) or (another gate, sign): that gate's block times the sign (CIFG:
# σ(-z_f) = 1 - f; MGU: r = z).
FORCED = {
    "lstm:no_forget": ("forget", None),
    "lstm:no_input": ("input", None),
    "lstm:no_output": ("output", None),
    "lstm:cifg": ("input", ("forget", -1.0)),
    "gru:no_reset": ("reset", None),
    "gru:no_update": ("update", None),
    "gru:mgu": ("reset", ("update", 1.0)),
}

UNITS, FEATURES, BATCH, STEPS = 3, 4, 2, 6


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_step(spec, weights, x, states):
    """One step of ``spec``'s equations (docs/cells.md), in float64."""
    name, variant = parse_cell(spec)
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in weights)
    names = GATES[spec]
    split = lambda w: dict(zip(names, np.split(w, len(names), axis=-1)))  # noqa: E731
    h = states[0]
    if name == "lstm":
        z = split(x @ kernel + h @ recurrent + bias)
        f = _sigmoid(z["forget"]) if "forget" in z else 1.0
        i = _sigmoid(z["input"]) if "input" in z else (1.0 - f if variant == "cifg" else 1.0)
        c_hat = z["candidate"] if variant == "no_candidate_tanh" else np.tanh(z["candidate"])
        o = _sigmoid(z["output"]) if "output" in z else 1.0
        c = f * states[1] + i * c_hat
        h = o * (c if variant == "no_output_tanh" else np.tanh(c))
        return [h, c]
    xs, us = split(x @ kernel + bias), split(recurrent)
    z = _sigmoid(xs["update"] + h @ us["update"]) if "update" in xs else 1.0
    r = _sigmoid(xs["reset"] + h @ us["reset"]) if "reset" in xs else (z if variant == "mgu" else 1.0)
    h_hat = np.tanh(xs["candidate"] + (r * h) @ us["candidate"])
    return [(1.0 - z) * h + z * h_hat]


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    return rng, x


def _built(spec, rng, seed=0):
    """A variant in a `Recurrent` layer, built, with random weights (large
    enough that every tanh and sigmoid is far from linear)."""
    rnn = Recurrent(make_cell(spec, UNITS, seed=seed), return_sequences=True)
    rnn(np.zeros((1, 1, FEATURES), "float32"))
    rnn.cell.set_weights([rng.normal(scale=0.8, size=w.shape).astype("float32") for w in rnn.cell.get_weights()])
    return rnn


def _forced_full(rnn, spec):
    """The full cell of ``spec`` with the variant's weights and its absent gate forced."""
    name, _ = parse_cell(spec)
    gate, tie = FORCED[spec]
    full = Recurrent(make_cell(name, UNITS), return_sequences=True)
    full(np.zeros((1, 1, FEATURES), "float32"))
    weights = []
    for w, is_bias in zip(rnn.cell.get_weights(), (False, False, True)):
        blocks = dict(zip(rnn.cell.gate_names, np.split(w, len(rnn.cell.gate_names), axis=-1)))
        if tie is not None:
            blocks[gate] = tie[1] * blocks[tie[0]]
        else:
            blocks[gate] = np.full_like(blocks[rnn.cell.gate_names[0]], OPEN if is_bias else 0.0)
        weights.append(np.concatenate([blocks[g] for g in full.cell.gate_names], axis=-1))
    full.cell.set_weights(weights)
    return full


# -- the description --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", list(GATES))
def test_an_instance_describes_its_variant_and_the_class_the_full_cell(spec):
    name, variant = parse_cell(spec)
    cell = make_cell(spec, UNITS)
    cell.build((None, FEATURES))
    assert cell.variant == variant and cell.gate_names == GATES[spec]
    assert tuple(q.name for q in cell.gates) == GATES[spec]
    assert cell.num_gates == len(GATES[spec])
    # One weight block per gate the variant computes.
    assert cell.kernel.shape == (FEATURES, len(GATES[spec]) * UNITS)
    assert cell.recurrent_kernel.shape == (UNITS, len(GATES[spec]) * UNITS) and cell.bias.shape == (
        len(GATES[spec]) * UNITS,
    )
    # The class, which class-level readers (CELLS[name].gates) use, is the full cell still.
    assert CELLS[name].gate_names == GATES[name] and CELLS[name].variants["full"].absent == ()
    assert cell.state_names == CELLS[name].state_names
    for absent in set(GATES[name]) - set(GATES[spec]):
        with pytest.raises(ValueError, match=f"has no gate or state '{absent}'"):
            cell.quantity(absent)
        assert CELLS[name].quantity(absent).name == absent


def test_a_variant_changes_what_its_description_says_it_computes():
    assert not make_cell("lstm:no_output_tanh", 2).quantity("hidden").bounded  # h = o⊙c
    assert make_cell("lstm:no_candidate_tanh", 2).quantity("candidate").activation == "linear"
    assert LSTMCell.quantity("candidate").activation == "tanh" and LSTMCell.quantity("hidden").bounded
    assert make_cell("lstm:no_forget", 2).quantity("cell").activation == "c+i⊙c̃"
    assert make_cell("gru:no_update", 2).quantity("hidden").activation == "h̃"
    assert make_cell("gru:mgu", 2).quantity("update").meaning.startswith("f:")


def test_chrono_and_the_forget_bias_follow_the_gates_a_variant_has():
    assert make_cell("lstm:cifg", 2).chrono == {"forget": 1} and LSTMCell.chrono == {"forget": 1, "input": -1}
    assert make_cell("gru:mgu", 2).chrono == {"update": -1}
    with pytest.raises(ValueError, match="no gate that keeps its state"):
        make_cell("gru:no_update", 2).chrono_bias(np.zeros(4), np.ones(2))
    cifg = make_cell("lstm:cifg", 2)
    cifg.build((None, 3))
    np.testing.assert_array_equal(cifg.bias.numpy(), [1, 1, 0, 0, 0, 0])  # the forget block is the first
    np.testing.assert_array_equal(cifg.chrono_bias(np.zeros(6), np.array([2.0, 3.0])), [2, 3, 0, 0, 0, 0])
    no_forget = make_cell("lstm:no_forget", 2)
    no_forget.build((None, 3))
    np.testing.assert_array_equal(no_forget.bias.numpy(), np.zeros(6))
    full = make_cell("lstm", 2)
    full.build((None, 3))
    np.testing.assert_array_equal(full.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])


# -- the math ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", list(GATES))
def test_every_variant_computes_its_equations(spec):
    rng, x = _inputs()
    rnn = _built(spec, rng)
    weights = rnn.cell.get_weights()
    states = [rng.normal(scale=0.5, size=(BATCH, UNITS)) for _ in rnn.cell.state_names]
    ours = [tf.constant(s, "float32") for s in states]
    for t in range(STEPS):
        states = _numpy_step(spec, weights, x[:, t].astype("float64"), states)
        output, ours, gates = rnn.cell.step(tf.constant(x[:, t]), ours)
        assert len(gates) == len(GATES[spec])
        np.testing.assert_allclose(output, states[0], atol=1e-5, err_msg=f"{spec}, step {t}")
        for a, b in zip(ours, states):
            np.testing.assert_allclose(a, b, atol=1e-5, err_msg=f"{spec}, step {t}")
    # Over a sequence, in Keras's loop (zero initial states).
    states = [np.zeros((BATCH, UNITS)) for _ in rnn.cell.state_names]
    expected = []
    for t in range(STEPS):
        states = _numpy_step(spec, weights, x[:, t].astype("float64"), states)
        expected.append(states[0])
    np.testing.assert_allclose(rnn(x), np.stack(expected, axis=1), atol=1e-5, err_msg=spec)


@pytest.mark.parametrize("spec", list(FORCED))
def test_a_variant_is_the_full_cell_with_that_gate_forced(spec):
    rng, x = _inputs(1)
    rnn = _built(spec, rng)
    full = _forced_full(rnn, spec)
    gate, tie = FORCED[spec]
    states = [tf.constant(rng.normal(scale=0.5, size=(BATCH, UNITS)), "float32") for _ in rnn.cell.state_names]
    ours, theirs = list(states), list(states)
    for t in range(STEPS):
        out, ours, gates = rnn.cell.step(tf.constant(x[:, t]), ours)
        out_full, theirs, gates_full = full.cell.step(tf.constant(x[:, t]), theirs)
        np.testing.assert_allclose(out, out_full, atol=1e-6, err_msg=f"{spec}, step {t}")
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=f"{spec}, step {t}")
        named = dict(zip(full.cell.gate_names, gates_full))
        if tie is None:
            np.testing.assert_array_equal(named[gate], 1.0)  # forced open, as the variant assumes
        for name, value in zip(rnn.cell.gate_names, gates):
            np.testing.assert_allclose(value, named[name], atol=1e-6, err_msg=f"{spec}: {name}, step {t}")
    # Over a sequence with a masked tail, and the traces: the variant's lack the forced gate.
    mask = np.array([[True] * STEPS, [True] * (STEPS - 2) + [False] * 2])
    np.testing.assert_allclose(rnn(x, mask=mask), full(x, mask=mask), atol=1e-6)
    traced, traced_full = rnn.trace(tf.constant(x), mask), full.trace(tf.constant(x), mask)
    assert list(traced) == [*GATES[spec], *rnn.cell.state_names] and gate not in traced
    for name, value in traced.items():
        np.testing.assert_allclose(value, traced_full[name], atol=1e-6, err_msg=f"{spec}: {name}")


@pytest.mark.parametrize("spec", ["lstm:cifg", "gru:mgu", "gru:no_update"])
def test_a_variant_runs_in_the_compiled_loop_and_back_propagates(spec):
    """`Recurrent.run` (the compiled passes' loop) and `backprop` read the
    variant's gates through the cell, as for a full cell."""
    rng, x = _inputs(2)
    rnn = _built(spec, rng)
    lengths = tf.constant([STEPS, STEPS - 2], tf.int32)
    time_major = tf.constant(np.transpose(x, (1, 0, 2)))
    states, gates = rnn.run(rnn.cell.project(time_major), lengths, tf.constant(STEPS), projected=True, gate_rows=1)
    assert len(gates) == len(GATES[spec]) and len(states) == len(rnn.cell.state_names)
    mask = np.arange(STEPS)[None, :] < lengths.numpy()[:, None]
    np.testing.assert_allclose(np.transpose(states[0], (1, 0, 2))[0], rnn(x, mask=mask)[0], atol=1e-5)
    output_grads = tf.ones((STEPS, BATCH, UNITS))
    grads = rnn.backprop(time_major, states, output_grads, tf.constant(STEPS))
    assert grads.shape == (STEPS, BATCH, FEATURES) and np.isfinite(grads.numpy()).all()


# -- saving ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", VARIANTS)
def test_a_variant_saves_and_loads_as_itself(spec, tmp_path):
    rng, x = _inputs(3)
    inputs = keras.Input((None, FEATURES))
    hidden = keras.layers.Bidirectional(Recurrent(make_cell(spec, UNITS, seed=0)))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.set_weights([rng.normal(scale=0.8, size=w.shape).astype("float32") for w in model.get_weights()])
    path = os.path.join(tmp_path, "variant.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    cell = loaded.layers[1].forward_layer.cell
    assert cell.variant == parse_cell(spec)[1] and cell.gate_names == GATES[spec]
    assert loaded.layers[1].backward_layer.cell.variant == cell.variant
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_cell_config_without_a_variant_is_the_full_cell():
    """What the models saved before variants existed hold."""
    for cls in CELLS.values():
        config = cls(3).get_config()
        assert config["variant"] == "full"
        del config["variant"]
        assert cls.from_config(config).variant == "full" and cls.from_config(config).gate_names == cls.gate_names
    config = make_cell("gru:mgu", 3).get_config()
    assert GRUCell.from_config(config).gate_names == GATES["gru:mgu"]


# -- names -------------------------------------------------------------------------------------------


def test_every_choice_is_a_cell_or_one_of_its_variants():
    assert set(cell_choices()) == set(GATES) | {"elman", "jordan"}
    assert parse_cell("LSTM:CIFG") == ("lstm", "cifg") and parse_cell("gru") == ("gru", "full")
    assert make_cell("lstm", 2, variant="cifg").variant == "cifg"  # a keyword, as in a saved config


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: make_cell("lstm:nope", 2),
            r"Unknown variant 'nope' of cell 'lstm': choose one of lstm, lstm:no_forget",
        ),
        (lambda: make_cell("gru:no_forget", 2), r"choose one of gru, gru:no_reset, gru:no_update, gru:mgu\. Received"),
        (lambda: make_cell("elman:cifg", 2), r"choose one of elman\. Received: cell='elman:cifg'"),
        (lambda: make_cell("transformer", 2), r"Unknown cell 'transformer'.*lstm:cifg.*gru:mgu.*Received"),
        (lambda: LSTMCell(2, variant="mgu"), r"LSTMCell has no variant 'mgu': choose one of full, no_forget.*"),
        (lambda: make_cell("lstm:cifg", 2, variant="no_forget"), r"Two variants asked for"),
    ],
)
def test_a_bad_name_says_what_was_received_and_what_is_valid(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_the_model_config_takes_a_variant_and_refuses_a_bad_one():
    from sentiment.core.settings import ConfigError
    from sentiment.network.model import ModelConfig

    assert ModelConfig(cell="lstm:no_forget").validate().cell == "lstm:no_forget"
    with pytest.raises(ConfigError, match=r"Unknown variant 'nope'.*lstm:cifg.*Received: cell='lstm:nope'") as err:
        ModelConfig(cell="lstm:nope").validate()
    assert err.value.field == "cell" and "gru:mgu" in err.value.for_option()


def test_a_variant_must_name_gates_its_cell_has():
    with pytest.raises(TypeError, match="names no gate or state"):

        class Broken(RecurrentCell):  # noqa: F841
            gates = (sigmoid_gate("gate", "g"),)
            variants = {**RecurrentCell.variants, "no_forget": Variant("f = 1", absent=("forget",))}


# -- whole models ------------------------------------------------------------------------------------

TEXT = "a great movie, I loved it"


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["lstm:cifg", "lstm:no_output_tanh", "gru:mgu", "gru:no_update"])
def test_a_variant_model_predicts_and_traces_only_its_gates(spec, tiny_vocab, tmp_path):
    from sentiment.analysis import reading
    from sentiment.analysis.passes import passes_of
    from sentiment.analysis.reader import reader_of
    from sentiment.analysis.traces import trace_through_keras
    from sentiment.network.model import ModelConfig, build_model, load_model, recurrent_cell_name, save_model

    config = ModelConfig(cell=spec, vocab_size=200, units=4, embedding_dim=5, max_length=12, head=4)
    model = build_model(config, tiny_vocab)
    assert recurrent_cell_name(model) == parse_cell(spec)[0]
    p = predict(model, [TEXT, "terrible film"])
    assert p.shape == (2,) and np.all((0 < p) & (p < 1))
    names = [*GATES[spec], *CELLS[parse_cell(spec)[0]].state_names]
    t = reading.trace(model, TEXT)
    assert [layer.names for layer in t.layers] == [names] * 2
    reference = trace_through_keras(model, TEXT)
    compiled = passes_of(model)
    assert compiled is not None
    out = compiled.trace(reader_of(model).read(TEXT)[0])
    assert abs(out["probability"] - reference.probability) < 1e-5
    for layer in reference.layers:
        values = out["values"][layer.layer][layer.direction]
        assert list(values) == names
        for name in names:
            np.testing.assert_allclose(values[name], layer.values[name], atol=1e-5, err_msg=f"{layer.label} {name}")
    path = os.path.join(tmp_path, "variant.keras")
    save_model(model, path)
    np.testing.assert_array_equal(predict(load_model(path), [TEXT, "terrible film"]), p)


COMMITTED = sorted(glob.glob(os.path.join(ROOT, "saved_models", "*.keras")))
COMMITTED += sorted(glob.glob(os.path.join(ROOT, "saved_models", "lesson", "*.keras")))


@pytest.mark.slow
@pytest.mark.parametrize("path", COMMITTED, ids=[os.path.relpath(p, ROOT) for p in COMMITTED])
def test_the_committed_models_load_as_the_full_cells_they_were(path):
    """Saved before variants existed: every cell loads as its full cell and
    predicts what the NumPy engine (which reads the file, not this module)
    computes from the same weights."""
    from sentiment.network.model import classifier_of, load_model
    from sentiment.numpy_cells.model import load as load_numpy

    model = load_model(path)
    cells = [
        rnn.cell
        for layer in classifier_of(model).layers
        for rnn in (getattr(layer, "forward_layer", layer), getattr(layer, "backward_layer", None))
        if isinstance(rnn, Recurrent)
    ]
    assert cells
    for cell in cells:
        assert cell.variant == "full" and cell.gates == type(cell).gates and cell.states == type(cell).states
    texts = [TEXT, "terrible film, awful acting and a boring plot", "not bad at all"]
    np.testing.assert_allclose(predict(model, texts), load_numpy(path).predict(texts), atol=1e-5)


@pytest.mark.slow
def test_the_numpy_engine_runs_a_variant_or_refuses_it(tiny_vocab, tmp_path):
    from sentiment.network.model import ModelConfig, build_model, save_model
    from sentiment.numpy_cells.keras_file import KerasFileError
    from sentiment.numpy_cells.model import load as load_numpy

    config = ModelConfig(cell="lstm:no_output_tanh", vocab_size=200, units=4, embedding_dim=5, max_length=12, head=4)
    model = build_model(config, tiny_vocab)
    model.set_weights([3 * w for w in model.get_weights()])  # so that h = o⊙c and o⊙tanh(c) differ
    path = os.path.join(tmp_path, "variant.keras")
    save_model(model, path)
    try:
        engine = load_numpy(path)
    except KerasFileError as err:
        assert "variant" in str(err)
    else:
        np.testing.assert_allclose(engine.predict([TEXT]), predict(model, [TEXT]), atol=1e-5)
