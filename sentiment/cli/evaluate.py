"""``python -m sentiment evaluate FOLDER --data PATH``: predicts the test set
again with every model in a folder train.py wrote (and refits its baselines
on the same split), and writes what an older train.py did not:
test_predictions.npz, the accuracy by length, the ensembles and the paired
tests (McNemar, bootstrap) in metrics.json and report.md. Every other figure
is kept; a model whose test accuracy differs from the one recorded is an
error, and nothing is rewritten."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from sentiment.cli.scoring import predict_texts, score_baseline
from sentiment.data.batches import token_counts
from sentiment.evaluation.metrics import add_comparisons, classification_metrics
from sentiment.evaluation.predictions import PREDICTIONS, load_test_predictions, save_test_predictions
from sentiment.evaluation.results import RunMetrics, run_name, write_run_metrics
from sentiment.experiments import suite_results
from sentiment.network.model import load_model
from sentiment.reporting.report import write_report
from sentiment.reporting.suite_section import suite_markdown
from sentiment.run import Run
from sentiment.training.baselines import BASELINES


def reevaluate(folder: str, data: str | None, add_baselines: tuple[str, ...] = ()) -> str:
    """What the module's docstring says, for ``folder``.

    Args:
        folder: what train.py wrote.
        data: the data the models were trained on.
        add_baselines: baselines (``sentiment.training.baselines.BASELINES``)
            to fit where the run has none of that name, e.g. ``("nbsvm",)``.

    Returns:
        A summary of what was written.

    Raises:
        ValueError: unknown baselines, data or models that do not give the
            recorded figures (DataError, MetricsFileError and ModelLoadError
            are ValueErrors too).
    """
    unknown = [b for b in add_baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"no baseline called {', '.join(unknown)}: choose from {', '.join(BASELINES)}")
    run = Run(folder).check()  # a model file gone, a bad --data: said before anything is read or written
    metrics, splits = run.metrics, run.splits(data)
    seed, train, val, test = splits.seed, splits.train, splits.val, splits.test
    probs, lengths = _models_again(folder, metrics, test)
    saved_path = os.path.join(folder, PREDICTIONS)
    saved = load_test_predictions(saved_path)["probs"] if os.path.isfile(saved_path) else {}
    probs.update(_other_runs(folder, metrics, test, saved))
    if metrics.baselines or add_baselines:
        for key in add_baselines:
            if key not in metrics.baselines:
                metrics.baselines[key], probs[key] = score_baseline(key, train, val, test, seed, lengths)
        for key, recorded in metrics.baselines.items():
            if key in probs:
                continue  # fitted just now
            again, probs[key] = score_baseline(key, train, val, test, seed, lengths)
            _same_accuracy(f"{key} baseline", again.test.accuracy, recorded.test.accuracy, "data")
            recorded.test.by_length = again.test.by_length
    add_comparisons(metrics, test.labels, probs, lengths)
    save_test_predictions(saved_path, test.ids, test.labels, lengths, probs)
    write_run_metrics(os.path.join(folder, "metrics.json"), metrics)
    write_report(os.path.join(folder, "report.md"), metrics, sections=_suite_section(folder))
    return (
        f"{folder}: {PREDICTIONS} ({len(test.ids):,} reviews; {', '.join(probs)}), accuracy by length and "
        "paired tests in metrics.json and report.md"
    )


def _models_again(folder: str, metrics: RunMetrics, test) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Each kept model's test P(positive), checked against its recorded accuracy, and the test lengths."""
    probs, lengths = {}, None
    for name, result in metrics.models.items():
        model = load_model(os.path.join(folder, result.file))
        if lengths is None:
            lengths = token_counts(test.texts, model.get_layer("vectorizer"))
        p = probs[name] = predict_texts(model, test.texts)
        again = classification_metrics(test.labels, p, lengths)
        _same_accuracy(name, again.accuracy, result.test.accuracy, "model or data")
        result.test.by_length = again.by_length
    return probs, lengths


def _other_runs(folder: str, metrics: RunMetrics, test, saved: dict) -> dict[str, np.ndarray]:
    """The other runs of --seeds: predicted again where their model is here, else as saved."""
    probs = {}
    for cell, runs in metrics.runs.items():
        for run in runs:
            name, path = run_name(cell, run.seed), os.path.join(folder, run.file)
            if os.path.isfile(path):
                probs[name] = predict_texts(load_model(path), test.texts)
            elif name in saved and len(saved[name]) == len(test.ids):
                probs[name] = saved[name]
    return probs


def _same_accuracy(name: str, now: float, recorded: float, what: str) -> None:
    if abs(now - recorded) > 1e-9:
        raise ValueError(
            f"{name}: test accuracy {now:.5f} now, {recorded:.5f} in metrics.json: not the same {what}; "
            "retrain instead."
        )


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("folder", help="a folder train.py wrote (metrics.json and the .keras files)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the models were trained on")
    p.add_argument(
        "--baselines",
        nargs="+",
        default=[],
        metavar="NAME",
        help="also fit these baselines where the run has none (tfidf, nbsvm), e.g. for a run from before NBSVM",
    )
    args = p.parse_args(argv)
    try:
        print(reevaluate(args.folder, args.data, tuple(args.baselines)))
    except ValueError as err:  # DataError, MetricsFileError, ModelLoadError and mismatches are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _suite_section(folder: str) -> list[str]:
    """report.md's behavioural-suite section, kept where suite.json was measured on the models here now."""
    try:
        results = suite_results.load_suite(os.path.join(folder, suite_results.RESULTS))
    except suite_results.SuiteFileError:
        return []
    return [] if suite_results.stale_files(results, folder) else suite_markdown(results)
