"""The compiled passes (`sentiment.analysis.passes`) against Keras's own loop and the
uncompiled explanation functions: the same numbers, to float rounding."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from sentiment.analysis import explain as ex
from sentiment.analysis import passes, reading
from sentiment.analysis.reading import trace
from sentiment.analysis.traces import trace_through_keras
from sentiment.network.cells import CELLS, ElmanCell, RecurrentCell
from sentiment.network.recurrent import Recurrent

TEXT = "a great movie, I loved it. wonderful acting! but the plot is boring and the worst ending"


def random_review(vocabulary, n, seed=0):
    """``n`` words of ``vocabulary`` in a random order. Not a phrase repeated:
    there the max pooling meets near-ties (the same words in the same
    context, the same states), and float rounding decides which token the
    gradient of a max goes to, so two correct computations differ per token."""
    return " ".join(np.random.default_rng(seed).choice([w for w in vocabulary[2:] if w], n))


# Every cell, both directions, in the quick loop too (each compiles four small programs: about a second).
@pytest.mark.parametrize("name,backwards", [(name, backwards) for name in sorted(CELLS) for backwards in (False, True)])
def test_run_and_backprop_match_keras_loop(name, backwards):
    """Right-padded rows of several lengths in a longer buffer; projected
    inputs or not; the gradient through every step, for rows of full length."""
    size, steps, features = 9, 7, 5
    layer = Recurrent(CELLS[name](4, seed=1), return_sequences=True, go_backwards=backwards)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, size, features)).astype("float32")
    layer(x)
    layer.set_weights([rng.normal(scale=0.6, size=w.shape).astype("float32") for w in layer.get_weights()])
    lengths = np.array([steps, 4, 1], "int32")
    mask = np.arange(size)[None, :] < lengths[:, None]
    expected = layer.trace(x, mask)  # Keras's loop, in token order; masked steps carry the state

    @tf.function(jit_compile=True, autograph=False)
    def ours(x, projected):
        xs = tf.transpose(x, [1, 0, 2])
        inputs = layer.cell.project(xs) if projected else xs
        states, gates = layer.run(inputs, tf.constant(lengths), tf.constant(steps), projected, gate_rows=3)
        return states, gates

    for projected in (False, True):
        states, gates = ours(x, projected)
        got = dict(zip((*layer.cell.state_names, *layer.cell.gate_names), (*states, *gates)))
        for key, value in got.items():
            value = np.transpose(np.asarray(value), [1, 0, 2])[:, :steps]
            want = np.asarray(expected[key])[:, :steps]
            if key in layer.cell.gate_names:  # a gate of a masked step is whatever the step computed
                value, want = value[mask[:, :steps]], want[mask[:, :steps]]
            np.testing.assert_allclose(value, want, atol=2e-6, err_msg=f"{key}, projected={projected}")

    # Back-propagation through time: the gradient of sum(w * h_t) over every
    # step, for the first `steps` tokens, against autodiff through Keras's loop.
    w = rng.normal(size=(steps, 3, 4)).astype("float32")
    x_full = x[:, :steps]
    with tf.GradientTape() as tape:
        xt = tf.constant(x_full)
        tape.watch(xt)
        h = layer(xt)  # (batch, steps, units), in the order read: go_backwards reads the last token first
        h = tf.reverse(h, [1]) if backwards else h
        total = tf.reduce_sum(tf.transpose(h, [1, 0, 2]) * w)
    want = np.transpose(tape.gradient(total, xt).numpy(), [1, 0, 2])

    @tf.function(jit_compile=True, autograph=False)
    def back(x, projected):
        xs = tf.transpose(x, [1, 0, 2])
        full = tf.fill([3], steps)
        inputs = layer.cell.project(xs) if projected else xs
        states, _ = layer.run(inputs, full, tf.constant(steps), projected)
        padded = tf.pad(tf.constant(w), [[0, size - steps], [0, 0], [0, 0]])
        d = layer.backprop(inputs, states, padded, tf.constant(steps), projected)
        if projected:
            with tf.GradientTape() as t2:
                t2.watch(xs)
                p = layer.cell.project(xs)
            d = t2.gradient(p, xs, output_gradients=d)
        return d

    for projected in (False, True):
        got = np.asarray(back(x, projected))
        np.testing.assert_allclose(got[:steps], want, rtol=1e-5, atol=1e-5, err_msg=f"projected={projected}")
        np.testing.assert_array_equal(got[steps:], 0.0)


def assert_same_attribution(got, want):
    """Integrated gradients from two correct computations agree to float
    rounding, but for one thing: at the baseline every token reads the padding
    vector, the states settle on a fixed point, and the gradient of a max over
    exactly equal values is shared among them; which values are exactly equal,
    float rounding decides. So the scores agree within 1% of the largest (on
    the committed models: within 0.2%), the ranking and the sums hardly move."""
    assert got.steps == want.steps and got.tokens == want.tokens
    scale = float(np.abs(want.scores).max())
    np.testing.assert_allclose(got.scores, want.scores, atol=1e-2 * scale + 1e-6)
    assert got.scores.sum() == pytest.approx(want.scores.sum(), abs=1e-2 * scale)
    if len(got.scores) > 2:
        assert np.corrcoef(np.argsort(np.argsort(got.scores)), np.argsort(np.argsort(want.scores)))[0, 1] > 0.98


def _model(tiny_vocab, **config):
    from sentiment.network.model import ModelConfig, build_model

    base = {"cell": "lstm", "vocab_size": 200, "units": 4, "embedding_dim": 5, "max_length": 60, "head": 10}
    model = build_model(ModelConfig(**{**base, **config}), tiny_vocab)
    rng = np.random.default_rng(3)  # weights larger than at initialisation: gates that saturate, a sharper path
    model.set_weights([rng.normal(scale=0.7, size=w.shape).astype("float32") for w in model.get_weights()])
    return model


CONFIGS = {
    "lstm": {},
    "gru": {"cell": "gru"},
    "jordan, 2 layers": {"cell": "jordan", "layers": 2},
    "gru, last state, one direction": {"cell": "gru", "pooling": "last", "bidirectional": False},
    "elman, last state, 2 layers": {"cell": "elman", "pooling": "last", "layers": 2},
}


@pytest.mark.slow
@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
def test_compiled_trace_and_explanation_match_the_uncompiled_ones(tiny_vocab, config):
    model = _model(tiny_vocab, **CONFIGS[config])
    assert passes.passes_of(model) is not None and all(passes.passes_of(model).projected.values())
    for text in (TEXT, random_review(tiny_vocab, 50), "great"):  # 50 tokens: occluded in spans
        t, e = reading.trace_and_explain(model, text)
        reference = trace_through_keras(model, text)
        for got in (t, trace(model, text)):
            assert got.tokens == reference.tokens and got.total_tokens == reference.total_tokens
            assert got.probability == pytest.approx(reference.probability, abs=1e-6)
            for a, b in zip(got.layers, reference.layers, strict=True):
                assert (a.layer, a.direction, a.names) == (b.layer, b.direction, b.names)
                for name in a.names:
                    np.testing.assert_allclose(a.values[name], b.values[name], atol=1e-5, err_msg=name)
        ig = ex.integrated_gradients(model, text, steps=e.attribution.steps)
        assert e.attribution.tokens == ig.tokens
        assert_same_attribution(e.attribution, ig)
        assert e.attribution.probability == pytest.approx(ig.probability, abs=1e-6)
        assert e.attribution.baseline_probability == pytest.approx(ig.baseline_probability, abs=1e-6)
        occ = ex.occlusion(model, text)
        assert e.occlusion.spans == occ.spans
        np.testing.assert_allclose(e.occlusion.deltas, occ.deltas, atol=1e-5)
        units, logit, at_zero = ex.unit_contributions(model, text)
        for a, b in zip(e.units, units, strict=True):
            assert (a.layer, a.direction) == (b.layer, b.direction)
            np.testing.assert_allclose(a.contributions, b.contributions, atol=1e-5)
            np.testing.assert_array_equal(a.order, b.order)
        assert e.logit == pytest.approx(logit, abs=1e-4) and e.logit_at_zero == pytest.approx(at_zero, abs=1e-4)


@pytest.mark.slow
def test_more_steps_compute_only_the_midpoints_and_match_the_full_rule(tiny_vocab, monkeypatch):
    model = _model(tiny_vocab)
    monkeypatch.setattr(reading, "COMPLETENESS_TOLERANCE", -1.0)  # never complete: every step count is tried
    e = reading.explain(model, TEXT)
    assert e.attribution.steps == ex.IG_STEPS[-1]
    full = ex.integrated_gradients(model, TEXT, steps=ex.IG_STEPS[-1])
    assert_same_attribution(e.attribution, full)


@pytest.mark.slow
def test_explanation_of_the_committed_models_is_the_uncompiled_one(committed_model):
    from sentiment.network.model import vocabulary_of

    text = random_review(vocabulary_of(committed_model)[:5000], 1000)  # the model reads 800
    e = reading.explain(committed_model, text)
    ig = ex.integrated_gradients(committed_model, text, steps=e.attribution.steps)
    assert_same_attribution(e.attribution, ig)
    # 0.2% of the largest score: the retrained GRU of the --seeds 3 run differed by 0.07% on one of 800 tokens.
    np.testing.assert_allclose(e.attribution.scores, ig.scores, atol=2e-3 * np.abs(ig.scores).max())
    np.testing.assert_allclose(e.occlusion.deltas, ex.occlusion(committed_model, text).deltas, atol=1e-5)
    units, logit, _ = ex.unit_contributions(committed_model, text)
    for a, b in zip(e.units, units, strict=True):
        np.testing.assert_array_equal(a.order, b.order)
    assert e.logit == pytest.approx(logit, abs=1e-4)


@keras.saving.register_keras_serializable(package="sentiment_tests")
class InputInTheGateCell(RecurrentCell):
    """An Elman cell that writes ``step`` (reading ``inputs`` itself), not
    ``step_from_projection``: the compiled passes must feed it the inputs unprojected."""

    gates = ElmanCell.gates

    def step(self, inputs, states, training=False):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias + ops.matmul(states[0], self.recurrent_kernel))
        return h, [h], (h,)


@pytest.mark.slow
def test_a_cell_that_reads_its_input_itself_runs_unprojected(tiny_vocab, monkeypatch):
    monkeypatch.setitem(CELLS, "inputgate", InputInTheGateCell)
    model = _model(tiny_vocab, cell="inputgate")
    assert not InputInTheGateCell.reads_projection and ElmanCell.reads_projection
    compiled = passes.passes_of(model)
    assert compiled is not None and not any(compiled.projected.values())
    t, e = reading.trace_and_explain(model, TEXT)
    reference = trace_through_keras(model, TEXT)
    np.testing.assert_allclose(t.layers[1].values["hidden"], reference.layers[1].values["hidden"], atol=1e-5)
    assert_same_attribution(e.attribution, ex.integrated_gradients(model, TEXT, steps=e.attribution.steps))


def test_every_cell_reads_its_projection_and_step_is_that_of_the_projection():
    """A cell's ``step`` is ``step_from_projection`` of ``project(x)``: what
    the compiled passes run is what Keras's loop runs."""
    rng = np.random.default_rng(0)
    for name, cell_cls in CELLS.items():
        cell = cell_cls(3, seed=1)
        cell.build((None, 2))
        x = tf.constant(rng.normal(size=(4, 2)), "float32")
        states = [tf.constant(rng.normal(size=(4, 3)), "float32") for _ in cell.state_names]
        plain = cell.step(x, states)
        projected = cell.step_from_projection(cell.project(x), states)
        assert cell_cls.reads_projection, name
        for a, b in zip(keras.tree.flatten(plain), keras.tree.flatten(projected)):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(plain[0], plain[1][0], err_msg=f"{name}: the output is the first state")


