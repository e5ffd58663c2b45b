"""Gradient reach against finite differences; retention and saturation from traced gates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sentiment.analysis import gradients as gr
from sentiment.analysis import reading
from sentiment.analysis.reader import reader_of
from sentiment.analysis.reading import trace
from sentiment.network.model import ModelConfig, build_model

TEXT = "a great movie i loved it wonderful acting"


@pytest.fixture(scope="module", params=["elman", "lstm"])
def last_state_model(request, tiny_vocab):
    """In float64, so that finite differences resolve gradients that have
    shrunk a thousandfold on their way back."""
    config = ModelConfig(
        cell=request.param, vocab_size=200, units=3, embedding_dim=4, bidirectional=False, pooling="last"
    )
    keras.config.set_dtype_policy("float64")
    try:
        model = build_model(config, tiny_vocab)
    finally:
        keras.config.set_dtype_policy("float32")
    rng = np.random.default_rng(0)  # weights large enough that the gradients differ a lot by position
    model.set_weights([rng.normal(scale=0.8, size=w.shape) for w in model.get_weights()])
    return model


def _logit(model, vectors):
    reader = reader_of(model)
    p = float(np.asarray(reader.from_vectors([vectors[None], np.ones((1, len(vectors)), bool)]))[0, 0])
    return np.log(p) - np.log1p(-p)  # as gradients.py reads it


@pytest.mark.slow
def test_embedding_gradient_matches_finite_differences(last_state_model):
    reader = reader_of(last_state_model)
    reach = reading.gradient_reach(last_state_model, TEXT)
    ids = [list(reader.vocabulary).index(t) for t in reach.tokens]
    vectors = np.asarray(tf.gather(reader.table, ids), "float64")
    eps = 1e-4
    for t in (0, len(ids) // 2, len(ids) - 1):
        grad = []
        for k in range(vectors.shape[1]):
            up, down = vectors.copy(), vectors.copy()
            up[t, k] += eps
            down[t, k] -= eps
            grad.append((_logit(last_state_model, up) - _logit(last_state_model, down)) / (2 * eps))
        assert np.linalg.norm(grad) == pytest.approx(reach.embedding[t], rel=1e-3, abs=1e-5), t


@pytest.mark.slow
def test_recurrence_gradient_matches_finite_differences_of_the_state(last_state_model):
    """Perturb the state after step t and run Keras's own layer on from there."""
    reader = reader_of(last_state_model)
    reach = reading.gradient_reach(last_state_model, TEXT)
    rnn = dict(reader.layers[-1][1])["forward"]
    ids = np.array([[list(reader.vocabulary).index(t) for t in reach.tokens]])
    x = np.asarray(reader.last_input(ids))
    dense = last_state_model.get_layer("classifier").get_layer("positive")
    direction = np.asarray(dense.kernel)[:, 0]  # the classifier reads the final state with these weights
    values = rnn.trace(x)
    states = [np.asarray(values[name])[0] for name in rnn.cell.state_names]
    layer = type(rnn)(type(rnn.cell).from_config(rnn.cell.get_config()), return_sequences=False, dtype="float64")
    layer(x[:, :1], initial_state=[s[:1] for s in states])
    layer.set_weights(rnn.get_weights())
    eps = 1e-4
    n = x.shape[1]
    for t in (0, n // 2, n - 2):
        grad = []
        for which in range(len(states)):
            for k in range(rnn.cell.units):
                ends = []
                for sign in (1, -1):
                    start = [s[t : t + 1].astype("float64").copy() for s in states]
                    start[which][0, k] += sign * eps
                    final = np.asarray(layer(x[:, t + 1 :], initial_state=start))[0]
                    ends.append(direction @ final)
                grad.append((ends[0] - ends[1]) / (2 * eps))
        assert np.linalg.norm(grad) == pytest.approx(reach.recurrence[t], rel=1e-3, abs=1e-5), t
    # At the last step the state is the final state: the gradient is the direction itself
    # (for the LSTM, only h is read: c contributes nothing).
    assert reach.recurrence[-1] == pytest.approx(np.linalg.norm(direction), rel=1e-5)


@pytest.mark.slow
def test_batched_reach_equals_one_review_at_a_time(last_state_model):
    texts = [TEXT, "awful boring film i hated it", "the worst movie"]
    batched = gr.reach_of_reviews(last_state_model, texts, step=4)
    one = {" ".join(r.tokens): r for r in (reading.gradient_reach(last_state_model, t) for t in texts)}
    for r in batched:
        # A review is cut to a multiple of 4 tokens from its end; the curves read from the end agree.
        full = next(v for k, v in one.items() if k.endswith(" ".join(r.tokens)))
        n = len(r.tokens)
        if n == len(full.tokens):
            np.testing.assert_allclose(r.embedding, full.embedding, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(r.recurrence, full.recurrence, rtol=1e-4, atol=1e-6)


def test_reach_profile_summarises_by_distance_from_the_end():
    a = gr.Reach(["x"] * 3, np.array([0.25, 0.5, 1.0]), np.array([1.0, 2.0, 4.0]))
    b = gr.Reach(["x"] * 2, np.array([1.0, 2.0]), np.array([3.0, 6.0]))
    profile = gr.reach_profile([a, b], distances=(0, 1, 2, 4))
    assert profile["embedding"]["median"][:3] == [1.0, 0.5, 0.25]
    assert profile["embedding"]["n"] == [2, 2, 1, 0] and profile["embedding"]["median"][3] is None
    assert profile["recurrence"]["median"][:2] == [1.0, 0.5]


@pytest.mark.slow
def test_retention_is_the_product_of_the_later_keep_gates(tiny_vocab):
    for cell in ("lstm", "gru", "elman"):
        model = build_model(ModelConfig(cell=cell, vocab_size=200, units=3, embedding_dim=4), tiny_vocab)
        t = trace(model, TEXT)
        kept = gr.retention(t)
        if cell == "elman":
            assert kept == {}  # no keep gate: the state is rewritten at every step
            continue
        ((label, values),) = kept.items()
        assert label.endswith("(forward)")
        layer = next(layer for layer in t.layers if layer.label == label)
        keep = layer.values["forget"] if cell == "lstm" else 1 - layer.values["update"]
        for i in range(len(t.tokens)):
            np.testing.assert_allclose(values[i], np.prod(keep[i + 1 :], axis=0), rtol=1e-5)
        np.testing.assert_array_equal(values[-1], 1.0)


@pytest.mark.slow
def test_saturation_of_gates_with_a_large_bias(tiny_vocab):
    model = build_model(ModelConfig(cell="gru", vocab_size=200, units=3, embedding_dim=4), tiny_vocab)
    cell = model.get_layer("classifier").get_layer("bi_gru_0").forward_layer.cell
    bias = np.asarray(cell.bias).copy()
    bias[:3] = 20.0  # update gate: right-saturated
    bias[3:6] = -20.0  # reset gate: left-saturated
    cell.bias.assign(bias)
    sat = gr.saturation([trace(model, TEXT), trace(model, "awful film")])
    forward = sat["bi_gru_0 (forward)"]
    np.testing.assert_array_equal(forward["update"], [[0, 0, 0], [1, 1, 1]])  # [below 0.1, above 0.9] per unit
    np.testing.assert_array_equal(forward["reset"], [[1, 1, 1], [0, 0, 0]])
    assert "candidate" not in forward  # not a sigmoid gate
    assert keras.ops.all(keras.ops.isfinite(sat["bi_gru_0 (backward)"]["update"]))
