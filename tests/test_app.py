"""The Streamlit app with `streamlit.testing.v1.AppTest`: main flows and error states."""

import os
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

APP = os.path.join(ROOT, "app.py")


def run_app(folder, monkeypatch) -> AppTest:
    monkeypatch.setenv("SENTIMENT_MODELS", str(folder))
    at = AppTest.from_file(APP, default_timeout=180)
    return at.run()


def charts(at: AppTest) -> list:
    return [e for e in at.get("vega_lite_chart")]


def assert_no_exception(at: AppTest):
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.slow
def test_default_review_shows_every_model_and_its_heatmaps(tiny_run, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    assert_no_exception(at)
    labels = sorted(m.label for m in at.metric)
    assert labels == ["GRU says", "LSTM says"]
    assert all(m.value in ("positive", "negative") for m in at.metric)
    # per model: summary + detail heatmap; comparison tab: confusion matrices + curves
    assert len(charts(at)) >= 2 * 2 + 2
    assert any("shaded" not in md.value and "<span title=" in md.value for md in at.markdown)
    sidebar = " ".join(md.value for md in at.sidebar.markdown)
    assert "LSTM" in sidebar and "% test accuracy" in sidebar


@pytest.mark.parametrize("example", ["Clearly negative", "Mixed", "Negated", "Long"])
@pytest.mark.slow
def test_picking_an_example_fills_the_box_and_predicts(tiny_run, monkeypatch, example):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.selectbox(key="example").select(example).run()
    assert_no_exception(at)
    assert at.text_area(key="review").value.startswith(
        {"Clearly negative": "A complete", "Mixed": "The first", "Negated": "This movie", "Long": "I went"}[example]
    )
    assert len(at.metric) == 2


@pytest.mark.slow
def test_typed_review_and_detail_choices(tiny_run, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.text_area(key="review").input("awful boring film, I hated it").run()
    assert_no_exception(at)
    assert len(at.metric) == 2
    at.selectbox(key="detail_lstm").select("cell").run()
    at.selectbox(key="shade_gru").select("reset").run()
    at.selectbox(key="layer_lstm").select_index(1).run()  # backward direction
    assert_no_exception(at)
    assert any("reset" in md.value for md in at.markdown)


@pytest.mark.slow
def test_empty_input_asks_for_a_review(tiny_run, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.text_area(key="review").input("   ").run()
    assert_no_exception(at)
    assert any("Type a review" in i.value for i in at.info)
    assert not at.metric


@pytest.mark.slow
def test_long_review_says_what_the_model_read(tiny_run, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.text_area(key="review").input("great film " * 700).run()  # 1,400 words
    assert_no_exception(at)
    assert any("the model reads 800" in c.value for c in at.caption)
    assert at.slider  # a window of tokens moves along the review


@pytest.mark.slow
def test_review_without_known_words_is_a_message(tiny_run, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.text_area(key="review").input("?!?! ... :-)").run()
    assert_no_exception(at)
    assert len(at.warning) == 2 and all("no words" in w.value for w in at.warning)


def test_no_models_says_how_to_train(tmp_path, monkeypatch):
    at = run_app(tmp_path / "empty", monkeypatch)
    assert_no_exception(at)
    assert any("python train.py" in w.value for w in at.warning)


@pytest.mark.slow
def test_broken_model_file_is_named_and_others_still_work(tiny_run, tmp_path, monkeypatch):
    out, _ = tiny_run
    folder = tmp_path / "models"
    shutil.copytree(out, folder)
    with open(folder / "gru.keras", "r+b") as f:
        f.truncate(os.path.getsize(folder / "gru.keras") // 3)
    (folder / "metrics.json").write_text("{not json")
    at = run_app(folder, monkeypatch)
    assert_no_exception(at)
    assert any("gru.keras" in e.value for e in at.error)
    assert [m.label for m in at.metric] == ["LSTM says"]
    assert any("metrics.json" in c.value for c in at.sidebar.caption)
