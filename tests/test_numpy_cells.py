"""The models in NumPy (sentiment.numpy_cells) against Keras: the same ids, gates, states and P(positive).

The quick tests hold the text handling, each cell's step and a few texts per
committed model to Keras; the slow ones every code point, the behavioural
suite and 1,000 real test reviews on every committed model, and the traces.
"""

import glob
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import ROOT, committed, real_archive
from sentiment.numpy_cells import KerasFileError, load
from sentiment.numpy_cells.cells import CELLS
from sentiment.numpy_cells.text import standardize

MODELS = sorted(
    os.path.relpath(p, os.path.join(ROOT, "saved_models"))
    for p in glob.glob(os.path.join(ROOT, "saved_models", "*.keras"))
    + glob.glob(os.path.join(ROOT, "saved_models", "lesson", "*.keras"))
)
P_TOLERANCE = 1e-5

# What a review may hold that the standardisation must treat as TensorFlow does.
TRICKY = [
    "A wonderful film.<br /><br />Loved it<BR/>and<br >this<br\t/>too<br\x0b/>not that",
    "don't, won’t; isn't -- it's (really) GREAT!!! 10/10 *****",
    "café naïve ÉCOLE İstanbul Straße ΣΟΦΟΣ ΟΔΟΣ. ǅ ﬁne ½ ٣ ３ 二 ⅷ",
    "emoji 😀👍🏽 and \u200b zero width, \u00a0 no-break, \u3000 ideographic space",
    "tabs\tnew\nlines\r\nand\x85next line\x0cform feed\x0bvertical tab",
    "a NUL\x00 ends the text for TensorFlow's lower-casing",
    "snake_case under_scores __init__ and [UNK] and <unk>",
    "ⰯꟀ𐕰 capitals TensorFlow's ICU does not lower-case, 𑼄 a letter Python 3.11 does not know",
    "",
    "   \t\n ",
    "?!.,;:-()[]{}",
]


def long_text(vocabulary, n):
    """``n`` words of the vocabulary, each once: where a head or tail is cut shows in the ids."""
    return " ".join(vocabulary[2 : n + 2])


@pytest.fixture(scope="module")
def numpy_models():
    return {name: load(committed(name)) for name in MODELS}


@pytest.fixture(scope="module")
def keras_models():
    from sentiment.network.model import load_model

    return {name: load_model(committed(name)) for name in MODELS}


def keras_ids(model, texts):
    import tensorflow as tf

    from sentiment.network.model import text_to_ids

    ids = text_to_ids(model)(tf.constant(texts)).numpy()
    return [row[row != 0].tolist() for row in ids]


def keras_p(model, texts):
    """P(positive) from a Keras model called eagerly (5x faster than `predict` for a few texts)."""
    import tensorflow as tf

    return model(tf.constant(texts), training=False).numpy()[:, 0]


# -- the text: the vocabulary, the standardisation, the ids --------------------------------------


def test_committed_models_found():
    assert {"lstm.keras", "gru.keras", "lesson/elman.keras", "lesson/jordan.keras"} <= set(MODELS)


def test_vocabulary_and_settings_are_the_keras_models(numpy_models, committed_model):
    from sentiment.network.model import HEAD_TAIL, vocabulary_of

    ours = numpy_models[f"{committed_model.name.split('_')[0]}.keras"]
    assert ours.vocabulary.words == vocabulary_of(committed_model)
    head_tail = committed_model.get_layer(HEAD_TAIL)
    assert (ours.saved.max_length, ours.saved.head) == (head_tail.max_length, head_tail.head)


def test_ids_are_the_keras_vectorizers_on_tricky_texts(numpy_models, committed_model):
    """HTML, punctuation, Unicode, control characters, empty text, and reviews
    around and beyond the length kept (where HeadTail cuts)."""
    ours = numpy_models[f"{committed_model.name.split('_')[0]}.keras"]
    n = ours.saved.max_length
    texts = TRICKY + [long_text(ours.vocabulary.words, k) for k in (n - 1, n, n + 1, n + 37, 3 * n)]
    expected = keras_ids(committed_model, texts)
    got = [row[row != 0].tolist() for row in ours.ids(texts)]
    for text, e, g in zip(texts, expected, got):
        assert g == e, text[:80]
    assert len(got[-1]) == n and got[-1][: ours.saved.head] == expected[-1][: ours.saved.head]


