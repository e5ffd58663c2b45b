"""SST as a second data source: the tree parser, SST-2's rule, detokenisation,
the mixed training batches, SST-2's figures in metrics.json and report.md,
and the runs and re-evaluations that read them."""

import json
import os

import numpy as np
import pytest

from conftest import ROOT, TINY_SIZE, run_train, train_py_exit, write_aclimdb
from sentiment.data.splits import DataError
from sentiment.data.sst import check_sst, detokenize, load_sst, parse_tree, phrases, sentences

SST = os.environ.get("SST_FOLDER", os.path.join(ROOT, "..", "shared", "data", "sst"))

# Small trees in the release's format: every node labelled 0-4.
TRAIN_TREES = [
    "(3 (2 It) (4 (4 (2 's) (4 (3 (2 a) (4 (3 lovely) (2 film))))) (2 .)))",
    "(1 (2 It) (1 (1 (2 does) (1 n't)) (1 (2 work) (2 .))))",
    "(0 (1 (2 Ca) (1 n't)) (0 (2 stand) (0 (2 it) (2 .))))",
    "(4 (3 lovely) (4 (2 -LRB-) (4 (4 superb) (2 -RRB-))))",  # "lovely" again: deduplicated
    "(2 (2 A) (2 (2 film) (2 .)))",  # neutral everywhere: nothing taken
    "(3 (2 8 1\\/2) (3 (3 charms) (2 .)))",  # a leaf holding a token with a space
]
DEV_TREES = ["(4 (4 Superb) (2 .))", "(2 (2 It) (2 is))", "(0 (0 Awful) (2 .))"]
TEST_TREES = ["(3 (3 Good) (2 .))", "(1 (2 Not) (1 (2 good) (2 .)))", "(2 (2 So) (2 so))", "(4 (4 Great) (2 !))"]


