"""train.py end to end on tiny data, its bad-input errors, and a real-data check."""

import json
import os

import pytest

from conftest import ROOT, TINY_SIZE, predict, real_archive, run_train, tiny_ids_and_labels, write_aclimdb
from sentiment.evaluation.results import load_run_metrics


@pytest.mark.slow
def test_limit_run_writes_every_artifact(tiny_run):
    out, result = tiny_run
    for name in (
        "lstm.keras",
        "gru.keras",
        "metrics.json",
        "report.md",
        "curves.png",
        "runs/lstm.csv",
        "runs/gru.best.keras",
    ):
        assert (out / name).is_file(), name
    assert not [p for p in os.listdir(out) if p.startswith(".tmp-")]  # no half-written files
    metrics = load_run_metrics(out / "metrics.json")  # the current schema, or it raises
    assert set(metrics.models) == {"lstm", "gru"}
    for m in metrics.models.values():
        t = m.test
        assert sum(map(sum, t.confusion_matrix)) == t.n == metrics.data.test == 40
        assert m.parameters > 0 and m.train_seconds > 0 and m.train_reviews_per_s > 0
        assert m.epochs_run == 2 and 1 <= m.best_epoch <= 2
    assert set(metrics.baselines) == {"tfidf", "nbsvm"}
    assert all(0 <= b.test.accuracy <= 1 for b in metrics.baselines.values())
    # Paired tests: LSTM vs GRU, each (and their ensemble) against each baseline.
    pairs = [(c.first, c.second) for c in metrics.comparisons]
    assert pairs[0] == ("lstm", "gru") and ("ensemble", "nbsvm") in pairs and len(pairs) == 1 + 3 * 2
    assert metrics.runs == {} and list(metrics.ensembles) == ["ensemble"]
    assert metrics.data.val_split == "grouped by movie"
    assert metrics.vocabulary_size <= 100 and "--limit 40" in metrics.command
    assert metrics.options["adversarial"] == {"lstm": 0.1, "gru": 0.05}  # each cell's own
    assert [m.fit_config["adversarial"] for m in metrics.models.values()] == [0.1, 0.05]
    report = (out / "report.md").read_text()
    assert "lstm" in report and "gru" in report and "TF-IDF" in report
    for noise in ("absl", "cuda", "retracing"):  # TensorFlow's start-up lines and warnings (see --verbose)
        assert noise not in result.stderr.lower(), result.stderr[-2000:]


@pytest.mark.slow
def test_help_is_quiet_and_shows_the_defaults():
    result = run_train("--help", timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]
    assert "--adversarial" in result.stdout and "(default: 3)" in result.stdout


@pytest.mark.slow
def test_saved_models_reload_and_predict(tiny_run):
    from sentiment.analysis.reading import trace
    from sentiment.network.model import load_model

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
    ],
)
@pytest.mark.slow
def test_bad_arguments_are_clear_errors(args, message, tmp_path):
    result = run_train(*args, "--out", str(tmp_path), timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "name,message", [("missing", "no such file"), ("notes.txt", "expected an aclImdb folder or its .tar.gz")]
)
def test_a_wrong_data_path_is_told_before_tensorflow_loads(name, message, tmp_path):
    from conftest import train_py_exit

    (tmp_path / "notes.txt").write_text("not reviews")
    code, tensorflow, stderr = train_py_exit("--data", tmp_path / name, "--epochs", "1", timeout=60)
    assert (code, tensorflow) == (2, False), stderr
    assert message in stderr and "aclImdb_v1" not in stderr


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
        "--data",
        real_archive(),
        "--out",
        str(tmp_path),
        "--limit",
        "3000",
        "--epochs",
        "2",
        "--cells",
        "gru",
        "--units",
        "32",
        "--no-baseline",
        "--max-length",
        "200",
        "--head",
        "50",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    accuracy = metrics["models"]["gru"]["test"]["accuracy"]
    assert metrics["data"]["test"] == 3000
    assert accuracy > 0.70, accuracy


def _help_blocks(parser, monkeypatch) -> dict[str, str]:
    """--help, one whitespace-normalised block per option, by its first name."""
    import re

    monkeypatch.setenv("COLUMNS", "100")
    blocks = {}
    for block in re.split(r"\n(?=  --)", parser.format_help())[1:]:
        block = " ".join(block.split())
        blocks[block.split()[0].rstrip(",")] = block
    return blocks


