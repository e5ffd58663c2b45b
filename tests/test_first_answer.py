"""The app's first answer: each model's verdict from its weights in NumPy, on
the page before TensorFlow is loaded; then Keras's confirms or replaces it.
(The whole page's flows, Keras's confirmation among them: tests/test_app.py.)"""

import ast
import importlib
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, committed

APP = os.path.join(ROOT, "app.py")

# app.py in AppTest, in a fresh Python, with the warm-up (where TensorFlow loads) replaced by a stop: the page
# as it is when it has drawn everything it draws before TensorFlow, and what that imported.
FIRST_PAGE = """
import json, sys
from streamlit.testing.v1 import AppTest
from sentiment.app import launch

def stop(settings):
    raise RuntimeError("the warm-up: TensorFlow would load here")

launch.warm_up = stop
at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
print(json.dumps({
    "loaded": [m for m in ("tensorflow", "keras") if m in sys.modules],
    "metrics": [[m.label, m.value] for m in at.metric],
    "captions": [c.value for c in at.caption],
    "exceptions": [e.message for e in at.exception],
}))
"""


def first_page(models: str) -> dict:
    env = {**os.environ, "SENTIMENT_MODELS": models, "PYTHONPATH": ROOT}
    result = subprocess.run(
        [sys.executable, "-c", FIRST_PAGE, APP], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_page_shows_both_verdicts_before_tensorflow_is_imported():
    committed("lstm.keras")
    page = first_page(os.path.join(ROOT, "saved_models"))
    assert page["loaded"] == []  # neither tensorflow nor keras: not the page, not anything it imported
    assert [label for label, _ in page["metrics"]] == ["LSTM says", "GRU says"]
    assert all(value in ("positive", "negative") for _, value in page["metrics"])
    from sentiment.app.first_answer import PENDING

    assert page["captions"].count(PENDING) == 2  # each says where it comes from, and that Keras is to check it
    assert ["the warm-up: TensorFlow would load here" in e for e in page["exceptions"]] == [True]  # stopped there


@pytest.mark.parametrize(
    "text",
    [
        "A wonderful film, I loved every minute of it.",
        "dull, predictable and far too long. " * 200,  # 1,200 words: cut to the first 200 and the last 600
        "zxqv blorft",  # words out of the vocabulary: read as [UNK]
    ],
)
def test_the_numpy_verdict_is_keras_verdict(committed_model, text):
    from sentiment.analysis.reader import reader_of
    from sentiment.analysis.verdict import numpy_verdict
    from sentiment.numpy_cells import load

    path = committed(f"{committed_model.name.split('_')[0]}.keras")
    keras, numpy = reader_of(committed_model).verdict(text), numpy_verdict(load(path), text)
    assert (numpy.tokens, numpy.total_tokens, numpy.head) == (keras.tokens, keras.total_tokens, keras.head)
    assert numpy.probability == pytest.approx(keras.probability, abs=1e-5)


def test_a_review_without_words_is_the_same_error_both_ways(committed_model):
    from sentiment.analysis.reader import reader_of
    from sentiment.analysis.verdict import NoWordsError, numpy_verdict
    from sentiment.numpy_cells import load

    model = load(committed(f"{committed_model.name.split('_')[0]}.keras"))
    for read in (reader_of(committed_model).verdict, lambda t: numpy_verdict(model, t)):
        with pytest.raises(NoWordsError):
            read("?!?! ... :-)")


def test_what_a_column_shows_once_keras_has_answered():
    from sentiment.analysis.verdict import Verdict
    from sentiment.app.first_answer import CONFIRMED, KERAS_ONLY, settled

    numpy, keras = Verdict(0.91234, 12, 12, 200), Verdict(0.91234 + 3e-6, 12, 12, 200)
    assert settled(numpy, keras) == (numpy, CONFIRMED, False)  # the NumPy number stays: no other number shows
    apart = Verdict(0.6, 12, 12, 200)
    shown, note, warn = settled(numpy, apart)
    assert shown is apart and warn and "Keras's verdict" in note and "0.91234" in note  # replaced, and said so
    assert settled(None, keras) == (keras, KERAS_ONLY, False)  # a model the NumPy cells do not run
    no_words = ValueError("The review has no words the model can read")
    assert settled(no_words, ValueError("the same"))[0].args == ("the same",)
    shown, _, warn = settled(no_words, keras)
    assert shown is keras and warn
    shown, note, warn = settled(numpy, None)  # Keras could not load the model: the page names it above
    assert shown is numpy and warn and "NumPy cells' alone" in note
    assert settled(None, None)[0] is None


def test_the_model_files_come_in_the_networks_order_without_it():
    from sentiment.app.first_answer import CELL_ORDER
    from sentiment.network.cells import CELLS

    assert CELL_ORDER == tuple(CELLS)


def test_the_tabs_titles_are_their_modules():
    with open(APP, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    tabs = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "TABS")
    assert tabs and all(importlib.import_module(f"sentiment.app.{m}").TITLE == title for m, title in tabs.items())


def test_the_header_says_what_the_models_read():
    """IMDB alone: a sentence is not what they read; with SST's phrases and the
    rules, each named; the figures on sentences where the run has them."""
    from sentiment.app.first_answer import trained_on
    from sentiment.evaluation.results import RunMetrics

    with open(committed("metrics.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["options"]["rules"], data["sentences"] = [], None
    imdb = RunMetrics.from_dict(data)
    assert "A sentence you type is not what they were trained on" in trained_on(imdb)
    assert imdb.training_texts() == "IMDB reviews"
    data["options"]["rules"] = ["negation", "contrast"]
    rules = RunMetrics.from_dict(data)
    assert rules.training_texts() == "IMDB reviews + rules (negation, contrast)"
    said = trained_on(rules)
    assert "a sentence beside its negation" in said and '"X, but Y" read as Y' in said
    assert "not what they were trained on" not in said and trained_on(None) == ""