def write_sst(folder, train=TRAIN_TREES, dev=DEV_TREES, test=TEST_TREES, repeat=1):
    """train.txt, dev.txt and test.txt of these trees (``repeat`` copies of the
    training trees, each with a word of its own so that their phrases differ)."""
    os.makedirs(folder, exist_ok=True)
    many = [tree.replace("(2 .)", f"(2 word{i})") for i in range(repeat) for tree in train] if repeat > 1 else train
    for name, trees in (("train", many), ("dev", dev), ("test", test)):
        with open(os.path.join(folder, f"{name}.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(trees) + "\n")
    return str(folder)


def test_a_tree_parses_into_labelled_spans():
    tree = parse_tree(TRAIN_TREES[1])
    assert tree.words == ["It", "does", "n't", "work", "."]
    assert tree.root == (1, 0, 5)  # the whole sentence, label 1
    assert (1, 1, 3) in tree.nodes and (2, 0, 1) in tree.nodes  # "does n't" and "It"
    assert len(tree.nodes) == 9  # five words, four phrases above them
    assert parse_tree(TRAIN_TREES[5]).words == ["8", "1\\/2", "charms", "."]


@pytest.mark.parametrize(
    "line,problem",
    [
        ("(3 (2 good)", "left open"),
        ("(3 (2 good)))", "closes no node"),
        ("(7 (2 good))", "label must be 0-4, got '7'"),
        ("(x (2 good))", "label must be 0-4, got 'x'"),
        ("(3 good) (2 bad)", "a second tree"),
        ("good (3 bad)", "outside the tree"),
        ("(3 good (2 bad))", "either words or other nodes"),
        ("", "no tree"),
    ],
)
def test_a_malformed_tree_is_a_clear_error(line, problem):
    with pytest.raises(DataError, match="train.txt:4") as err:
        parse_tree(line, "train.txt:4")
    assert problem in str(err.value) and "PTB brackets" in str(err.value) and repr(line.strip()) in str(err.value)


@pytest.mark.parametrize(
    "tokens,text",
    [
        (["It", "does", "n't", "work", "."], "It doesn't work."),
        (["Ca", "n't", "stand", "it", ",", "wo", "n't", "see", "it"], "Can't stand it, won't see it"),
        (["it", "'s", "a", "-LRB-", "sort", "of", "-RRB-", "film", "..."], "it's a (sort of) film..."),
        (["``", "Conan", "''", "and", "`", "Rocky", "'"], '"Conan" and `Rocky\''),
        (["the", "actors", "'", "work", ";", "50", "%", "of", "$", "5"], "the actors' work; 50% of $5"),
        (["writer\\/director", "'70s", "they", "'re", "--", "we", "'ve"], "writer/director '70s they're -- we've"),
    ],
)
def test_ptb_tokens_become_text_a_person_types(tokens, text):
    assert detokenize(tokens) == text


def test_sst2_phrases_drop_neutral_and_repeats_and_sentences_are_roots():
    train, conflicted = phrases([parse_tree(t) for t in TRAIN_TREES])
    assert conflicted == 0
    got = dict(zip(train.texts, train.labels.tolist()))
    assert got["It's a lovely film."] == 1 and got["It doesn't work."] == 0 and got["doesn't"] == 0
    assert got["Can't stand it."] == 0 and got["Can't"] == 0 and got["lovely (superb)"] == 1 and got["(superb)"] == 1
    assert got["8 1/2 charms."] == 1
    assert train.texts.count("lovely") == 1 and "A film." not in got and "film" not in got  # neutral: dropped
    assert len(train.texts) == len(set(train.texts)) == len(train.ids)
    assert train.ids[0] == "sst/train:1"
    test = sentences([parse_tree(t) for t in TEST_TREES], "test")
    assert test.texts == ["Good.", "Not good.", "Great!"] and test.labels.tolist() == [1, 0, 1]
    assert test.ids == ["sst/test:1", "sst/test:2", "sst/test:4"]  # the file's line of each sentence


def test_a_phrase_whose_nodes_disagree_is_dropped():
    train, conflicted = phrases([parse_tree("(3 (3 fine) (2 .))"), parse_tree("(1 (1 fine) (2 !))")])
    assert conflicted == 1 and "fine" not in train.texts and set(train.texts) == {"fine.", "fine!"}


def test_the_folder_loads_and_a_wrong_one_says_what_to_pass(tmp_path):
    sst = load_sst(write_sst(tmp_path / "sst"))
    assert (len(sst.dev), len(sst.test)) == (2, 3) and sst.dev.texts == ["Superb.", "Awful."]
    assert sst.source == f"SST folder {tmp_path / 'sst'}"
    with pytest.raises(DataError) as err:
        check_sst(tmp_path / "nowhere")
    message = str(err.value)
    assert f"--sst {tmp_path / 'nowhere'}: no such folder" in message and "train.txt" in message
    assert "../shared/data/sst" in message and "leave --sst out" in message
    os.remove(tmp_path / "sst" / "dev.txt")
    with pytest.raises(DataError, match=r"no dev.txt \(looked for .*dev.txt\)"):
        load_sst(tmp_path / "sst")
    (tmp_path / "bad").mkdir()
    write_sst(tmp_path / "bad", dev=["(4 (4 Superb) (2 .)", *DEV_TREES])
    with pytest.raises(DataError, match=r"dev.txt:1: 1 node\(s\) left open"):
        load_sst(tmp_path / "bad")


@pytest.mark.slow
@pytest.mark.real_data
def test_the_real_treebank_gives_sst2s_counts():
    if not os.path.isdir(SST):
        pytest.skip(f"real SST folder not found at {SST}")
    sst = load_sst(SST)
    assert len(sst.dev) == 872 and len(sst.test) == 1821 and sst.notes == []
    assert 76_000 < len(sst.train) < 78_000 and len(set(sst.train.texts)) == len(sst.train)
    assert sst.test.texts[1].startswith("Emerges as something rare, an issue movie that's so honest")
    assert not any(t in text for text in sst.test.texts for t in ("-LRB-", " n't", "``", "\\/"))


def test_mixed_batches_keep_each_source_in_batches_of_its_own():
    from sentiment.data.batches import batches, mixed_batches

    long_ids = [np.full(50 + i % 7, 5) for i in range(96)]  # "reviews", label 1
    short_ids = [np.full(3 + i % 4, 9) for i in range(200)]  # "phrases", label 0
    main = batches(long_ids, np.ones(96, "int32"), 16, shuffle=True, seed=1)
    other = batches(short_ids, np.zeros(200, "int32"), 16, shuffle=True, seed=1)
    mixed = mixed_batches(main, (other, 9), seed=1)  # 6 batches of reviews, 9 of phrases
    assert int(mixed.cardinality()) == 15
    epochs = []
    for _ in range(2):
        sources = []
        for x, y in mixed:
            x, y = x.numpy(), y.numpy()
            assert x.shape[0] == 16 and len(set(y.tolist())) == 1  # one source a batch
            assert x.shape[1] <= (6 if y[0] == 0 else 56)  # padded to its own longest text only
            sources.append(int(y[0]))
        assert sources.count(1) == 6 and sources.count(0) == 9
        epochs.append(sources)
    assert epochs[0] != epochs[1]  # another order each epoch
    with pytest.raises(ValueError, match="one static size; got 16 and 8"):
        mixed_batches(main, (batches(short_ids, np.zeros(200, "int32"), 8, shuffle=True), 3))


def test_sentence_results_round_trip_and_are_reported(tmp_path):
    from sentiment.evaluation.results import SCHEMA_VERSION, load_run_metrics, write_run_metrics
    from sentiment.evaluation.sentences import sentence_results
    from sentiment.reporting.report import report_markdown

    summary = _summary()
    labels = {"dev": np.array([1, 0, 1, 0]), "test": np.array([1, 0, 1, 0, 1, 1])}
    probs = {
        "dev": {"lstm": np.array([0.9, 0.2, 0.4, 0.1]), "gru": np.array([0.8, 0.6, 0.7, 0.3]), "tfidf": np.ones(4)},
        "test": {
            "lstm": np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.4]),
            "gru": np.array([0.6, 0.7, 0.6, 0.3, 0.2, 0.9]),
            "tfidf": np.full(6, 0.6),
        },
    }
    summary.sentences = sentence_results(summary, labels, probs, "SST folder x", measured_by="python train.py")
    s = summary.sentences
    assert set(s.scores) == {"lstm", "gru", "tfidf", "ensemble"} and (s.dev, s.test) == (4, 6)
    assert s.scores["lstm"].test.accuracy == pytest.approx(5 / 6) and s.scores["lstm"].dev.accuracy == 0.75
    assert s.scores["ensemble"].test.accuracy == pytest.approx(5 / 6)  # the mean of the two cells' P
    assert [(c.first, c.second) for c in s.comparisons] == [("lstm", "gru"), ("lstm", "tfidf"), ("gru", "tfidf")] + [
        ("ensemble", "tfidf")
    ]
    write_run_metrics(tmp_path / "metrics.json", summary)
    again = load_run_metrics(tmp_path / "metrics.json")
    assert again.version == SCHEMA_VERSION == 5 and again == summary
    report = report_markdown(again)
    assert "## Sentences people type: SST-2" in report and "every model trained on IMDB alone" in report
    assert "| LSTM | 90.00% | 75.00% | 83.33% |" in report
    assert "| RNTN (Socher et al. 2013), trained on SST: published | | | 85.4% |" in report
    assert "87.5%" in report and "88.1%" in report and "LSTM vs GRU:" in report
    with pytest.raises(ValueError, match="4 dev labels but"):
        sentence_results(summary, labels, {"dev": {"lstm": np.ones(3)}, "test": {}}, "x")


