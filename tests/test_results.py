"""metrics.json's schema: writing, reading, and the errors for old or broken files."""

import json
import os

import pytest

from conftest import committed
from sentiment.evaluation.results import (
    SCHEMA_VERSION,
    BaselineResult,
    ClassificationMetrics,
    Comparison,
    DataSummary,
    MetricsFileError,
    ModelResult,
    RunMetrics,
    load_run_metrics,
    write_run_metrics,
)


def _scores(accuracy=0.9, roc_auc=0.95):
    return ClassificationMetrics(
        accuracy=accuracy, precision=0.89, recall=0.91, f1=0.9, roc_auc=roc_auc, confusion_matrix=[[9, 1], [1, 9]], n=20
    )


def sample_metrics() -> RunMetrics:
    model = ModelResult(
        file="lstm.keras",
        test=_scores(),
        parameters=1234,
        train_seconds=12.3,
        epochs_run=3,
        best_epoch=2,
        best_val_accuracy=0.875,
        train_reviews_per_s=100.5,
        train_tokens_per_s=20000.0,
        test_reviews_per_s=2000.0,
        model_config={"cell": "lstm", "units": 4},
        fit_config={"epochs": 3, "adversarial": 0.1},
        history={"loss": [0.6, 0.4, 0.3], "val_loss": [0.5, 0.45, 0.47], "epoch": [0, 1, 2]},
    )
    return RunMetrics(
        command="python train.py --limit 40",
        finished="2026-11-23 10:00:00",
        machine="x86_64, 2 CPUs, Linux",
        data=DataSummary(source="aclImdb folder x", train=36, val=4, test=20, val_split="grouped by movie", limit=40),
        vocabulary_size=100,
        options={"cells": ["lstm"], "epochs": 3, "adversarial": {"lstm": 0.1}},
        models={"lstm": model, "gru": ModelResult(**{**vars(model), "file": "gru.keras", "test": _scores(0.8, None)})},
        baselines={
            "tfidf": BaselineResult(
                test=_scores(0.85), C=16.0, val_accuracy=0.8, features=400, parameters=401, train_seconds=1.5
            )
        },
        comparisons=[
            Comparison("lstm", "gru", 20, 0.9, 0.8, 0.1, -0.05, 0.25, 3, 1, 0.625),
        ],
    )


def test_round_trip(tmp_path):
    metrics = sample_metrics()
    path = tmp_path / "metrics.json"
    write_run_metrics(path, metrics)
    assert load_run_metrics(path) == metrics
    data = json.loads(path.read_text())
    assert next(iter(data)) == "version" and data["version"] == SCHEMA_VERSION == 5
    assert RunMetrics.from_dict(data) == metrics
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
    # No baselines, runs, comparisons or notes: all optional.
    for key in ("baselines", "runs", "comparisons", "ensembles"):
        data.pop(key)
    data["data"].pop("notes")
    bare = RunMetrics.from_dict(data)
    assert bare.baselines == {} and bare.comparisons == [] and bare.runs_of("lstm") == [metrics.models["lstm"]]


def test_a_version_2_file_is_read_as_the_current_version(tmp_path):
    """The lesson models' metrics.json (and any run before --seeds) keeps working: its baseline becomes tfidf."""
    data = sample_metrics().to_dict()
    data.update(version=2, baseline=data.pop("baselines")["tfidf"])
    for key in ("runs", "comparisons", "ensembles"):
        data.pop(key)
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(data))
    metrics = load_run_metrics(path)
    assert metrics.version == 5 and metrics.baselines == sample_metrics().baselines
    assert metrics.comparisons == []


def test_a_comparison_is_found_in_either_order():
    metrics = sample_metrics()
    assert metrics.comparison("lstm", "gru") == metrics.comparisons[0]
    turned = metrics.comparison("gru", "lstm")
    assert (turned.accuracy_first, turned.difference, turned.ci_low, turned.ci_high) == (0.8, -0.1, -0.25, 0.05)
    assert (turned.only_first, turned.only_second, turned.p_value) == (1, 3, 0.625)
    assert metrics.comparison("lstm", "tfidf") is None