def test_help_lists_every_setting_with_its_default(monkeypatch):
    """The options are made from the config dataclasses: every flag field is
    one, with its help text and its default, and there is no other but
    --config; the fields set in a config file only are listed after them."""
    import dataclasses

    import sentiment.cli.train as script
    from sentiment.data.tables import TableConfig
    from sentiment.network.cells import CELLS
    from sentiment.network.model import ModelConfig
    from sentiment.training.devices import DeviceConfig
    from sentiment.training.fit import FitConfig

    parser = script.build_parser()
    blocks = _help_blocks(parser, monkeypatch)
    file_only = {line.split()[0]: line for line in parser.epilog.splitlines() if " = ... : " in line}
    names = {"--config"}
    for config in (script.RunConfig, TableConfig, ModelConfig, FitConfig, DeviceConfig):
        for f in dataclasses.fields(config):
            if f.name == "cell":  # given by --cells
                continue
            option = "--" + f.name.replace("_", "-")
            if f.metadata["flag"]:
                names.add(option)
                assert option in blocks, option
                block = blocks[option]
            else:
                assert option not in blocks, option
                block = file_only[f.name]
            assert " ".join(f.metadata["help"].split()) in block, option
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            if f.name == "adversarial":  # per cell
                expected = "each cell's own: " + ", ".join(f"{n} {c.default_adversarial:g}" for n, c in CELLS.items())
            elif default is None:
                expected = f.metadata["default_text"]
            elif isinstance(default, bool):
                expected = "on" if default else "off"
                assert "--no-" + option[2:] in block
            elif isinstance(default, list):
                expected = " ".join(default)
            else:
                expected = str(default)
            assert f"(default: {expected})" in block, (option, block)
    assert set(blocks) == names and len(names) + 1 <= 37  # -h too: the bound on train.py's options (37: --sst)
    assert "(default: each cell's own: lstm 0.1, gru 0.05, elman 0.05, jordan 0.05)" in blocks["--adversarial"]


def test_a_new_cell_needs_no_other_edit_to_be_an_option(monkeypatch):
    from sentiment.network.cells import CELLS, ElmanCell

    class Other(ElmanCell):
        default_adversarial = 0.2

    monkeypatch.setitem(CELLS, "other", Other)
    import sentiment.cli.train as script

    blocks = _help_blocks(script.build_parser(), monkeypatch)
    assert "other" in blocks["--cells"] and "other 0.2" in blocks["--adversarial"]
    args = script.parse_args(["--cells", "other", "lstm"])
    assert [script.fit_config(args, c).adversarial for c in args.cells] == [0.2, 0.1]
    args = script.parse_args(["--cells", "other", "--adversarial", "0"])
    assert script.fit_config(args, "other").adversarial == 0.0


def test_validation_errors_name_the_field():
    from sentiment.core.settings import ConfigError
    from sentiment.network.model import ModelConfig
    from sentiment.training.fit import FitConfig

    with pytest.raises(ConfigError, match="`head` must be in") as err:
        ModelConfig(max_length=10, head=11).validate()
    assert err.value.field == "head" and err.value.for_option() == "--head must be in [0, max_length=10] (got 11)"
    with pytest.raises(ConfigError) as err:
        FitConfig(batch_size=0).validate()
    assert err.value.field == "batch_size" and err.value.for_option().startswith("--batch-size must be at least 1")


@pytest.mark.slow
def test_adversarial_step_goes_uphill_and_is_undone(tiny_vocab):
    import keras
    import numpy as np

    from sentiment.network.model import classifier_of
    from sentiment.training.trainer import WordAdversarial

    model, ids, labels = tiny_ids_and_labels(tiny_vocab)
    trainer = WordAdversarial(classifier_of(model), epsilon=0.05)
    trainer.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    logs = trainer.train_on_batch(ids, labels, return_dict=True)
    # The moved word vectors raise the loss (no dropout here, so the two passes
    # differ only by the step), and they are put back afterwards.
    assert logs["adversarial_loss"] > logs["loss"]
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="`epsilon` must be > 0. Received: epsilon=0"):
        WordAdversarial(classifier_of(model), epsilon=0)