def test_a_version_4_file_is_read_with_no_sentences(tmp_path):
    from sentiment.evaluation.results import load_run_metrics

    data = _summary().to_dict()
    data["version"] = 4
    del data["sentences"]
    (tmp_path / "metrics.json").write_text(json.dumps(data))
    metrics = load_run_metrics(tmp_path / "metrics.json")
    assert metrics.version == 5 and metrics.sentences is None and "SST-2" not in _report(metrics)


def _report(metrics):
    from sentiment.reporting.report import report_markdown

    return report_markdown(metrics)


def _summary():
    from sentiment.evaluation.results import (
        BaselineResult,
        ClassificationMetrics,
        DataSummary,
        EnsembleResult,
        ModelResult,
        RunMetrics,
    )

    def test(accuracy):
        return ClassificationMetrics(accuracy, 0.9, 0.9, 0.9, 0.95, [[1, 0], [0, 1]], 2)

    def model(accuracy):
        return ModelResult("m.keras", test(accuracy), 10, 1.0, 1, 1, 0.9, 1.0, 1.0, 1.0, {}, {}, {}, 1337)

    return RunMetrics(
        command="python train.py",
        finished="2026-01-01 00:00:00",
        machine="x",
        data=DataSummary("imdb", 10, 2, 2, "grouped by movie"),
        vocabulary_size=100,
        options={"seed": 1337},
        models={"lstm": model(0.9), "gru": model(0.89)},
        baselines={"tfidf": BaselineResult(test(0.88), 1.0, 0.87, 5, 6, 0.1)},
        ensembles={"ensemble": EnsembleResult(["lstm", "gru"], test(0.91))},
    )


