"""The text -> probability model, saving, loading, and per-token traces."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, TINY_REVIEWS, predict, real_archive
from sentiment.analysis.reading import trace
from sentiment.network.model import (
    HeadTail,
    ModelConfig,
    ModelLoadError,
    build_model,
    classifier_of,
    load_model,
    make_vectorizer,
    standardize,
    text_to_ids,
)

TEXTS = [t for t, _ in TINY_REVIEWS]


def test_model_takes_raw_strings_and_returns_probabilities(tiny_model):
    probs = tiny_model.predict(tf.constant(TEXTS), verbose=0)
    assert probs.shape == (len(TEXTS), 1)
    assert np.all((probs > 0) & (probs < 1))


def test_standardize_drops_markup_control_characters_and_punctuation():
    out = standardize(tf.constant(["Great<br /><br />FILM\x85ok, isn't it?! \u2028 \U0001f600"])).numpy()[0].decode()
    assert out.split() == ["great", "film", "ok", "isnt", "it"]


def test_head_tail_keeps_start_and_end_of_long_reviews():
    ids = tf.constant([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [4, 5, 6, 0, 0, 0, 0, 0, 0, 0]], dtype="int64")
    out = HeadTail(max_length=5, head=2)(ids).numpy()
    np.testing.assert_array_equal(out, [[1, 2, 8, 9, 10], [4, 5, 6, 0, 0]])
    empty = HeadTail(max_length=5, head=2)(tf.zeros((1, 0), "int64")).numpy()
    np.testing.assert_array_equal(empty, [[0]])


@pytest.mark.slow
def test_save_and_load_in_a_fresh_process_gives_identical_predictions(tiny_model, tmp_path):
    path = str(tmp_path / "model.keras")
    tiny_model.save(path)
    expected = predict(tiny_model, TEXTS)
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import tensorflow as tf; from sentiment.network.model import load_model;"
        "m = load_model(sys.argv[2]); texts = tf.constant(json.loads(sys.argv[3]));"
        "print(json.dumps(m.predict(texts, verbose=0)[:, 0].tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, ROOT, path, json.dumps(TEXTS)], capture_output=True, text=True, check=True
    )
    got = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
    np.testing.assert_array_equal(got, expected)


def test_trace_matches_model(tiny_model):
    text = TEXTS[4] + " " + TEXTS[0]  # longer than max_length=12: head and tail kept
    t = trace(tiny_model, text)
    assert abs(t.probability - float(predict(tiny_model, [text])[0])) < 1e-5
    ids = text_to_ids(tiny_model)(tf.constant([text])).numpy()[0]
    assert len(t.tokens) == np.count_nonzero(ids) == 12
    assert t.total_tokens == 16 and t.truncated
    assert t.tokens == ["terrible", "film", "awful", "acting"] + "a great movie i loved it wonderful acting".split()
    # The trace's hidden states are the recurrent layer's outputs.
    classifier = classifier_of(tiny_model)
    bi = next(layer for layer in classifier.layers if isinstance(layer, keras.layers.Bidirectional))
    seq = keras.Model(classifier.input, bi.output)(ids[None, : len(t.tokens)]).numpy()[0]
    forward, backward = t.layers
    units = forward.values["hidden"].shape[1]
    assert (forward.direction, backward.direction) == ("forward", "backward")
    np.testing.assert_allclose(forward.values["hidden"], seq[:, :units], atol=1e-5)
    np.testing.assert_allclose(backward.values["hidden"], seq[:, units:], atol=1e-5)
    for layer in t.layers:
        assert set(layer.values) == set(layer.names)
        for q in layer.quantities:
            v = layer.values[q.name]
            assert v.shape == (len(t.tokens), units)
            assert q.low <= v.min() and v.max() <= q.high, q.name


def test_trace_keeps_head_and_tail_tokens(tiny_model):
    words = "great " * 3 + "boring " * 20 + "awful"
    t = trace(tiny_model, words)
    assert t.tokens[:3] == ["great"] * 3 and t.tokens[-1] == "awful"
    assert t.total_tokens == 24 and len(t.tokens) == 12


def test_trace_of_review_without_words_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match="no words"):
        trace(tiny_model, " ...!!! ")
    # The model itself still answers (an empty review is fully masked).
    assert predict(tiny_model, [""]).shape == (1,)


def test_load_model_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.keras"
    with pytest.raises(ModelLoadError, match="nope.keras"):
        load_model(missing)
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        load_model(empty)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(os.urandom(2048))
    with pytest.raises(ModelLoadError, match="junk.keras"):
        load_model(junk)


def test_load_model_rejects_a_keras_model_that_is_not_ours(tmp_path):
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    path = tmp_path / "other.keras"
    other.save(path)
    with pytest.raises(ModelLoadError, match="not a sentiment model"):
        load_model(path)


def test_bad_model_config_raises():
    with pytest.raises(ValueError, match="head"):
        ModelConfig(max_length=10, head=11).validate()
    with pytest.raises(ValueError, match="Unknown cell"):
        ModelConfig(cell="transformer").validate()


@pytest.mark.real_data
@pytest.mark.slow
def test_save_load_round_trip_on_real_reviews(tmp_path):
    """IMDB text holds characters (e.g. U+0085) that break a default vocabulary on reload."""
    from sentiment.data.imdb import load_reviews
    from sentiment.data.splits import limit

    reviews = limit(load_reviews(real_archive()).train, 3000, seed=0).texts
    assert any("\x85" in r for r in reviews)
    vectorizer = make_vectorizer(5000)
    vectorizer.adapt(reviews)
    vocab = [str(t) for t in vectorizer.get_vocabulary()]
    model = build_model(ModelConfig(vocab_size=5000, units=4, embedding_dim=4), vocab)
    path = str(tmp_path / "real.keras")
    model.save(path)
    loaded = load_model(path)
    assert [str(t) for t in loaded.get_layer("vectorizer").get_vocabulary()] == vocab
    np.testing.assert_array_equal(predict(loaded, reviews[:20]), predict(model, reviews[:20]))


@pytest.mark.slow
def test_last_state_model_traces_explains_and_round_trips(tiny_vocab, tmp_path):
    """pooling="last", one direction: the textbook many-to-one model."""
    from sentiment.analysis.reading import explain

    config = ModelConfig(cell="elman", vocab_size=200, units=4, embedding_dim=5, bidirectional=False, pooling="last")
    model = build_model(config, tiny_vocab)
    assert not any(isinstance(layer, keras.layers.Bidirectional) for layer in classifier_of(model).layers)
    text = "a great movie, I loved it"
    t = trace(model, text)
    p = predict(model, [text])[0]
    assert abs(t.probability - p) < 1e-5 and [layer.direction for layer in t.layers] == ["forward"]
    # The classifier reads the final state only: the last token's hidden state decides.
    dense = classifier_of(model).get_layer("positive")
    logit = t.layers[0].values["hidden"][-1] @ np.asarray(dense.kernel)[:, 0] + np.asarray(dense.bias)[0]
    assert p == pytest.approx(1 / (1 + np.exp(-logit)), abs=1e-5)
    e = explain(model, text)
    assert sum(u.contributions.sum() for u in e.units) == pytest.approx(e.logit - e.logit_at_zero, abs=1e-4)
    path = tmp_path / "last.keras"
    model.save(path)
    np.testing.assert_allclose(predict(load_model(path), TEXTS), predict(model, TEXTS), atol=1e-6)
    with pytest.raises(ValueError, match="pooling"):
        ModelConfig(pooling="first").validate()