@pytest.mark.slow
def test_fit_with_adversarial_training_keeps_the_best_epoch(tiny_vocab, tmp_path):
    import numpy as np
    import tensorflow as tf

    from sentiment.network.model import classifier_of
    from sentiment.training.fit import FitConfig, fit

    model, ids, labels = tiny_ids_and_labels(tiny_vocab)
    ds = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(4)
    result = fit(model, ds, ds, FitConfig(epochs=3, adversarial=0.05), str(tmp_path), "lstm")
    history = result.history
    assert len(history["adversarial_loss"]) == 3 and np.all(np.isfinite(history["loss"]))
    assert "val_adversarial_loss" not in history
    # What is kept is the best epoch's weights: its validation accuracy again.
    best = result.best_epoch - 1
    classifier = classifier_of(model)
    classifier.compile(loss="binary_crossentropy", metrics=["accuracy"])
    acc = classifier.evaluate(ds, return_dict=True, verbose=0)["accuracy"]
    assert acc == pytest.approx(history["val_accuracy"][best])


def test_bad_settings_are_refused_and_dropped_routes_are_gone(tmp_path, capsys):
    """A value out of range names its flag, or the config file and the
    setting; the routes measured and not adopted (docs/model_choices.md) are
    no options any more."""
    import sentiment.cli.train as script

    (tmp_path / "bad.toml").write_text("head_dropout = 1.5\n")
    (tmp_path / "typo.toml").write_text("units = 'many'\n")
    (tmp_path / "unknown.toml").write_text("distill = 0.4\n")
    (tmp_path / "broken.toml").write_text("units = \n")
    cases = [
        (["--adversarial", "-1"], "--adversarial must be >= 0 (got -1.0)"),
        (["--config", str(tmp_path / "bad.toml")], "head_dropout (set in --config) must be in [0, 1) (got 1.5)"),
        (["--config", str(tmp_path / "typo.toml")], "gives units 'many', but it takes a whole number"),
        (["--config", str(tmp_path / "unknown.toml")], "sets 'distill', which is no setting"),
        (["--config", str(tmp_path / "broken.toml")], "is not TOML"),
        (["--config", str(tmp_path / "missing.toml")], "cannot be read"),
    ]
    cases += [([flag, "1"], "unrecognized arguments") for flag in
              ("--ema", "--distill", "--virtual-adversarial", "--pretrain-epochs", "--adversarial-every")]  # fmt: skip
    for flags, message in cases:
        with pytest.raises(SystemExit) as exit:
            script.parse_args(["--limit", "40", *flags])
        assert exit.value.code == 2 and message in capsys.readouterr().err, flags


def test_a_config_file_sets_any_setting_and_a_flag_wins(tmp_path):
    import sentiment.cli.train as script

    (tmp_path / "run.toml").write_text('cells = ["gru"]\nunits = 8\nhead_dropout = 0.1\nlimit = 100\n')
    args = script.parse_args(["--config", str(tmp_path / "run.toml"), "--units", "16"])
    config = script.model_config(args, "gru")
    assert args.cells == ["gru"] and args.limit == 100 and config.units == 16 and config.head_dropout == 0.1
    lesson = script.parse_args(["--config", os.path.join(ROOT, "configs", "lesson.toml")])
    assert lesson.cells == ["jordan", "lstm", "gru"] and not lesson.bidirectional and lesson.pooling == "last"
    assert [script.fit_config(lesson, c).adversarial for c in lesson.cells] == [0.0, 0.0, 0.0]


def test_predictions_come_back_in_the_callers_order(tiny_vocab):
    import numpy as np

    from conftest import TINY_REVIEWS
    from sentiment.data.batches import token_ids
    from sentiment.evaluation.predictions import predict_token_ids
    from sentiment.network.model import classifier_of, text_to_ids

    model, _, _ = tiny_ids_and_labels(tiny_vocab)
    ids = token_ids([t for t, _ in TINY_REVIEWS], text_to_ids(model))
    ids = ids[::-1] + [np.zeros(0, "int64")]  # lengths out of order, and an empty review
    assert sorted(map(len, ids)) != list(map(len, ids))
    classifier = classifier_of(model)
    probs = predict_token_ids(classifier, ids, batch_size=3)
    one_by_one = [float(classifier(np.asarray(x if len(x) else [0])[None], training=False)[0, 0]) for x in ids]
    np.testing.assert_allclose(probs, one_by_one, atol=1e-5)
    assert predict_token_ids(classifier, []).shape == (0,)


