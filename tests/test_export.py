"""The servable export (python -m sentiment export): a SavedModel that takes raw strings, loaded without our code."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, predict

REVIEWS = [
    "a wonderful film, I loved it",
    "terrible film, awful acting and a boring plot",
    "",
    "dull\x85 predictable<br /><br />but superb music " * 30,
    "Ça m'a plu : 10/10",
]

# Run in a fresh Python from an empty folder, where this project cannot be imported.
LOAD = """
import importlib.util, json, sys
import tensorflow as tf
assert importlib.util.find_spec("sentiment") is None, "the project is importable"
served = tf.saved_model.load(sys.argv[1])
serve = served.signatures["serving_default"]
out = serve(review=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({
    "inputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in serve.structured_input_signature[1].items()},
    "p": out["p_positive"].numpy().tolist(),
    "label": out["label"].numpy().tolist(),
    "ours": sorted(m for m in sys.modules if m.split(".")[0] == "sentiment"),
}))
"""


def _env():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.slow
def test_export_loads_in_a_fresh_process_and_predicts_as_the_keras_model(tiny_run, tmp_path):
    from sentiment.network.model import load_model

    models, _ = tiny_run
    out = tmp_path / "serving" / "sentiment" / "1"  # TensorFlow Serving's <base>/<name>/<version>
    result = subprocess.run(
        [sys.executable, "-m", "sentiment", "export", str(models / "lstm.keras"), str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "serving_default" in result.stdout and "cuda" not in result.stderr.lower()
    assert (out / "saved_model.pb").is_file() and (out / "variables").is_dir()
    assert not [p for p in os.listdir(out.parent) if p.startswith(".tmp-")]
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o777 & ~_umask())  # the usual permissions, not mkdtemp's 0700

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD, str(out), json.dumps(REVIEWS)],
        capture_output=True, text=True, cwd=empty, timeout=300, env=_env(),
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    served = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert served["inputs"] == {"review": ["string", [None]]}
    assert served["ours"] == []  # the SavedModel's graph, not our layers' code
    expected = predict(load_model(models / "lstm.keras"), REVIEWS)
    np.testing.assert_allclose(served["p"], expected, atol=1e-5)
    assert served["label"] == [int(p >= 0.5) for p in expected]


@pytest.mark.slow
def test_export_replaces_an_earlier_export_but_nothing_else(tiny_run, tmp_path):
    from sentiment.cli.export import ExportError, export_model
    from sentiment.network.model import load_model

    models, _ = tiny_run
    model = load_model(models / "gru.keras")
    out = tmp_path / "gru"
    assert export_model(model, out) <= 1e-5
    stamp = os.stat(out / "saved_model.pb").st_mtime_ns
    assert export_model(model, out, check=False) is None  # an earlier export is replaced
    assert os.stat(out / "saved_model.pb").st_mtime_ns != stamp
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an earlier export"):
        export_model(model, other)
    assert os.listdir(other) == ["keep.txt"] and sorted(os.listdir(tmp_path)) == ["gru", "notes"]


def test_export_of_a_missing_model_is_a_clear_error(tmp_path):
    from sentiment.cli.export import main

    assert main([str(tmp_path / "none.keras"), str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
