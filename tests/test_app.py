"""The Streamlit app with `streamlit.testing.v1.AppTest`: main flows and error states."""

import json
import os
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, assert_charts_are_vega_lite

APP = os.path.join(ROOT, "app.py")


def run_app(folder, monkeypatch) -> AppTest:
    monkeypatch.setenv("SENTIMENT_MODELS", str(folder))
    at = AppTest.from_file(APP, default_timeout=180)
    return at.run()


def charts(at: AppTest) -> list:
    return [e for e in at.get("vega_lite_chart")]


def assert_no_exception(at: AppTest):
    """No exception on the page, and every chart on it valid Vega-Lite."""
    assert not at.exception, [e.value for e in at.exception]
    assert_charts_are_vega_lite(at)


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


@pytest.mark.slow
def test_keras_confirms_each_first_verdict(tiny_run, monkeypatch):
    from sentiment.app.first_answer import CONFIRMED, PENDING

    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    assert_no_exception(at)
    captions = [c.value for c in at.caption]
    assert captions.count(CONFIRMED) == 2 and PENDING not in captions  # the NumPy verdicts, each confirmed
    assert not at.warning


@pytest.mark.slow
def test_a_model_the_numpy_cells_do_not_run_waits_for_keras(tiny_run, tmp_path, monkeypatch):
    from sentiment import numpy_cells
    from sentiment.app.first_answer import CONFIRMED, KERAS_ONLY

    out, _ = tiny_run
    folder = tmp_path / "models"  # files of their own: nothing of them cached yet
    shutil.copytree(out, folder)
    real = numpy_cells.load

    def load(path):
        if os.path.basename(path) == "gru.keras":
            raise numpy_cells.KerasFileError(f"{path}: a cell variant; the NumPy path cannot run this model.")
        return real(path)

    monkeypatch.setattr(numpy_cells, "load", load)
    at = run_app(folder, monkeypatch)
    assert_no_exception(at)
    assert [m.label for m in at.metric] == ["LSTM says", "GRU says"]
    captions = [c.value for c in at.caption]
    assert captions.count(CONFIRMED) == 1 and captions.count(KERAS_ONLY) == 1


@pytest.mark.slow
def test_a_first_verdict_keras_disagrees_with_is_replaced_and_said(tiny_run, tmp_path, monkeypatch):
    import dataclasses

    from sentiment.app import first_answer

    out, _ = tiny_run
    folder = tmp_path / "models"
    shutil.copytree(out, folder)
    real = first_answer.numpy_verdict

    def off(model, text):  # a NumPy path gone wrong: 0.3 away from Keras's
        v = real(model, text)
        return dataclasses.replace(v, probability=v.probability + (0.3 if v.probability < 0.5 else -0.3))

    monkeypatch.setattr(first_answer, "numpy_verdict", off)
    at = run_app(folder, monkeypatch)
    assert_no_exception(at)
    assert len(at.metric) == 2
    assert len(at.warning) == 2 and all("Keras's verdict" in w.value for w in at.warning)
    assert first_answer.CONFIRMED not in [c.value for c in at.caption]


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


@pytest.mark.slow
def test_view_options_recompute_nothing(tiny_run, monkeypatch):
    from sentiment.analysis import reading

    out, _ = tiny_run
    calls = []
    real = reading.trace_and_explain  # the explore tab's traces and explanations, one call per model

    def counting(model, text):
        calls.append(text)
        return real(model, text)

    monkeypatch.setattr(reading, "trace_and_explain", counting)
    at = run_app(out, monkeypatch)
    review = "a film I will not forget, one of a kind"
    at.text_area(key="review").input(review).run()
    first = len(calls)
    assert calls.count(review) == 2  # once per model
    at.selectbox(key="detail_lstm").select("cell").run()
    at.selectbox(key="shade_gru").select("reset").run()
    at.selectbox(key="layer_lstm").select_index(1).run()
    assert_no_exception(at)
    assert len(calls) == first


