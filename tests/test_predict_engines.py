"""python -m sentiment predict in NumPy (the default) and in Keras: the same output, and which engine runs what."""

import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, committed, run_predict
from sentiment.cli import predict

TEXTS = [
    "a wonderful film, loved it",
    "awful, boring; the worst plot",
    "great acting<br />great story",
    "Not bad at all. Café, naïve… 10/10",
    "",
    "dull and slow, " * 30 + "but a great ending",
]


class Fake:
    """Stands in for a model Keras loads: P(positive) = 0.25 for every text."""

    def predict_on_batch(self, texts):
        return np.full((len(texts.numpy()), 1), 0.25, "float32")


@pytest.fixture
def keras_loads(monkeypatch):
    """predict's Keras loader replaced by one that records what it loads."""
    loaded = []

    def load(path):
        loaded.append(os.path.basename(path))
        return Fake()

    monkeypatch.setattr(predict, "load_model", load)
    return loaded


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_texts(path):
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return path


def test_numpy_engine_writes_the_committed_models_keras_predictions(committed_model, tmp_path, keras_loads):
    import tensorflow as tf

    name = committed_model.name.split("_")[0]
    out = tmp_path / "p.csv"
    args = [write_texts(tmp_path / "in.txt"), "--out", out, "--model", committed(f"{name}.keras"), "--engine", "numpy"]
    code, err = run_predict(args)
    assert code == 0, err
    assert keras_loads == [] and "in NumPy" in err
    rows = read_csv(out)
    assert list(rows[0]) == ["line", f"p_{name}", f"label_{name}", "error"]
    good = [t for t in TEXTS if t]
    expected = committed_model(tf.constant(good), training=False).numpy()[:, 0]
    got = np.array([float(r[f"p_{name}"]) for r in rows if not r["error"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [r[f"label_{name}"] for r in rows if not r["error"]] == ["pos" if p >= 0.5 else "neg" for p in expected]
    assert rows[4]["error"] == "empty text" and rows[4][f"p_{name}"] == ""


def test_auto_runs_a_model_numpy_cannot_read_in_keras_and_says_so(tmp_path, keras_loads):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(committed("lesson/elman.keras"), folder / "elman.keras")
    (folder / "odd.keras").write_bytes(b"a model of another kind")
    out = tmp_path / "p.csv"
    code, err = run_predict([write_texts(tmp_path / "in.txt"), "--out", out, "--models", folder])
    assert code == 0, err
    assert keras_loads == ["odd.keras"]
    assert f"{folder / 'odd.keras'} is not a .keras file" in err and "Running it in Keras (TensorFlow) instead" in err
    assert "in NumPy (elman), Keras (odd)" in err
    rows = read_csv(out)
    assert list(rows[0]) == ["line", "p_elman", "label_elman", "p_odd", "label_odd", "error"]
    assert {r["p_odd"] for r in rows if not r["error"]} == {"0.25"}


def test_engine_numpy_refuses_what_it_cannot_read_and_engine_keras_uses_keras(tmp_path, keras_loads):
    (tmp_path / "odd.keras").write_bytes(b"a model of another kind")
    texts = write_texts(tmp_path / "in.txt")
    code, err = run_predict(
        [texts, "--out", tmp_path / "p.csv", "--model", tmp_path / "odd.keras", "--engine", "numpy"]
    )
    assert code == 2 and "odd.keras is not a .keras file" in err and "--engine keras" in err
    assert not (tmp_path / "p.csv").exists() and keras_loads == []
    elman = committed("lesson/elman.keras")
    code, err = run_predict([texts, "--out", tmp_path / "p.csv", "--model", elman, "--engine", "keras"])
    assert code == 0 and keras_loads == ["elman.keras"] and "in Keras" in err


@pytest.mark.slow
def test_predict_starts_without_tensorflow_and_writes_what_keras_writes(tmp_path):
    """As a user runs it, in fresh processes: the default (NumPy) against --engine keras."""
    texts = write_texts(tmp_path / "in.txt")
    # sentiment.cli.main as `python -m sentiment` runs it, then: was TensorFlow imported?
    code = (
        "import sys\nfrom sentiment.cli import main\n"
        f"status = main(['predict', {str(texts)!r}, '--out', {str(tmp_path / 'numpy.csv')!r}])\n"
        "print(status, sorted({'tensorflow', 'keras'} & set(sys.modules)))\n"
    )
    fast = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert fast.stdout.split() == ["0", "[]"], fast.stderr[-3000:]
    slow = subprocess.run(
        [sys.executable, "-m", "sentiment", "predict", texts, "--out", tmp_path / "keras.csv", "--engine", "keras"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert slow.returncode == 0, slow.stderr[-3000:]
    assert "in NumPy" in fast.stderr and "in Keras" in slow.stderr
    assert "cuda" not in slow.stderr.lower() and "absl" not in slow.stderr.lower()
    ours, theirs = read_csv(tmp_path / "numpy.csv"), read_csv(tmp_path / "keras.csv")
    assert list(ours[0]) == list(theirs[0]) == ["line", "p_gru", "label_gru", "p_lstm", "label_lstm", "error"]
    assert len(ours) == len(theirs) == len(TEXTS)
    for a, b in zip(ours, theirs):
        assert (a["line"], a["error"], a["label_gru"], a["label_lstm"]) == (
            b["line"],
            b["error"],
            b["label_gru"],
            b["label_lstm"],
        )
        for column in ("p_gru", "p_lstm"):
            if b[column]:
                assert abs(float(a[column]) - float(b[column])) <= 1e-5
