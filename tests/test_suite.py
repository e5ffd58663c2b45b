"""The behavioural suite (`sentiment.experiments.suite`): the cases it
generates, how it scores a model, its file; and the word alignment of a
review and its edit (`sentiment.analysis.edits`)."""

import json
import shutil

import numpy as np
import pytest

from sentiment.analysis.edits import align, changed, nothing_to_compare
from sentiment.data import lexicon
from sentiment.experiments import suite, suite_results
from sentiment.experiments.suite import Case, build_suite
from sentiment.experiments.suite_results import run_suite
from sentiment.reporting.suite_section import suite_markdown


@pytest.fixture(scope="module")
def cases():
    return build_suite()


# -- the generator ---------------------------------------------------------------------------------------


def test_the_suite_has_every_capability_and_enough_cases(cases):
    assert len(cases) >= 500
    assert {c.capability for c in cases} == set(suite.CAPABILITIES)
    assert all(sum(c.capability == cap for c in cases) >= 100 for cap in suite.CAPABILITIES)
    assert len({(c.text, c.base) for c in cases}) == len(cases)  # no case twice


def test_hand_checked_cases_have_the_right_expectation(cases):
    """Cases read by a person before the models were scored on them."""
    by_text = {(c.base, c.text): c for c in cases}
    expected = {
        ("", "It was never bad."): ("negation", "label", 1),
        ("", "It was never boring."): ("negation", "label", 1),
        ("", "Not the worst movie I have seen."): ("negation", "label", 1),
        ("", "I did not like this movie."): ("negation", "label", 0),
        ("", "This movie is not good at all."): ("negation", "label", 0),
        ("", "I expected the movie to be boring, but it was good."): ("contrast", "label", 1),
        ("The movie was good.", "The movie was very good."): ("intensity", "up", -1),
        ("The movie was bad.", "The movie was very bad."): ("intensity", "down", -1),
        ("The movie was good.", "The movie was somewhat good."): ("intensity", "down", -1),
    }
    found = {key: by_text[key] for key in expected if key in by_text}
    # Templates with at most PER_TEMPLATE fillings are drawn whole: these three always are.
    assert {
        ("", "It was never boring."),
        ("", "Not the worst movie I have seen."),
        ("", "I did not like this movie."),
    } <= set(found)
    assert len(found) >= 5, f"only {sorted(found)} of the hand-checked cases were drawn"
    for key, case in found.items():
        assert (case.capability, case.test, case.label) == expected[key], case


def test_every_label_case_says_what_its_template_says(cases):
    positive, negative = lexicon.halves(lexicon.POSITIVE)[0], lexicon.halves(lexicon.NEGATIVE)[0]
    for c in cases:
        words = set(c.text.lower().rstrip(".").replace(",", "").split())
        if c.template == "not + positive":
            assert c.label == 0 and "not" in words and words & set(positive), c
        if c.template == "not + negative":
            assert c.label == 1 and "not" in words and words & set(negative), c
        if c.template == "bad, but good":  # the part after "but" decides
            assert c.label == 1 and set(c.text.split(" but ")[1].rstrip(".").split()) & set(positive), c


def test_edits_change_what_they_say_and_nothing_else(cases):
    for c in cases:
        if c.template == "a typo":
            a, b = c.base.split(), c.text.split()
            diffs = [(x, y) for x, y in zip(a, b) if x != y]
            assert len(a) == len(b) and len(diffs) == 1 and sorted(diffs[0][0]) == sorted(diffs[0][1]), c
        if c.template == "neutral sentence after":
            assert c.text.startswith(c.base) and c.text[len(c.base) :].strip() in lexicon.NEUTRAL, c
        if c.template == "another actor":
            assert c.text.split(" was ")[1] == c.base.split(" was ")[1] and c.text != c.base, c


def test_no_word_of_the_kept_half_appears_in_the_suite(cases):
    remedy_words = set(lexicon.halves(lexicon.POSITIVE)[1] + lexicon.halves(lexicon.NEGATIVE)[1])
    suite_words = {w.strip(".,;").lower() for c in cases for w in (c.text + " " + c.base).split()}
    assert not remedy_words & suite_words


def test_a_bad_template_is_refused():
    with pytest.raises(ValueError, match="unknown capability"):
        suite.Template("x", "spelling", "label", "It is {pos}.", label=1)
    with pytest.raises(ValueError, match="a label test has a label"):
        suite.Template("x", "negation", "label", "It is {pos}.")


# -- scoring ---------------------------------------------------------------------------------------------


def test_each_kind_of_case_fails_exactly_when_it_should():
    assert Case("negation", "label", "t", "a", label=1).fails(0.49)
    assert not Case("negation", "label", "t", "a", label=1).fails(0.5)
    assert Case("invariance", "same", "t", "b", base="a").fails(0.51, 0.49)
    assert not Case("invariance", "same", "t", "b", base="a").fails(0.9, 0.6)
    up = Case("intensity", "up", "t", "b", base="a")
    assert not up.fails(0.71, 0.8) and up.fails(0.69, 0.8)  # the tolerance is 0.1
    down = Case("intensity", "down", "t", "b", base="a")
    assert not down.fails(0.29, 0.2) and down.fails(0.31, 0.2)
    with pytest.raises(ValueError, match="needs P"):
        up.fails(0.5)