@pytest.mark.slow
def test_a_retrained_model_is_picked_up_without_a_restart(tiny_run, tmp_path, monkeypatch):
    out, _ = tiny_run
    folder = tmp_path / "models"
    shutil.copytree(out, folder)
    at = run_app(folder, monkeypatch)
    assert any(e.label.startswith("LSTM (LSTM cells)") for e in at.expander)
    # "Retrain" lstm.keras: here, another model written over it.
    shutil.copyfile(folder / "gru.keras", folder / "lstm.keras")
    os.utime(folder / "lstm.keras", (os.path.getmtime(folder / "gru.keras") + 10,) * 2)
    at.run()
    assert_no_exception(at)
    assert any(e.label.startswith("LSTM (GRU cells)") for e in at.expander)


@pytest.mark.slow
def test_sidebar_explains_each_gate_from_the_cells(tiny_run, monkeypatch):
    from sentiment.network.cells import GRUCell, LSTMCell

    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    sidebar = " ".join(md.value for md in at.sidebar.markdown)
    for q in (*LSTMCell.gates, *LSTMCell.states, *GRUCell.gates):
        assert q.meaning in sidebar
    assert "*cell* (unbounded)" in sidebar and "*forget* (0 to 1)" in sidebar


@pytest.mark.slow
def test_metrics_from_an_older_train_py_say_so(tiny_run, tmp_path, monkeypatch):
    import json

    out, _ = tiny_run
    folder = tmp_path / "models"
    shutil.copytree(out, folder)
    old = json.loads((folder / "metrics.json").read_text())
    del old["version"]  # as version 1 wrote it
    (folder / "metrics.json").write_text(json.dumps(old))
    at = run_app(folder, monkeypatch)
    assert_no_exception(at)
    assert [m.label for m in at.metric] == ["LSTM says", "GRU says"]  # the models still work
    at.session_state["tab"] = "Compare LSTM vs GRU"
    at.run()
    for shown in (at.sidebar.caption, at.info):  # the sidebar, and the comparison tab
        assert any("older version of train.py (version 1): retrain with `python train.py" in e.value for e in shown)


@pytest.mark.slow
def test_compare_tab_lists_disagreements_and_opens_one_in_explore(tiny_run, monkeypatch):
    from sentiment.data.imdb import load_reviews
    from sentiment.evaluation.results import load_run_metrics

    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.session_state["tab"] = "Compare LSTM vs GRU"
    at.run()
    assert_no_exception(at)
    assert any("disagree" in md.value for md in at.markdown)
    assert len(at.dataframe) >= 4  # the comparison, the ensemble and the two lists
    table = at.dataframe[0].value
    baselines = table[table["model"].str.endswith("baseline")]
    assert len(baselines) == 2 and (baselines["epochs"] == "").all() and (baselines["± std"] == "").all()
    models = table[~table["model"].str.endswith("baseline")]
    assert models["epochs"].str.fullmatch(r"\d+").all()  # whole epochs, not 3.000000
    # The paired tests, in sentences, from metrics.json.
    metrics = load_run_metrics(out / "metrics.json")
    assert "Is the difference real?" in [h.value for h in at.subheader]
    verdicts = "\n".join(md.value for md in at.markdown)
    for c in metrics.comparisons:
        assert f"points, 95% CI [{100 * c.ci_low:+.2f}, {100 * c.ci_high:+.2f}]" in verdicts
    assert "LSTM vs GRU: " in verdicts and "GRU vs NBSVM: " in verdicts
    pick = at.selectbox(key="pick_0") if "pick_0" in [s.key for s in at.selectbox] else at.selectbox(key="pick_1")
    review_id = pick.value
    at.button(key=pick.key.replace("pick", "load")).click().run()
    assert_no_exception(at)
    test = load_reviews(load_run_metrics(out / "metrics.json").options["data"]).test
    texts = dict(zip(test.ids, test.texts))
    assert at.session_state["tab"] == "Explore a review"
    assert at.text_area(key="review").value == texts[review_id]
    assert len(at.metric) == 2  # both models read it


