"""Batch prediction (python -m sentiment predict): inputs, bad rows, outputs; a fake model in the quick tests."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, run_predict
from sentiment.cli import predict


class LengthModel:
    """Stands in for a saved model: P(positive) grows with the text's length; counts its batches."""

    def __init__(self):
        self.batches = []

    def predict_on_batch(self, texts):
        texts = [t.decode("utf-8") for t in texts.numpy()]
        self.batches.append(texts)
        return np.array([[min(len(t) / 100, 1.0)] for t in texts], "float32")


@pytest.fixture
def fake_models(monkeypatch, tmp_path):
    """Two model files in a folder, loaded as LengthModels; a table's label names beside them."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("gru", "lstm"):
        (folder / f"{name}.keras").write_bytes(b"not read")
    (folder / "metrics.json").write_text(json.dumps({"data": {"label_map": {"bad": 0, "good": 1}}}))
    loaded = {}

    def load(path):
        loaded[os.path.basename(path)] = model = LengthModel()
        return model

    monkeypatch.setattr(predict, "load_model", load)
    return folder, loaded


def test_every_row_comes_back_in_order_bad_ones_with_their_error(tmp_path, fake_models):
    folder, loaded = fake_models
    text = tmp_path / "reviews.txt"
    lines = [b"x" * (n % 37 + 1) for n in range(600)]  # lengths out of order: windows are sorted inside
    lines[3], lines[10], lines[599] = b"", b"  \t", b"caf\xe9 au lait"  # empty, blank, Latin-1
    text.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "p.csv"
    code, err = run_predict([text, "--out", out, "--models", folder, "--batch-size", "16"])
    assert code == 0, err
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["line", "p_gru", "label_gru", "p_lstm", "label_lstm", "error"]
    assert [int(r["line"]) for r in rows] == list(range(1, 601))  # none dropped, none moved
    for r, line in zip(rows, lines):
        if r["line"] in ("4", "11", "600"):
            assert r["p_gru"] == r["label_gru"] == "" and r["error"]
        else:
            assert float(r["p_gru"]) == pytest.approx(min(len(line) / 100, 1.0))
            assert r["label_gru"] == ("good" if len(line) >= 50 else "bad") and r["error"] == ""
    assert rows[3]["error"] == "empty text" and "not UTF-8" in rows[599]["error"]
    assert "597 reviews" in err and "reviews/s" in err
    assert "3 of 600 rows could not be predicted" in err and "line 4: empty text; line 11: empty text; line 600" in err
    batches = loaded["gru.keras"].batches
    assert max(map(len, batches)) == 16 and sum(map(len, batches)) == 597
    assert all([len(t) for t in b] == sorted(len(t) for t in b) for b in batches)  # by length: little padding


def test_csv_and_jsonl_inputs_and_a_jsonl_output(tmp_path, fake_models):
    folder, _ = fake_models
    table = tmp_path / "in.csv"
    table.write_text('id,review\n1,"a fine, long\nreview"\n2,\n3\n', encoding="utf-8")
    out = tmp_path / "p.jsonl"
    code, err = run_predict([table, "--text-column", "review", "--out", out, "--models", folder, "--with-text"])
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in records] == [2, 4, 5]  # the line a record starts on
    assert records[0]["text"] == "a fine, long\nreview" and records[0]["p_lstm"] == pytest.approx(0.19)
    assert records[1]["error"] == "empty text" and records[1]["p_lstm"] is None
    assert "no value for 'review'" in records[2]["error"]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_bytes(b'{"review": "good"}\n{"text": "x"}\n[1]\n{"review": 7}\n{"review": "b\xffd"}\n')
    code, err = run_predict([jsonl, "--text-column", "review", "--out", out, "--models", folder])
    errors = [json.loads(line)["error"] for line in out.read_text().splitlines()]
    assert errors[0] is None and errors[1] == "no 'review' field" and "not a JSON object" in errors[2]
    assert "not a string" in errors[3] and "column 'review': not UTF-8" in errors[4]


def test_stdin_to_stdout_and_one_chosen_model(tmp_path, fake_models, monkeypatch, capsys):
    folder, loaded = fake_models
    code, err = run_predict(
        ["-", "--out", "-", "--model", folder / "lstm.keras"],
        stdin=b"short\na longer review\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0, err
    assert capsys.readouterr().out.splitlines() == ["line,p_lstm,label_lstm,error", "1,0.05,bad,", "2,0.15,bad,"]
    assert list(loaded) == ["lstm.keras"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["missing.txt", "--out", "p.csv"], "missing.txt: no such file"),
        (["in.csv", "--out", "p.csv"], "no column 'text'"),
        (["in.txt", "--out", "p.parquet"], "write to a .csv or .jsonl file"),
        (["in.txt", "--out", "p.csv", "--models", "nowhere"], "No folder nowhere"),
        (["in.txt", "--out", "p.csv", "--models", "empty"], "No .keras models in empty/"),
    ],
)
def test_what_stops_a_run_is_a_clear_error_and_no_output(tmp_path, fake_models, monkeypatch, args, message):
    folder, _ = fake_models
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text("review\ngood\n")
    (tmp_path / "in.txt").write_text("good\n")
    (tmp_path / "empty").mkdir()
    models = [] if "--models" in args else ["--models", str(folder)]
    code, err = run_predict([*args, *models])
    assert code == 2 and message in err
    assert not (tmp_path / "p.csv").exists() and not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


@pytest.mark.slow
def test_predict_command_on_trained_models_matches_them(tiny_run, tmp_path):
    """As a user runs it: a fresh process, the tiny trained models, CSV in, CSV out."""
    from conftest import predict as model_predict
    from sentiment.network.model import load_model

    models, _ = tiny_run
    texts = ["a wonderful film, loved it", "awful, boring; the worst plot", "great acting<br />great story"] * 3
    with open(tmp_path / "in.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([[t] for t in texts] + [[""]])
    result = subprocess.run(
        [sys.executable, "-m", "sentiment", "predict", tmp_path / "in.csv", "--out", tmp_path / "p.csv",
         "--models", models, "--batch-size", "4"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cuda" not in result.stderr.lower() and "absl" not in result.stderr.lower()
    assert "Predicted 9 reviews with 2 model(s) (gru, lstm)" in result.stderr and "1 of 10 rows" in result.stderr
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[-1]["error"] == "empty text" and rows[-1]["line"] == "11"
    for name in ("gru", "lstm"):
        expected = model_predict(load_model(models / f"{name}.keras"), texts)
        got = np.array([float(r[f"p_{name}"]) for r in rows[:-1]])
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert [r[f"label_{name}"] for r in rows[:-1]] == ["pos" if p >= 0.5 else "neg" for p in expected]