def test_standardize_is_tensorflows_on_a_sample_of_code_points():
    import tensorflow as tf

    from sentiment.network.model import standardize as tf_standardize

    points = [*range(1, 0x3000, 7), *range(0x3000, 0x110000, 997), 0x2C2F, 0x10570, 0x11F04, 0x31350, 0x130]
    texts = [f"A{chr(c)}b {chr(c)}{chr(c)}.Σ" for c in points if not 0xD800 <= c <= 0xDFFF]
    expected = [row.decode("utf-8").split() for row in tf_standardize(tf.constant(texts)).numpy()]
    assert [standardize(t).split() for t in texts] == expected


@pytest.mark.slow
def test_standardize_is_tensorflows_on_every_code_point():
    """Each code point alone, between letters and doubled: Unicode's tables in
    Python and in TensorFlow's RE2 and ICU differ; `sentiment.numpy_cells.text`
    lists where, and this fails (naming the code points) when they change."""
    import tensorflow as tf

    from sentiment.network.model import standardize as tf_standardize

    points = [c for c in range(1, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"A{chr(c)}b {chr(c)} {chr(c)}{chr(c)}.ΑΣ" for c in points]
    expected = tf.strings.split(tf_standardize(tf.constant(texts))).to_list()
    wrong = [hex(c) for c, t, e in zip(points, texts, expected) if standardize(t).split() != [w.decode() for w in e]]
    assert not wrong, f"{len(wrong)} code points standardised unlike TensorFlow: {wrong[:50]}"


# -- the cells ---------------------------------------------------------------------------------------


def test_cells_compute_what_the_keras_cells_name():
    from sentiment.network.cells import CELLS as KERAS_CELLS

    builtin = {cls.__name__: cls for cls in KERAS_CELLS.values()}
    assert set(CELLS) == set(builtin)
    for name, cell in CELLS.items():
        assert (cell.gates, cell.states) == (builtin[name].gate_names, builtin[name].state_names)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_each_step_is_the_keras_cells(name):
    """One step from random weights and states: every gate and state."""
    from sentiment.network.cells import CELLS as KERAS_CELLS

    keras_cell = next(cls for cls in KERAS_CELLS.values() if cls.__name__ == name)(5)
    keras_cell.build((None, 3))
    rng = np.random.default_rng(0)
    for v in keras_cell.weights:
        v.assign(rng.normal(0, 0.7, v.shape).astype("float32"))
    x = rng.normal(size=(4, 3)).astype("float32")
    states = [rng.normal(size=(4, 5)).astype("float32") for _ in keras_cell.state_names]
    _, k_states, k_gates = keras_cell.step(x, states)
    cell = CELLS[name]
    w = {n: v.numpy() for n, v in zip(cell.weights, keras_cell.weights)}
    assert [v.path.split("/")[-1] for v in keras_cell.weights] == list(cell.weights)
    states_out, gates = cell.step(x @ w["kernel"] + w["bias"], tuple(states), w)
    for ours, theirs in zip((*gates, *states_out), (*k_gates, *k_states)):
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-6)


# -- whole models ------------------------------------------------------------------------------------


def test_p_is_keras_on_a_few_texts_for_every_committed_model(numpy_models, keras_models):
    texts = ["a wonderful film, loved it", "awful, boring; the worst plot", "not bad at all", TRICKY[0], ""]
    for name in MODELS:
        np.testing.assert_allclose(
            numpy_models[name].predict(texts), keras_p(keras_models[name], texts), atol=P_TOLERANCE, err_msg=name
        )


@pytest.mark.parametrize(
    "settings",
    [
        # stacked, both directions, the last state; only the tail kept
        {"cell": "jordan", "layers": 2, "pooling": "last", "max_length": 7, "head": 0},
        {"cell": "lstm", "layers": 2, "bidirectional": False},  # stacked, one direction, pooled
    ],
)
def test_other_layouts_of_the_model(settings, tiny_vocab, tmp_path):
    from conftest import TINY_REVIEWS
    from sentiment.network.model import ModelConfig, build_model, save_model

    config = ModelConfig(**{"vocab_size": 200, "units": 6, "embedding_dim": 5, "max_length": 12, "head": 4, **settings})
    model = build_model(config, tiny_vocab)
    save_model(model, tmp_path / "m.keras")
    texts = [t for t, _ in TINY_REVIEWS] + [" ".join([t for t, _ in TINY_REVIEWS]), ""]
    np.testing.assert_allclose(load(tmp_path / "m.keras").predict(texts), keras_p(model, texts), atol=P_TOLERANCE)