@pytest.mark.slow
def test_compare_tab_without_predictions_says_how_to_make_them(tiny_run, tmp_path, monkeypatch):
    out, _ = tiny_run
    folder = tmp_path / "models"
    shutil.copytree(out, folder)
    (folder / "test_predictions.npz").unlink()
    at = run_app(folder, monkeypatch)
    at.session_state["tab"] = "Compare LSTM vs GRU"
    at.run()
    assert_no_exception(at)
    assert any("python -m sentiment evaluate" in i.value for i in at.info)


@pytest.mark.slow
def test_why_gates_tab_shows_every_view(tiny_run, tiny_lesson, monkeypatch):
    out, _ = tiny_run
    monkeypatch.setenv("SENTIMENT_LESSON", str(tiny_lesson))
    at = run_app(out, monkeypatch)
    at.session_state["tab"] = "Why gates?"
    at.run()
    assert_no_exception(at)
    headers = [h.value for h in at.subheader]
    for title in (
        "Accuracy by review length",
        "How far back the gradient reaches: this review",
        "How far back the gradient reaches: 25 test reviews",
        "What the gates keep",
        "Exploding gradients and clipping, in training",
        "Gate saturation",
    ):
        assert title in headers, headers
    assert len(charts(at)) >= 6
    assert any("32 tokens back" in c.value for c in at.caption)
    at.radio(key="reach_kind").set_value("through everything (word vectors)").run()
    assert_no_exception(at)


@pytest.mark.slow
def test_why_gates_tab_without_lesson_models_says_how_to_train_them(tiny_run, tmp_path, monkeypatch):
    out, _ = tiny_run
    monkeypatch.setenv("SENTIMENT_LESSON", str(tmp_path / "none"))
    at = run_app(out, monkeypatch)
    at.session_state["tab"] = "Why gates?"
    at.run()
    assert_no_exception(at)
    assert any("--pooling last --no-bidirectional" in i.value for i in at.info)