def test_a_version_1_file_says_to_retrain(tmp_path):
    path = tmp_path / "metrics.json"
    old = {"command": "python train.py --data ../shared/data/x.tar.gz", "models": {}, "config": {}}
    path.write_text(json.dumps(old))
    with pytest.raises(MetricsFileError) as err:
        load_run_metrics(path)
    message = str(err.value)
    assert str(path) in message and "older version of train.py (version 1)" in message
    assert "retrain with `python train.py --data ../shared/data/x.tar.gz`" in message


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d["models"]["lstm"].pop("epochs_run"), "models.lstm.epochs_run is missing"),
        (lambda d: d["models"]["lstm"].update(epochs_run=3.0), "models.lstm.epochs_run: expected an integer, got 3.0"),
        (lambda d: d["models"]["gru"]["test"].update(accuracy="high"), "models.gru.test.accuracy: expected a number"),
        (lambda d: d.update(models=[]), "metrics.models: expected an object, got []"),
        (
            lambda d: d["baselines"]["tfidf"].update(test=None),
            "metrics.baselines.tfidf.test: expected an object, got null",
        ),
        (lambda d: d["comparisons"][0].pop("p_value"), "metrics.comparisons[0].p_value is missing"),
        (lambda d: d.update(version=6), "version 6, which this code does not know"),
    ],
)
def test_a_malformed_file_names_what_is_wrong(change, message, tmp_path):
    data = sample_metrics().to_dict()
    change(data)
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(data))
    with pytest.raises(MetricsFileError) as err:
        load_run_metrics(path)
    assert message in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "No "),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not what train.py writes"),
        (b"\xff\xfe", "is not valid JSON"),
    ],
)
def test_missing_or_unreadable_files(content, message, tmp_path):
    path = tmp_path / "metrics.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(MetricsFileError, match=message) as err:
        load_run_metrics(path)
    assert "python train.py" in str(err.value) or "permissions" in str(err.value)


def test_committed_metrics_are_read():
    metrics = load_run_metrics(committed("metrics.json"))
    assert set(metrics.models) == {"lstm", "gru"} and "tfidf" in metrics.baselines
    assert all(isinstance(m.epochs_run, int) for m in metrics.models.values())


def test_comparison_frame_has_whole_epochs():
    from sentiment.app.charts.review import comparison_frame, curves_frame

    frame = comparison_frame(sample_metrics())
    assert list(frame["model"]) == ["LSTM", "GRU", "TF-IDF baseline"]
    assert str(frame["epochs"].dtype) == "Int64"
    assert frame["epochs"].tolist()[:2] == [3, 3] and frame["epochs"].isna().tolist() == [False, False, True]
    assert "3.0" not in frame.to_string()
    curves = curves_frame(sample_metrics())
    assert len(curves) == 2 * 2 * 3  # models x (loss train/validation) x epochs; no accuracy in this history
    assert comparison_frame(RunMetrics(**{**vars(sample_metrics()), "models": {}, "baselines": {}})).empty


def test_report_reads_the_dataclasses():
    from sentiment.reporting.report import report_markdown

    report = report_markdown(sample_metrics())
    assert "| lstm | 90.00% |" in report and "| gru | 80.00% | 90.00% | n/a |" in report
    assert "(C=16)" in report and "- TF-IDF: [[9, 1], [1, 9]]" in report and "adversarial: {'lstm': 0.1}" in report
    assert "- LSTM vs GRU: +10.00 points, 95% CI [-5.00, +25.00], p = 0.62: no significant difference." in report
    assert "Repeated runs" not in report  # one run per cell


def test_a_version_3_file_is_read_without_the_fields_of_dropped_routes(tmp_path):
    """Version 3 recorded language-model pre-training and a distillation
    teacher (routes measured and not adopted): read as the current version, without them."""
    data = sample_metrics().to_dict()
    data["version"] = 3
    data["teacher"] = {"C": 1.0, "accuracy": 0.918, "folds": 5, "seconds": 210.0, "weight": 0.4}
    data["models"]["gru"]["pretraining"] = {"loss": [6.1, 5.4], "val_perplexity": [612.4, 401.6], "seconds": 750.2}
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(data))
    metrics = load_run_metrics(path)
    assert metrics.version == SCHEMA_VERSION == 5 and metrics == sample_metrics()
    assert not hasattr(metrics, "teacher") and not hasattr(metrics.models["gru"], "pretraining")


def test_report_gives_mean_and_std_over_seeds():
    from sentiment.reporting.report import report_markdown

    metrics = sample_metrics()
    first = metrics.models["lstm"]
    second = ModelResult(**{**vars(first), "test": _scores(0.8), "seed": 1338})
    metrics.runs = {"lstm": [ModelResult(**{**vars(first), "seed": 1337}), second]}
    report = report_markdown(metrics)
    # mean 85%, sample std of (0.9, 0.8) = 0.0707
    assert "| lstm | 2 | 85.00 ± 7.07% |" in report
    assert "90.00% (seed 1337), 80.00% (seed 1338)" in report