@pytest.mark.parametrize("clipnorm,adversarial", [(1e-6, 0.0), (0.0, 0.0), (1e-6, 0.05)])
@pytest.mark.slow
def test_training_logs_gradient_norms_before_clipping(tiny_vocab, tmp_path, clipnorm, adversarial):
    import numpy as np
    import tensorflow as tf

    from sentiment.training.fit import FitConfig, fit

    model, ids, labels = tiny_ids_and_labels(tiny_vocab)
    ds = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(4)
    cfg = FitConfig(epochs=2, clipnorm=clipnorm, adversarial=adversarial)
    history = fit(model, ds, ds, cfg, str(tmp_path), "lstm").history
    assert len(history["grad_norm_median"]) == 2
    assert np.all(np.asarray(history["grad_norm_median"]) > 0)
    assert np.all(np.asarray(history["grad_norm_median"]) <= np.asarray(history["grad_norm_max"]))
    # Every step's gradient is far above 1e-6: every step clipped; with no limit, none.
    assert history["clipped_share"] == ([1.0, 1.0] if clipnorm else [0.0, 0.0])
    assert "grad_norm" not in history and "val_grad_norm_median" not in history


@pytest.mark.slow
def test_run_saves_test_predictions_and_accuracy_by_length(tiny_run):
    import numpy as np

    from sentiment.evaluation.predictions import PREDICTIONS, load_test_predictions
    from sentiment.evaluation.results import load_run_metrics

    out, _ = tiny_run
    metrics = load_run_metrics(out / "metrics.json")
    saved = load_test_predictions(out / PREDICTIONS)
    assert len(saved["ids"]) == len(set(saved["ids"])) == metrics.data.test
    assert all(i.startswith("test/") for i in saved["ids"])
    assert set(saved["probs"]) == {"lstm", "gru", "tfidf", "nbsvm"}
    for name, result in [*metrics.models.items(), *metrics.baselines.items()]:
        t = result.test
        p = saved["probs"][name]
        # The saved probabilities give the reported accuracy, and the buckets add up.
        assert np.mean((p >= 0.5) == saved["labels"]) == pytest.approx(t.accuracy)
        assert sum(b.n for b in t.by_length) == t.n
        assert [b.label for b in t.by_length] == ["<=100", "101-200", "201-400", "401-800", ">800"]
    assert "Test accuracy by review length" in (out / "report.md").read_text()


@pytest.mark.slow
def test_reevaluate_adds_predictions_and_by_length_to_an_older_run(tiny_run, tmp_path):
    import shutil

    import numpy as np

    from sentiment.cli.evaluate import main
    from sentiment.evaluation.predictions import PREDICTIONS, load_test_predictions
    from sentiment.evaluation.results import load_run_metrics, write_run_metrics

    out, _ = tiny_run
    folder = tmp_path / "older"
    shutil.copytree(out, folder)
    (folder / PREDICTIONS).unlink()
    before = load_run_metrics(out / "metrics.json")
    older = load_run_metrics(folder / "metrics.json")
    for t in [m.test for m in older.models.values()] + [b.test for b in older.baselines.values()]:
        t.by_length = []  # as train.py wrote it before it measured them
    older.comparisons, older.ensembles = [], {}
    del older.baselines["nbsvm"]  # as a run from before NBSVM
    write_run_metrics(folder / "metrics.json", older)
    data = str(out.parent / "data" / "aclImdb")
    assert main([str(folder), "--data", data, "--baselines", "nbsvm"]) == 0
    again = load_run_metrics(folder / "metrics.json")
    again.baselines["nbsvm"].train_seconds = before.baselines["nbsvm"].train_seconds  # fitted again: its own time
    assert again == before  # every figure as train.py wrote it, by length included
    original, redone = load_test_predictions(out / PREDICTIONS), load_test_predictions(folder / PREDICTIONS)
    assert original["ids"] == redone["ids"]
    for name, p in original["probs"].items():
        np.testing.assert_allclose(redone["probs"][name], p, atol=1e-6)
    # A model that does not give the recorded figure is refused, and nothing is rewritten.
    again.models["lstm"].test.accuracy += 0.01
    write_run_metrics(folder / "metrics.json", again)
    written = (folder / "metrics.json").read_text()
    assert main([str(folder), "--data", data]) == 2
    assert (folder / "metrics.json").read_text() == written


