"""``python -m sentiment evaluate FOLDER --data PATH``: predicts the test set
again with every model in a folder train.py wrote (and refits its baselines
on the same split), and writes what an older train.py did not:
test_predictions.npz, the accuracy by length, the ensembles and the paired
tests (McNemar, bootstrap) in metrics.json and report.md. Every other figure
is kept; a model whose test accuracy differs from the one recorded is an
error, and nothing is rewritten.

With ``--sst FOLDER`` (the Stanford Sentiment Treebank) it adds instead the
SST-2 figures a run without them lacks: every model, baseline (fitted again
on the run's training reviews with the C it chose) and ensemble on the
treebank's whole sentences, and the paired tests there, in metrics.json and
report.md, and sst_test_predictions.npz; the IMDB figures are left as they
are."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

import numpy as np

from sentiment.cli.scoring import refit_baseline_on, score_baseline
from sentiment.data.batches import token_counts
from sentiment.data.sst import load_sst
from sentiment.evaluation.metrics import add_comparisons, classification_metrics
from sentiment.evaluation.predictions import (
    PREDICTIONS,
    SST_PREDICTIONS,
    load_test_predictions,
    predict_texts,
    save_test_predictions,
)
from sentiment.evaluation.results import METRICS, RunMetrics, run_name, write_run_metrics
from sentiment.evaluation.sentences import sentence_results
from sentiment.experiments import suite_results
from sentiment.network.model import load_model
from sentiment.reporting.ablation_section import ablation_section
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
    write_run_metrics(os.path.join(folder, METRICS), metrics)
    write_report(os.path.join(folder, "report.md"), metrics, sections=_measured_sections(folder))
    return (
        f"{folder}: {PREDICTIONS} ({len(test.ids):,} reviews; {', '.join(probs)}), accuracy by length and "
        "paired tests in metrics.json and report.md"
    )


def add_sentences(folder: str, data: str | None, sst_folder: str, command: str = "") -> str:
    """SST-2's figures added to the run in ``folder`` (see the module's
    docstring); ``data``: the reviews the run was trained on, for its
    baselines. Returns a summary of what was written.

    Raises:
        ValueError: no treebank or run there, or baselines that do not give
            their recorded validation accuracy (DataError, MetricsFileError and
            ModelLoadError are ValueErrors too).
    """
    sst = load_sst(sst_folder)  # first: a wrong folder is told before minutes of work
    run = Run(folder).check()
    metrics = run.metrics
    source = run.data_source(data) if metrics.baselines else None  # the baselines' reviews, checked before any work
    parts = {"dev": sst.dev, "test": sst.test}
    probs = {part: {} for part in parts}
    files = {name: result.file for name, result in metrics.models.items()}
    files.update({run_name(c, r.seed): r.file for c, runs in metrics.runs.items() for r in runs if r.seed is not None})
    for name, file in files.items():
        path = os.path.join(folder, file)
        if name in metrics.models or os.path.isfile(path):  # other runs of --seeds: where their model is here
            model = load_model(path)
            for part, split in parts.items():
                probs[part][name] = predict_texts(model, split.texts)
    if metrics.baselines:
        splits = run.splits(source)
        for key, recorded in metrics.baselines.items():
            also = [split.texts for split in parts.values()]
            for part, p in zip(parts, refit_baseline_on(key, recorded, splits.train, splits.val, splits.seed, also)):
                probs[part][key] = p
    weight = float(metrics.options.get("sst_weight", 0.0))
    phrases = metrics.sentences.train_phrases if weight and metrics.sentences else 0
    labels = {part: split.labels for part, split in parts.items()}
    metrics.sentences = sentence_results(metrics, labels, probs, sst.source, weight, phrases, command)
    lengths = np.array([len(t.split()) for t in sst.test.texts])  # words as typed
    save_test_predictions(os.path.join(folder, SST_PREDICTIONS), sst.test.ids, sst.test.labels, lengths, probs["test"])
    write_run_metrics(os.path.join(folder, METRICS), metrics)
    write_report(os.path.join(folder, "report.md"), metrics, sections=_measured_sections(folder))
    figures = ", ".join(f"{name} {100 * s.test.accuracy:.2f}%" for name, s in metrics.sentences.scores.items())
    return f"{folder}: SST-2 test accuracy {figures}; in metrics.json, report.md and {SST_PREDICTIONS}"


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
    p.add_argument(
        "--sst",
        metavar="FOLDER",
        help="the Stanford Sentiment Treebank's folder (train.txt, dev.txt, test.txt): add SST-2's figures "
        "(whole sentences) to the run instead, leaving its IMDB figures as they are",
    )
    args = p.parse_args(argv)
    if args.sst and args.baselines:
        p.error("--baselines re-evaluates IMDB: run it without --sst first, then add SST-2 with --sst")
    try:
        if args.sst:
            given = sys.argv[2:] if argv is None else list(argv)
            command = shlex.join([*(prog or "python -m sentiment evaluate").split(), *given])
            print(add_sentences(args.folder, args.data, args.sst, command))
        else:
            print(reevaluate(args.folder, args.data, tuple(args.baselines)))
    except ValueError as err:  # DataError, MetricsFileError, ModelLoadError and mismatches are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _measured_sections(folder: str) -> list[str]:
    """report.md's sections of what the commands measured on the folder's models afterwards, where they read."""
    return [*_suite_section(folder), *ablation_section(folder)]


def _suite_section(folder: str) -> list[str]:
    """report.md's behavioural-suite section, kept where suite.json was measured on the models here now."""
    try:
        results = suite_results.load_suite(os.path.join(folder, suite_results.RESULTS))
    except suite_results.SuiteFileError:
        return []
    return [] if suite_results.stale_files(results, folder) else suite_markdown(results)