def test_failure_rates_of_a_stand_in_model_with_known_answers():
    cases = [
        Case("negation", "label", "n", "not good", label=0),
        Case("negation", "label", "n", "not bad", label=1),
        Case("contrast", "label", "c", "bad, but good", label=1),
        Case("direction", "up", "d", "fine. great", base="fine"),
        Case("direction", "down", "d", "fine. awful", base="fine"),
    ]
    # A model that reads the last word it knows: right on contrast, wrong on both negations.
    words = {"good": 0.9, "bad": 0.1, "great": 0.95, "awful": 0.05, "fine": 0.6}
    seen = []

    def predict(texts):
        seen.extend(texts)
        return np.array(
            [[words[w] for w in t.replace(",", "").replace(".", "").split() if w in words][-1] for t in texts]
        )

    scores = run_suite(predict, cases)
    assert scores.failed.tolist() == [True, True, False, False, False]
    assert scores.rates(cases) == {
        "negation": {"cases": 2, "failures": 2, "rate": 1.0},
        "contrast": {"cases": 1, "failures": 0, "rate": 0.0},
        "direction": {"cases": 2, "failures": 0, "rate": 0.0},
    }
    assert len(seen) == len(set(seen)) == 6  # "fine", the shared base, read once
    assert np.isnan(scores.p_base[0]) and scores.p_base[3] == pytest.approx(0.6)


def test_a_model_that_gives_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match="wanted one P"):
        run_suite(lambda texts: np.zeros(len(texts) + 1), [Case("negation", "label", "n", "x", label=0)])


def test_results_go_through_their_file_and_say_when_they_are_stale(cases, tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"weights")
    results = suite_results.SuiteResults(cases[:50], meta={"files": {"m.keras": suite_results.file_hash(model)}})
    results.scores["lstm"] = run_suite(lambda t: np.linspace(0, 1, len(t)), results.cases)
    path = tmp_path / suite_results.RESULTS
    path.write_text(json.dumps(results.to_json()))
    again = suite_results.load_suite(path)
    assert again.cases == results.cases
    np.testing.assert_array_equal(again.scores["lstm"].failed, results.scores["lstm"].failed)
    assert suite_results.stale_files(again, tmp_path) == []
    model.write_bytes(b"other weights")
    assert suite_results.stale_files(again, tmp_path) == ["m.keras"]
    lines = "\n".join(suite_markdown(again))
    assert "| LSTM |" in lines and "negation (" in lines


def test_a_missing_or_broken_results_file_says_what_to_do(tmp_path):
    with pytest.raises(suite_results.SuiteFileError, match="python -m sentiment suite"):
        suite_results.load_suite(tmp_path / "suite.json")
    (tmp_path / "suite.json").write_text("{not json")
    with pytest.raises(suite_results.SuiteFileError, match="make it again"):
        suite_results.load_suite(tmp_path / "suite.json")


def test_the_replaced_models_rates_are_kept_without_the_lesson_models(cases, tmp_path):
    for name in ("lstm.keras", "lesson/lstm.keras"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"weights")
    files = {name: suite_results.file_hash(tmp_path / name) for name in ("lstm.keras", "lesson/lstm.keras")}
    results = suite_results.SuiteResults(cases, meta={"files": files, "trained_on": "IMDB reviews"})
    results.scores["lstm"] = run_suite(lambda t: np.full(len(t), 0.9), cases)  # reads everything as positive
    results.scores["lstm (lesson)"] = run_suite(lambda t: np.full(len(t), 0.1), cases)
    assert not suite_results.replaced_models(results, tmp_path)
    (tmp_path / "lesson/lstm.keras").write_bytes(b"retrained lesson")  # not the run's own models
    assert not suite_results.replaced_models(results, tmp_path)
    (tmp_path / "lstm.keras").write_bytes(b"retrained")
    assert suite_results.replaced_models(results, tmp_path)
    previous = suite_results.PreviousRates.of(results)
    assert set(previous.capabilities) == {"lstm"} and set(previous.files) == {"lstm.keras"}
    path = tmp_path / suite_results.PREVIOUS
    path.write_text(json.dumps(previous.to_json()))
    again = suite_results.load_previous(path)
    assert again == previous and again.trained_on == "IMDB reviews"
    negated = suite_results.pooled(again.templates["lstm"], suite.NEGATED_POSITIVES)
    of_them = [c for c in cases if c.template in suite.NEGATED_POSITIVES]
    assert negated["cases"] == len(of_them) > 100 and all(c.label == 0 for c in of_them)
    assert negated["rate"] == 1.0  # every one of them is negative, and P = 0.9 reads them positive
    path.write_text("[]")
    with pytest.raises(suite_results.SuiteFileError, match="restore it from git"):
        suite_results.load_previous(path)