@pytest.mark.slow
def test_a_typed_review_survives_a_visit_to_another_tab(tiny_run, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.text_area(key="review").input("a dull film with one great scene").run()
    at.session_state["tab"] = "Compare LSTM vs GRU"
    at.run()
    at.session_state["tab"] = "Explore a review"
    at.run()
    assert_no_exception(at)
    assert at.text_area(key="review").value == "a dull film with one great scene"


def texts_of(folder) -> dict[str, str]:
    from sentiment.data.imdb import load_reviews
    from sentiment.evaluation.results import load_run_metrics

    test = load_reviews(load_run_metrics(folder / "metrics.json").options["data"]).test
    return dict(zip(test.ids, test.texts))


@pytest.mark.slow
def test_the_unit_atlas_views(tiny_atlas, monkeypatch):
    """A unit's page, the factors and the hypothesis search in the explore
    tab; the sentiment-neuron probe in the compare tab."""
    at = run_app(tiny_atlas, monkeypatch)
    assert_no_exception(at)
    text = " ".join(md.value for md in at.markdown)
    assert "across 20 test reviews" in text and "factors of the hidden state" in text
    headers = [h.value for h in at.subheader]
    assert "The review by factor" in headers and "Find units by hypothesis" in headers
    at.selectbox(key="atlas_q_lstm").select("cell").run()
    assert_no_exception(at)
    at.slider(key="hyp_threshold").set_value(0.1).run()
    assert_no_exception(at)
    at.session_state["tab"] = "Compare LSTM vs GRU"
    at.run()
    assert_no_exception(at)
    assert "Does one unit carry the verdict?" in [h.value for h in at.subheader]
    assert any("Best single unit" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_missing_or_stale_atlas_says_which_command_rebuilds_it(tiny_run, tiny_atlas, tmp_path, monkeypatch):
    out, _ = tiny_run
    at = run_app(out, monkeypatch)  # no atlas: the live views, and a note
    assert_no_exception(at)
    assert any("No unit atlas for lstm.keras yet: `python -m sentiment units" in c.value for c in at.caption)
    assert len(at.metric) == 2
    folder = tmp_path / "models"
    shutil.copytree(tiny_atlas, folder)
    shutil.copyfile(folder / "gru.keras", folder / "lstm.keras")  # lstm.keras retrained, its atlas not
    at = run_app(folder, monkeypatch)
    assert_no_exception(at)
    assert any("made from another version of lstm.keras" in c.value for c in at.caption)
    assert len(at.metric) == 2


@pytest.mark.slow
def test_a_matching_passage_is_one_click_from_the_explore_tab(tiny_atlas, monkeypatch):
    """The hypothesis search's "Explain" puts the passage's review into the box
    (the tiny models' units are too weak to match anything: a match is made here)."""
    from sentiment.analysis.atlas_file import load_atlas
    from sentiment.analysis.hypotheses import Match, UnitHit
    from sentiment.app import units

    monkeypatch.setattr(units, "select_units", lambda *args: [UnitHit(0, 0.9, 0.1)])
    monkeypatch.setattr(units, "find_matches", lambda *args: [Match(2, 0, 1, 0.9)])
    at = run_app(tiny_atlas, monkeypatch)
    assert_no_exception(at)
    (button,) = [b for b in at.button if b.key == "hyp_open_0"]
    button.click().run()
    assert_no_exception(at)
    review_id = load_atlas(tiny_atlas / "lstm.keras").review_ids[2]
    assert at.text_area(key="review").value == texts_of(tiny_atlas)[review_id]
    assert len(at.metric) == 2  # both models read it


WRONG = "What it gets wrong"


@pytest.mark.slow
def test_what_it_gets_wrong_shows_the_suite_and_opens_a_failing_case(tiny_suite, monkeypatch):
    """The failure rates chart, a model's failing cases, and each case one click
    from the explore tab (and an edit case from the side-by-side view)."""
    from sentiment.experiments.suite_results import load_suite

    results = load_suite(tiny_suite / "suite.json")
    at = run_app(tiny_suite, monkeypatch)
    at.session_state["tab"] = WRONG
    at.run()
    assert_no_exception(at)
    assert len(charts(at)) >= 1  # the failure rates
    assert "The behavioural suite" in [h.value for h in at.subheader]
    at.selectbox(key="suite_model").select("lstm").run()
    scores = results.scores["lstm"]
    for capability in results.capabilities():
        at.selectbox(key="suite_capability").select(capability).run()
        assert_no_exception(at)
        chosen = [i for i, c in enumerate(results.cases) if c.capability == capability]
        failing = int(scores.failed[chosen].sum())
        assert any(f"LSTM fails {failing} of these {len(chosen)} cases" in c.value for c in at.caption)
    # A failing edit (a case with a base) opens in the side-by-side view, any failing case in the explore tab:
    # narrowed to its model, capability and template, so that it is among those listed.
    failing = [(name, i) for name, s in results.scores.items() for i in np.flatnonzero(s.failed)]
    edits = [(name, i) for name, i in failing if results.cases[i].base]
    assert failing and edits, "the tiny models fail plain cases and edits of the suite"
    for name, i in (edits[0], failing[0]):
        case = results.cases[i]
        at.session_state["tab"] = WRONG
        at.run()
        at.selectbox(key="suite_model").select(name).run()
        at.selectbox(key="suite_capability").select(case.capability).run()
        at.selectbox(key=f"suite_template_{case.capability}").select(case.template).run()
        if case.base:
            at.button(key=f"side_case_{i}").click().run()
            assert at.text_area(key="edit_a").value == case.base and at.text_area(key="edit_b").value == case.text
        at.button(key=f"explain_case_{i}").click().run()
        assert_no_exception(at)
        assert at.session_state["tab"] == "Explore a review"
        assert at.text_area(key="review").value == case.text
        assert len(at.metric) == 2  # both models read it


@pytest.mark.slow
def test_the_replaced_models_rates_stand_beside_the_new_ones(tiny_suite, tmp_path, monkeypatch):
    """suite_previous.json (what a retrain replaced) as a table: each capability
    and the negated positives, before and now, from the files alone."""
    from sentiment.experiments import suite_results

    folder = tmp_path / "models"
    shutil.copytree(tiny_suite, folder)
    results = suite_results.load_suite(folder / suite_results.RESULTS)
    previous = suite_results.PreviousRates.of(results)
    previous.capabilities["lstm"]["negation"]["rate"] = 0.875  # a figure the tiny models do not have
    (folder / suite_results.PREVIOUS).write_text(json.dumps(previous.to_json()))
    at = run_app(folder, monkeypatch)
    at.session_state["tab"] = WRONG
    at.run()
    assert_no_exception(at)
    (table,) = [d.value for d in at.dataframe]
    assert list(table.columns) == ["LSTM before", "LSTM now", "GRU before", "GRU now"]
    assert list(table.index) == [*results.capabilities(), "negated positives"]
    assert table.loc["negation", "LSTM before"] == "87.5%"
    now = results.scores["gru"].rates(results.cases)["contrast"]["rate"]
    assert table.loc["contrast", "GRU now"] == f"{100 * now:.1f}%"


@pytest.mark.slow
def test_a_review_and_its_edit_side_by_side(tiny_run, monkeypatch):
    """The delta per model, the aligned words, both attributions and the gates'
    difference; and every pair with nothing to compare says so."""
    out, _ = tiny_run
    at = run_app(out, monkeypatch)
    at.session_state["tab"] = WRONG
    at.run()
    assert_no_exception(at)
    assert any("python -m sentiment suite" in i.value for i in at.info)  # no suite.json here: says what makes it
    at.selectbox(key="edit_pair").select("but: which half decides").run()
    assert_no_exception(at)
    assert at.text_area(key="edit_b").value == "Terrible start, but a great movie."
    deltas = [m for m in at.metric if "P(positive) of the edit" in m.label]
    assert len(deltas) == 2 and all(m.delta.startswith(("+", "-")) for m in deltas)
    html = " ".join(md.value for md in at.markdown)
    assert 'title="removed">great</span>' in html and 'title="put in">terrible</span>' in html
    assert len(charts(at)) >= 2  # a difference heatmap per model
    at.selectbox(key="edit_q_lstm").select("forget").run()
    assert_no_exception(at)
    for a, b, says in [
        ("", "good", "is empty"),
        ("good", "good", "the same"),
        ("It was good.", "IT WAS GOOD!", "same words"),
        ("good", "これは映画です", None),
        ("x" * 1_100_000, "good", "the first 100,000 are used"),
    ]:
        at.text_area(key="edit_a").input(a)
        at.text_area(key="edit_b").input(b).run()
        assert_no_exception(at)
        shown = " ".join(e.value for e in [*at.info, *at.warning])
        if says:
            assert says in shown, (a[:20], b, shown)


def test_the_heatmaps_open_on_the_layer_the_classifier_reads():
    """In a stacked model only the last layer's units are ranked and in the
    atlas: the layer choice starts there (and at the one layer otherwise)."""
    from sentiment.analysis.traces import LayerTrace, Trace
    from sentiment.app.explore import read_by_the_head

    def trace(*layers):
        return Trace(["a"], 0.5, [LayerTrace(n, d, ()) for n, d in layers], total_tokens=1, max_length=800, head=200)

    both = ("forward", "backward")
    stacked = trace(*[(n, d) for n in ("bi_lstm_0", "bi_lstm_1") for d in both])
    assert stacked.layers[read_by_the_head(stacked)].label == "bi_lstm_1 (forward)"
    assert read_by_the_head(trace(*[("bi_gru_0", d) for d in both])) == 0
    assert read_by_the_head(trace(("lstm_0", "forward"), ("lstm_1", "forward"))) == 1