@pytest.mark.parametrize("where", ["flag", "config"])
def test_a_run_given_no_treebank_stops_before_anything_is_written(where, tmp_path):
    out = tmp_path / "out"
    sst = ["--sst", str(tmp_path / "nowhere")]
    if where == "config":  # not seen before TensorFlow loads: the run itself stops before writing
        (tmp_path / "run.toml").write_text(f"sst = {str(tmp_path / 'nowhere')!r}\nsst_weight = 1.0\n")
        sst = ["--config", str(tmp_path / "run.toml")]
    code, tensorflow, stderr = train_py_exit(*sst, "--out", out, "--epochs", "1")
    assert (code, tensorflow) == (2, where == "config"), stderr
    assert f"--sst {tmp_path / 'nowhere'}: no such folder (looked for {tmp_path / 'nowhere' / 'train.txt'}" in stderr
    assert "Traceback" not in stderr and not out.exists()


@pytest.mark.parametrize(
    "settings,args,message",
    [
        ("sst_weight = 1.0", [], "sst_weight (set in --config) needs sst (--sst: the treebank's folder)"),
        ("sst_weight = -1.0", ["--sst", "x"], "sst_weight (set in --config) must be >= 0 (got -1.0)"),
        ("", ["--sst", "x", "--add"], "--sst cannot be given with --add"),
    ],
)
def test_sst_settings_out_of_range_are_refused(settings, args, message, tmp_path, capsys):
    from sentiment.cli.train import parse_args

    (tmp_path / "run.toml").write_text(settings + "\n")
    with pytest.raises(SystemExit):
        parse_args(["--config", str(tmp_path / "run.toml"), *args])
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_on_imdb_and_sst_phrases_reports_sentences_and_evaluate_adds_them(tmp_path):
    from sentiment.cli.evaluate import main as evaluate
    from sentiment.evaluation.predictions import load_test_predictions
    from sentiment.evaluation.results import load_run_metrics

    data = write_aclimdb(tmp_path / "data", per_class=30)
    sst = write_sst(tmp_path / "sst", repeat=3)
    out = tmp_path / "out"
    common = ["--data", data, "--limit", "40", "--epochs", "1", *TINY_SIZE, "--batch-size", "8", "--cells", "lstm"]
    (tmp_path / "mixed.toml").write_text("sst_weight = 0.5\n")
    result = run_train(*common, "gru", "--sst", sst, "--config", str(tmp_path / "mixed.toml"), "--out", str(out))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    metrics = load_run_metrics(out / "metrics.json")
    s = metrics.sentences
    assert s.weight == 0.5 and s.train_phrases > 30 and (s.dev, s.test) == (2, 3)
    assert set(s.scores) == {"lstm", "gru", "tfidf", "nbsvm", "ensemble"}
    assert ("lstm", "gru") == (s.comparisons[0].first, s.comparisons[0].second)
    assert any("batches of its" in note for note in metrics.data.notes)  # 3 SST batches per epoch, beside 5 of IMDB
    assert "SST-2 dev" in result.stdout and "## Sentences people type: SST-2" in (out / "report.md").read_text()
    saved = load_test_predictions(out / "sst_test_predictions.npz")
    assert saved["ids"] == ["sst/test:1", "sst/test:2", "sst/test:4"] and set(saved["probs"]) == {
        "lstm",
        "gru",
        "tfidf",
        "nbsvm",
    }

    # A run without SST gets it afterwards; nothing else in metrics.json changes.
    plain = tmp_path / "plain"
    assert run_train(*common, "--out", str(plain)).returncode == 0
    before = json.loads((plain / "metrics.json").read_text())
    npz = (plain / "test_predictions.npz").read_bytes()
    assert evaluate([str(plain), "--data", data, "--sst", str(tmp_path / "nowhere")]) == 2
    assert evaluate([str(plain), "--data", data, "--sst", sst]) == 0
    after = json.loads((plain / "metrics.json").read_text())
    assert after.pop("sentences")["scores"].keys() == {"lstm", "tfidf", "nbsvm"}
    assert before.pop("sentences") is None and after == before and (plain / "test_predictions.npz").read_bytes() == npz
    assert "python -m sentiment evaluate" in load_run_metrics(plain / "metrics.json").sentences.measured_by