@pytest.mark.slow
def test_a_model_with_another_layer_inside_is_explained_uncompiled(tiny_vocab):
    from sentiment.network.model import CLASSIFIER, EMBEDDING, HEAD_TAIL, HeadTail, MaskedPool, make_vectorizer

    ids = keras.Input(shape=(None,), dtype="int64")
    x = keras.layers.Embedding(len(tiny_vocab), 5, mask_zero=True, name=EMBEDDING)(ids)
    x = keras.layers.Dense(5, name="odd")(x)  # not a no-op: the compiled passes would skip it
    x = keras.layers.Bidirectional(Recurrent(CELLS["gru"](3), return_sequences=True))(x)
    prob = keras.layers.Dense(1, activation="sigmoid")(MaskedPool()(x))
    classifier = keras.Model(ids, prob, name=CLASSIFIER)
    text = keras.Input(shape=(), dtype="string")
    kept = HeadTail(20, 5, name=HEAD_TAIL)(make_vectorizer(200, tiny_vocab)(text))
    model = keras.Model(text, classifier(kept))
    assert passes.passes_of(model) is None
    e = reading.explain(model, TEXT)
    assert len(e.attribution.scores) == len(trace(model, TEXT).tokens)
    np.testing.assert_allclose(e.attribution.scores, ex.integrated_gradients(model, TEXT).scores, atol=1e-6)


@pytest.mark.parametrize(
    "config",
    [pytest.param(c, marks=[] if c == "gru, last state, one direction" else [pytest.mark.slow]) for c in CONFIGS],
)
def test_compiled_gradient_reach_is_keras_loops(tiny_vocab, config):
    """`gradient_reach` through the compiled pass against `reach_of_ids`,
    autodiff through Keras's own loop: both curves, every token."""
    from sentiment.analysis.gradients import reach_of_ids
    from sentiment.analysis.reading import gradient_reach

    model = _model(tiny_vocab, **CONFIGS[config])
    assert passes.passes_of(model) is not None
    for text in (TEXT, random_review(tiny_vocab, 50), "great"):
        got = gradient_reach(model, text)
        ids = ex.review_ids(model, text)
        embedding, recurrence = reach_of_ids(model, ids[None])
        assert len(got.tokens) == len(ids)
        pairs = (("embedding", got.embedding, embedding[0]), ("recurrence", got.recurrence, recurrence[0]))
        for name, mine, want in pairs:
            np.testing.assert_allclose(mine, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()), err_msg=name)