# -- what it cannot read ----------------------------------------------------------------------------


def rewrite(source, target, edit):
    """A copy of the .keras file ``source`` with its config.json edited by ``edit(config)``."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            dst.writestr(item.filename, data)  # stored, not compressed: a test's copy
    return str(target)


def classifier_layers(config):
    return next(x for x in config["config"]["layers"] if x["name"] == "classifier")["config"]["layers"]


def set_cell_class(config, name):
    layer = next(x for x in classifier_layers(config) if x["class_name"] == "Bidirectional")
    for part in ("layer", "backward_layer"):
        layer["config"][part]["config"]["cell"]["registered_name"] = f"sentiment>{name}"


def set_cell_setting(config, key, value):
    layer = next(x for x in classifier_layers(config) if x["class_name"] == "Bidirectional")
    for part in ("layer", "backward_layer"):
        layer["config"][part]["config"]["cell"]["config"][key] = value


def set_merge_mode(config, mode):
    next(x for x in classifier_layers(config) if x["class_name"] == "Bidirectional")["config"]["merge_mode"] = mode


def set_mixed_precision(config):
    next(x for x in classifier_layers(config) if x["class_name"] == "Dense")["config"]["dtype"] = "mixed_float16"


def add_layer(config):
    """A LayerNormalization between the pooling and the dropout after it."""
    layers = classifier_layers(config)
    i = next(k for k, x in enumerate(layers) if x["name"] == "pool")
    norm = json.loads(json.dumps(layers[i + 1]))  # the dropout's copy: it reads the pool
    norm.update(class_name="LayerNormalization", registered_name=None, name="norm")
    layers[i + 1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "norm"
    layers.insert(i + 1, norm)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda c: set_cell_class(c, "MinimalGatedCell"), "unknown cell class 'sentiment>MinimalGatedCell'"),
        (lambda c: set_cell_setting(c, "variant", "mgu"), "runs the variant 'mgu' of GRUCell"),
        (lambda c: set_cell_setting(c, "variant", "full"), None),  # what a cell saved today says
        (lambda c: set_cell_setting(c, "peepholes", True), "has settings it does not know: {'peepholes': True}"),
        (lambda c: set_merge_mode(c, "sum"), "merges by 'sum', not 'concat'"),
        (set_mixed_precision, "computes in mixed_float16"),
        (add_layer, "layer 'norm' of class LayerNormalization"),
        (lambda c: c["config"]["layers"].pop(2), "expected the layers InputLayer, TextVectorization, HeadTail"),
        (lambda c: c["config"]["layers"][2]["config"].pop("max_length"), "not laid out as this project's models are"),
    ],
)
def test_a_model_it_cannot_run_is_a_clear_error_naming_the_file(edit, message, tmp_path):
    path = rewrite(committed("gru.keras"), tmp_path / "odd.keras", edit)
    if message is None:
        assert load(path).predict(["a wonderful film"]).shape == (1,)
        return
    with pytest.raises(KerasFileError) as err:
        load(path)
    assert str(err.value).startswith(path) and message in str(err.value)


def test_a_file_that_is_not_a_keras_file_is_a_clear_error(tmp_path):
    cases = {"text.keras": b"not a zip", "empty.keras": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    with zipfile.ZipFile(tmp_path / "nothing.keras", "w") as z:
        z.writestr("metadata.json", "{}")
    with zipfile.ZipFile(tmp_path / "badh5.keras", "w") as z, zipfile.ZipFile(committed("lesson/elman.keras")) as src:
        z.writestr("config.json", src.read("config.json"))
        z.writestr("model.weights.h5", b"not HDF5")
    for name, message in [
        ("text.keras", "is not a .keras file (BadZipFile"),
        ("empty.keras", "is not a .keras file"),
        ("missing.keras", "is not a .keras file (FileNotFoundError"),
        ("nothing.keras", "lacks config.json, model.weights.h5"),
        ("badh5.keras", "model.weights.h5 is not an HDF5 file"),
    ]:
        with pytest.raises(KerasFileError) as err:
            load(tmp_path / name)
        assert str(tmp_path / name) in str(err.value) and message in str(err.value), str(err.value)


# -- without TensorFlow ------------------------------------------------------------------------------


@pytest.mark.slow
def test_runs_in_a_fresh_python_without_tensorflow_or_keras():
    code = (
        "import sys\n"
        "from sentiment.numpy_cells import load\n"
        "m = load('saved_models/lesson/lstm.keras')\n"
        "p = m.predict(['a wonderful film', 'dull'])\n"
        "t = m.trace('a wonderful film')\n"
        "print(sorted({'tensorflow', 'keras'} & set(sys.modules)), p.shape, len(t))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["[]", "(2,)", "1"]


# -- the real data and the suite (slow) --------------------------------------------------------------


@pytest.fixture(scope="module")
def real_test_reviews():
    from sentiment.data.imdb import load_reviews
    from sentiment.data.splits import limit

    return list(limit(load_reviews(real_archive()).test, 1000, seed=0).texts)


@pytest.mark.slow
@pytest.mark.real_data
def test_p_and_ids_are_keras_on_1000_real_reviews_for_every_committed_model(
    real_test_reviews, numpy_models, keras_models
):
    import tensorflow as tf

    for name in MODELS:
        ours, theirs = numpy_models[name], keras_models[name]
        expected = theirs.predict(tf.constant(real_test_reviews), batch_size=64, verbose=0)[:, 0]
        np.testing.assert_allclose(ours.predict(real_test_reviews), expected, atol=P_TOLERANCE, err_msg=name)
    ours, theirs = numpy_models["gru.keras"], keras_models["gru.keras"]
    got = [row[row != 0].tolist() for row in ours.ids(real_test_reviews)]
    assert got == keras_ids(theirs, real_test_reviews)


@pytest.mark.slow
def test_p_is_keras_on_the_behavioural_suite_for_every_committed_model(numpy_models, keras_models):
    import tensorflow as tf

    from sentiment.experiments.suite import build_suite

    texts = sorted({c.text for c in build_suite()} | {c.base for c in build_suite() if c.base})
    assert len(texts) > 1000
    for name in MODELS:
        expected = keras_models[name].predict(tf.constant(texts), batch_size=64, verbose=0)[:, 0]
        np.testing.assert_allclose(numpy_models[name].predict(texts), expected, atol=P_TOLERANCE, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_every_gate_and_state_is_the_traces(name, numpy_models, keras_models):
    """Both traces of `sentiment.analysis.traces`: the compiled one the app
    shows, and Keras's own time loop. An LSTM's cell state is unbounded (it
    reaches ~200 on the long review): it is compared relative to its size.
    Over the long review's 800 steps Keras's float32 drifts from the float64
    NumPy cells (the committed LSTM's backward hidden state: by up to 1.7e-5
    compiled, 1.0e-5 in Keras's loop; 1e-7 on the short reviews), so it gets a
    looser bound; a wrong equation is off by 1e-2 or more."""
    from sentiment.analysis.reading import trace
    from sentiment.analysis.traces import trace_through_keras

    texts = [
        "A wonderful film.<br /><br />I loved every minute, though the ending dragged a little.",
        "Not bad at all; I didn't expect to like it, but the cast won me over.",
        "dull " * 900 + "but a great ending",  # cut by HeadTail, and a cell state far from 0
    ]
    for text, atol in zip(texts, (1e-5, 1e-5, 5e-5)):
        ours = numpy_models[name].trace(text)
        for make in (trace, trace_through_keras):
            expected = make(keras_models[name], text)
            assert {t.layer for t in expected.layers} == set(ours)
            for layer in expected.layers:
                got = ours[layer.layer][layer.direction]
                assert list(got) == layer.names
                for quantity, values in layer.values.items():
                    np.testing.assert_allclose(
                        got[quantity], values, atol=atol, rtol=1e-4, err_msg=f"{name} {layer.label} {quantity}"
                    )
