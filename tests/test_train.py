"""train.py end to end on tiny data, its bad-input errors, and a real-data check."""

import json
import os

import pytest

from conftest import predict, real_archive, run_train, write_aclimdb


@pytest.mark.slow
def test_limit_run_writes_every_artifact(tiny_run):
    out, result = tiny_run
    for name in ("lstm.keras", "gru.keras", "metrics.json", "report.md", "curves.png",
                 "runs/lstm.csv", "runs/gru.best.keras"):
        assert (out / name).is_file(), name
    assert not [p for p in os.listdir(out) if p.startswith(".tmp-")]  # no half-written files
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"lstm", "gru"}
    for m in metrics["models"].values():
        t = m["test"]
        assert {"accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix"} <= set(t)
        assert sum(map(sum, t["confusion_matrix"])) == t["n"] == metrics["data"]["test"] == 40
        assert m["parameters"] > 0 and m["train_seconds"] > 0 and m["train_reviews_per_s"] > 0
    assert 0 <= metrics["baseline"]["accuracy"] <= 1
    assert metrics["data"]["val_split"] == "grouped by movie"
    assert metrics["vocabulary_size"] <= 100 and "--limit 40" in metrics["command"]
    report = (out / "report.md").read_text()
    assert "lstm" in report and "gru" in report and "TF-IDF" in report


@pytest.mark.slow
def test_saved_models_reload_and_predict(tiny_run):
    from sentiment.inspect import trace
    from sentiment.model import load_model

    out, _ = tiny_run
    for cell in ("lstm", "gru"):
        model = load_model(out / f"{cell}.keras")
        p = predict(model, ["a wonderful film", "awful and boring"])
        assert p.shape == (2,)
        assert trace(model, "a wonderful film").tokens == ["a", "wonderful", "film"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--data", "/nonexistent/aclImdb"], "no such file"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--head", "500", "--max-length", "400"], "--head must be in [0, max_length=400]"),
        (["--dropout", "1.5"], "--dropout must be in"),
    ],
)
@pytest.mark.slow
def test_bad_arguments_are_clear_errors(args, message, tmp_path):
    result = run_train(*args, "--out", str(tmp_path), timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_malformed_data_fails_before_training(tmp_path):
    data = write_aclimdb(tmp_path / "data", splits=("train",))
    result = run_train("--data", data, "--out", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 2 and "test/neg" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "lstm.keras").exists()


@pytest.mark.real_data
@pytest.mark.slow
def test_short_training_on_real_reviews_beats_chance(tmp_path):
    result = run_train(
        "--data", real_archive(), "--out", str(tmp_path), "--limit", "3000", "--epochs", "2",
        "--cells", "gru", "--units", "32", "--no-baseline", "--max-length", "200", "--head", "50",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    accuracy = metrics["models"]["gru"]["test"]["accuracy"]
    assert metrics["data"]["test"] == 3000
    assert accuracy > 0.70, accuracy


def test_train_defaults_are_the_model_defaults():
    """train.py lists its defaults in one readable place; they must not drift
    from ModelConfig's and FitConfig's."""
    import dataclasses
    import importlib.util

    from conftest import ROOT
    from sentiment.model import ModelConfig
    from sentiment.train import FitConfig

    spec = importlib.util.spec_from_file_location("train_script", os.path.join(ROOT, "train.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for config in (ModelConfig, FitConfig):
        for f in dataclasses.fields(config):
            if f.name in script.DEFAULTS and f.name != "adversarial":  # that one is per cell
                assert script.DEFAULTS[f.name] == f.default, f.name


def _tiny_ids_and_labels(vocab):
    import numpy as np
    import tensorflow as tf

    from conftest import TINY_REVIEWS
    from sentiment.model import ModelConfig, build_model, text_to_ids

    model = build_model(
        ModelConfig(units=3, embedding_dim=4, vocab_size=200, token_dropout=0, embedding_dropout=0, head_dropout=0),
        vocab,
    )
    ids = text_to_ids(model)(tf.constant([t for t, _ in TINY_REVIEWS]))
    return model, ids, np.array([y for _, y in TINY_REVIEWS], "float32")


@pytest.mark.slow
def test_adversarial_step_goes_uphill_and_is_undone(tiny_vocab):
    import keras
    import numpy as np

    from sentiment.model import classifier_of
    from sentiment.train import WordAdversarial

    model, ids, labels = _tiny_ids_and_labels(tiny_vocab)
    trainer = WordAdversarial(classifier_of(model), epsilon=0.05)
    trainer.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    logs = trainer.train_on_batch(ids, labels, return_dict=True)
    # The moved word vectors raise the loss (no dropout here, so the two passes
    # differ only by the step), and they are put back afterwards.
    assert logs["adversarial_loss"] > logs["loss"]
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="epsilon"):
        WordAdversarial(classifier_of(model), epsilon=0)


@pytest.mark.slow
def test_fit_with_adversarial_training_and_weight_averaging(tiny_vocab, tmp_path):
    import numpy as np
    import tensorflow as tf

    from sentiment.model import classifier_of
    from sentiment.train import FitConfig, fit

    model, ids, labels = _tiny_ids_and_labels(tiny_vocab)
    ds = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(4)
    result = fit(model, ds, ds, FitConfig(epochs=3, ema=0.9, adversarial=0.05), str(tmp_path), "lstm", resume=False)
    history = result["history"]
    assert len(history["adversarial_loss"]) == 3 and np.all(np.isfinite(history["loss"]))
    assert "val_adversarial_loss" not in history
    # What is kept is the best epoch's averaged weights: its validation accuracy again.
    best = result["best_epoch"] - 1
    classifier = classifier_of(model)
    classifier.compile(loss="binary_crossentropy", metrics=["accuracy"])
    acc = classifier.evaluate(ds, return_dict=True, verbose=0)["accuracy"]
    assert acc == pytest.approx(history["val_accuracy"][best])


@pytest.mark.slow
def test_bad_ema_and_adversarial_flags_are_refused():
    for flags in (["--ema", "1"], ["--ema", "-0.1"], ["--adversarial", "-1"]):
        result = run_train("--limit", "40", *flags)
        assert result.returncode == 2 and flags[0] in result.stderr, result.stderr[-500:]