# -- a review and its edit, aligned ----------------------------------------------------------------------


def ops(a: str, b: str) -> list[tuple]:
    ta, tb = a.split(), b.split()
    return [(c.op, None if c.a is None else ta[c.a], None if c.b is None else tb[c.b]) for c in align(ta, tb)]


def test_an_insertion_is_aligned_around_the_inserted_word():
    assert ops("it was bad", "it was not bad") == [
        ("equal", "it", "it"), ("equal", "was", "was"), ("insert", None, "not"), ("equal", "bad", "bad")
    ]  # fmt: skip


def test_a_deletion_and_a_substitution():
    assert ops("it was really very bad", "it was bad") == [
        ("equal", "it", "it"), ("equal", "was", "was"), ("delete", "really", None), ("delete", "very", None),
        ("equal", "bad", "bad"),
    ]  # fmt: skip
    assert ops("great start but a terrible movie", "terrible start but a great movie") == [
        ("replace", "great", "terrible"), ("equal", "start", "start"), ("equal", "but", "but"),
        ("equal", "a", "a"), ("replace", "terrible", "great"), ("equal", "movie", "movie"),
    ]  # fmt: skip


def test_a_longer_replacement_is_paired_then_inserted():
    assert ops("it is good", "it is not at all good") == [
        ("equal", "it", "it"), ("equal", "is", "is"), ("insert", None, "not"), ("insert", None, "at"),
        ("insert", None, "all"), ("equal", "good", "good"),
    ]  # fmt: skip
    got = ops("a fine film", "a truly awful film")
    assert got == [
        ("equal", "a", "a"),
        ("replace", "fine", "truly"),
        ("insert", None, "awful"),
        ("equal", "film", "film"),
    ]
    removed, put_in = changed(align("a fine film".split(), "a truly awful film".split()))
    assert removed == {1} and put_in == {1, 2}


def test_texts_with_nothing_to_compare_get_a_sentence():
    assert "empty" in nothing_to_compare("", "good")
    assert "the review and its edit are empty" in nothing_to_compare(" ", "\n")
    assert "the same" in nothing_to_compare("good", "good")
    assert nothing_to_compare("good", "not good") is None
    assert align([], ["a"]) == [suite_column(None, 0, "insert")]


def suite_column(a, b, op):
    from sentiment.analysis.edits import Column

    return Column(a, b, op)


# -- the command, on the tiny run ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_command_scores_every_model_and_the_baselines(tiny_suite):
    results = suite_results.load_suite(tiny_suite / suite_results.RESULTS)
    assert set(results.scores) == {"lstm", "gru", "elman (lesson)", "lstm (lesson)", "tfidf", "nbsvm"}
    for s in results.scores.values():
        assert s.p.shape == (len(results.cases),) and ((s.p >= 0) & (s.p <= 1)).all()
    assert suite_results.stale_files(results, tiny_suite) == []
    report = (tiny_suite / "report.md").read_text()
    assert "## Behavioural suite: what flips a verdict" in report and "| NBSVM |" in report
    assert report.index("## Behavioural suite") < report.index("## What each modelling choice gave")


@pytest.mark.slow
def test_evaluate_keeps_the_suite_section_while_the_models_are_the_same(tiny_suite, tmp_path):
    from sentiment.cli.evaluate import main as evaluate

    folder = tmp_path / "models"
    shutil.copytree(tiny_suite, folder)
    data = json.loads((folder / "metrics.json").read_text())["options"]["data"]
    assert evaluate([str(folder), "--data", data]) == 0
    assert "## Behavioural suite" in (folder / "report.md").read_text()
    (folder / "gru.keras").write_bytes((folder / "lstm.keras").read_bytes())  # another model under that name
    assert suite_results.stale_files(suite_results.load_suite(folder / suite_results.RESULTS), folder) == ["gru.keras"]


@pytest.mark.slow
def test_the_command_keeps_the_old_rates_when_the_models_were_retrained(tiny_suite, tmp_path):
    from sentiment.cli.suite import main as run_suite_command

    folder = tmp_path / "models"
    shutil.copytree(tiny_suite, folder)
    old = suite_results.load_suite(folder / suite_results.RESULTS)
    assert run_suite_command(["--models", str(folder), "--no-baselines"]) == 0  # the same models: nothing kept
    assert not (folder / suite_results.PREVIOUS).exists()
    (folder / "gru.keras").write_bytes((folder / "lstm.keras").read_bytes())  # "retrained"
    assert run_suite_command(["--models", str(folder), "--no-baselines"]) == 0
    previous = suite_results.load_previous(folder / suite_results.PREVIOUS)
    assert set(previous.capabilities) == {"lstm", "gru"}
    assert previous.capabilities["gru"] == old.scores["gru"].rates(old.cases)
    now = suite_results.load_suite(folder / suite_results.RESULTS)
    np.testing.assert_allclose(now.scores["gru"].p, now.scores["lstm"].p)  # the new suite.json reads the new file