@pytest.mark.slow
def test_add_puts_a_model_trained_with_other_options_beside_a_run(tiny_run, tmp_path):
    import shutil

    from sentiment.evaluation.predictions import PREDICTIONS, load_test_predictions
    from sentiment.evaluation.results import load_run_metrics

    out, _ = tiny_run
    folder = tmp_path / "run"
    shutil.copytree(out, folder)
    data = str(out.parent / "data" / "aclImdb")
    common = [
        "--data",
        data,
        "--out",
        str(folder),
        "--limit",
        "40",
        "--epochs",
        "1",
        *TINY_SIZE,
    ]
    result = run_train(*common, "--cells", "elman", "--learning-rate", "0.01", "--no-baseline", "--add")
    assert result.returncode == 0, result.stderr[-3000:]
    before, after = load_run_metrics(out / "metrics.json"), load_run_metrics(folder / "metrics.json")
    assert list(after.models) == ["lstm", "gru", "elman"]
    assert after.models["lstm"] == before.models["lstm"] and after.baselines == before.baselines
    assert after.models["elman"].fit_config["learning_rate"] == 0.01
    assert set(load_test_predictions(folder / PREDICTIONS)["probs"]) == {"lstm", "gru", "elman", "tfidf", "nbsvm"}
    assert "--add" in after.command and "&&" in after.command
    # Another split cannot be added.
    (tmp_path / "split.toml").write_text("val_fraction = 0.3\n")
    result = run_train(*common, "--cells", "elman", "--config", str(tmp_path / "split.toml"), "--no-baseline", "--add")
    assert result.returncode == 2 and "other data or another split" in result.stderr


@pytest.mark.slow
def test_seeds_trains_each_cell_several_times_and_keeps_the_best_on_validation(tmp_path):
    import numpy as np

    from sentiment.evaluation.predictions import PREDICTIONS, load_test_predictions
    from sentiment.evaluation.results import load_run_metrics

    data = write_aclimdb(tmp_path / "data", per_class=30)
    out = tmp_path / "out"
    result = run_train(
        "--data", data, "--out", str(out), "--limit", "40", "--epochs", "1", *TINY_SIZE,
        "--cells", "lstm", "gru", "--seeds", "2", "--no-baseline",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    metrics = load_run_metrics(out / "metrics.json")
    saved = load_test_predictions(out / PREDICTIONS)
    for cell in ("lstm", "gru"):
        runs = metrics.runs[cell]
        assert [r.seed for r in runs] == [1337, 1338]
        assert [r.model_config["seed"] for r in runs] == [r.fit_config["seed"] for r in runs] == [1337, 1338]
        assert all((out / r.file).is_file() for r in runs)  # runs/<cell>-seed<N>.keras
        # The kept model is the first run with the best validation accuracy, whatever its test accuracy.
        best = max(runs, key=lambda r: r.best_val_accuracy)
        kept = metrics.models[cell]
        assert kept.seed == best.seed and kept.file == f"{cell}.keras" and kept.test == best.test
        np.testing.assert_array_equal(saved["probs"][cell], saved["probs"][f"{cell}-seed{best.seed}"])
    # Different seeds, different models.
    assert not np.array_equal(saved["probs"]["lstm-seed1337"], saved["probs"]["lstm-seed1338"])
    assert metrics.ensembles["ensemble_all"].members == [
        "lstm-seed1337", "lstm-seed1338", "gru-seed1337", "gru-seed1338",
    ]  # fmt: skip
    assert [(c.first, c.second) for c in metrics.comparisons] == [("lstm", "gru")]
    report = (out / "report.md").read_text()
    assert "Repeated runs: mean ± standard deviation over seeds" in report and "LSTM vs GRU: " in report
