"""The training step compiled with XLA (--jit) and in mixed precision (--mixed-precision)."""

import numpy as np
import pytest

from conftest import TINY_REVIEWS, run_train, write_aclimdb


def _tiny_fit(vocab, tmp_path, name, **kwargs):
    """fit() of a tiny LSTM model on the tiny reviews: its history."""
    import tensorflow as tf

    from sentiment.network.model import ModelConfig, build_model, text_to_ids
    from sentiment.training.fit import FitConfig, fit

    model = build_model(ModelConfig(units=4, embedding_dim=4, vocab_size=200), vocab)
    ids = text_to_ids(model)(tf.constant([t for t, _ in TINY_REVIEWS] * 4))
    labels = np.array([y for _, y in TINY_REVIEWS] * 4, "float32")
    ds = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(8)
    (tmp_path / name).mkdir()
    result = fit(model, ds, ds, FitConfig(epochs=2, adversarial=0.1), str(tmp_path / name), "lstm", False, **kwargs)
    return model, result.history


@pytest.fixture
def mixed_precision():
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_mixed_precision_trains_in_float16_and_reads_the_unscaled_gradient(tiny_vocab, tmp_path, mixed_precision):
    import keras
    import tensorflow as tf

    model, history = _tiny_fit(tiny_vocab, tmp_path, "mixed")
    # float16 activations inside, a float32 probability out; float32 weights.
    assert model.get_layer("classifier").get_layer("bi_lstm_0").compute_dtype == "float16"
    assert model(tf.constant(["a great movie"])).dtype == tf.float32
    assert all(w.dtype == "float32" for w in model.weights)
    assert np.all(np.isfinite(history["loss"]))
    keras.mixed_precision.set_global_policy("float32")
    _, reference = _tiny_fit(tiny_vocab, tmp_path, "float32")
    # The loss is scaled by 2**15 for the gradient; the readings undo it (float16 is close, not equal).
    np.testing.assert_allclose(history["grad_norm_median"], reference["grad_norm_median"], rtol=0.5)


@pytest.mark.slow
def test_jit_compiles_our_cells_training_step(tiny_vocab, tmp_path, monkeypatch):
    import keras

    compiled = []
    original = keras.Model.compile

    def compile(self, *args, **kwargs):
        original(self, *args, **kwargs)
        compiled.append(self.jit_compile)  # what Keras settled on (it may refuse XLA, with a warning)

    monkeypatch.setattr(keras.Model, "compile", compile)
    _, history = _tiny_fit(tiny_vocab, tmp_path, "xla", jit=True)
    assert compiled == [True]
    assert np.all(np.isfinite(history["loss"])) and len(history["loss"]) == 2


@pytest.mark.slow
# Keras's warning, which fit() turns into an error:
@pytest.mark.filterwarnings("ignore:Model doesn't support `jit_compile=True`:UserWarning")
def test_jit_is_refused_clearly_under_op_determinism(tiny_vocab, tmp_path):
    """Keras does not compile with XLA under op determinism: it warns and trains
    without; fit() says so instead (train.py turns determinism off for --jit)."""
    import tensorflow as tf

    from sentiment.training.fit import TrainingError

    tf.config.experimental.enable_op_determinism()
    try:
        with pytest.raises(TrainingError, match="`jit`: Keras will not compile this model with XLA"):
            _tiny_fit(tiny_vocab, tmp_path, "xla", jit=True)
    finally:
        from tensorflow.python.framework.config import disable_op_determinism  # no public name

        disable_op_determinism()


@pytest.mark.slow
def test_jit_says_clearly_when_xla_cannot_compile_the_step(tmp_path):
    import keras
    import tensorflow as tf

    from sentiment.training.fit import FitConfig, TrainingError, fit

    ids = keras.Input(shape=(None,), dtype="int64")
    x = keras.layers.Embedding(20, 4, name="embedding")(ids)
    # An op XLA has no kernel for: a Python function called from the graph.
    x = keras.layers.Lambda(
        lambda t: tf.ensure_shape(tf.py_function(lambda v: v, [t], tf.float32), t.shape), output_shape=lambda s: s
    )(x)
    prob = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling1D()(x))
    classifier = keras.Model(ids, prob, name="classifier")
    model = keras.Model(ids, classifier(ids))
    ds = tf.data.Dataset.from_tensor_slices((np.ones((8, 5), "int64"), np.ones(8, "float32"))).batch(4)
    with pytest.raises(TrainingError, match="`jit`: XLA could not compile the training step.*without it"):
        fit(model, ds, ds, FitConfig(epochs=1), str(tmp_path), "odd", resume=False, jit=True)


@pytest.mark.slow
def test_train_py_with_jit_and_mixed_precision(tmp_path):
    data = write_aclimdb(tmp_path / "data", per_class=20)
    common = ["--data", data, "--limit", "24", "--epochs", "1", "--units", "4", "--embedding-dim", "4"]
    result = run_train(*common, "--cells", "gru", "--no-baseline", "--jit", "--mixed-precision", timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Training on the CPU" in result.stdout and "GRU test accuracy" in result.stdout
    assert "jit_compile" not in result.stderr  # Keras's warning when it refuses XLA
