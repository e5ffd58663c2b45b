"""``python -m sentiment suite``: the behavioural suite (`sentiment.experiments.suite`)
for every model of the run in saved_models/, the lesson models beside it,
and the run's baselines, which are fitted again on the run's training reviews
(with the C its validation chose) where the reviews are here (--data).

Writes <models>/suite.json, which the app's "What it gets wrong" tab reads,
and the suite's section of <models>/report.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

from sentiment.cli.scoring import predict_texts
from sentiment.core.files import file_hash, write_json
from sentiment.data.splits import DataError
from sentiment.evaluation.results import RunMetrics, load_run_metrics
from sentiment.evaluation.run_data import run_data
from sentiment.experiments import suite
from sentiment.network.model import load_model
from sentiment.reporting.report import write_report
from sentiment.training.baselines import refit


def score_models(results: suite.SuiteResults, folder: str, base: str, suffix: str = "") -> None:
    """Every model of the run in ``folder``, scored into ``results`` (its file's hash kept, relative to ``base``)."""
    metrics = load_run_metrics(os.path.join(folder, "metrics.json"))
    for name, result in metrics.models.items():
        path = os.path.join(folder, result.file)
        model = load_model(path)
        results.scores[name + suffix] = suite.run_suite(functools.partial(predict_texts, model), results.cases)
        results.meta["files"][os.path.relpath(path, base)] = file_hash(path)


def score_baselines(results: suite.SuiteResults, metrics: RunMetrics, data: str | None) -> None:
    """The run's baselines, fitted again on its training reviews, scored into ``results``."""
    splits = run_data(metrics, data)
    for key, baseline in metrics.baselines.items():
        fitted = refit(key, splits.train.texts, splits.train.labels, baseline.C, splits.seed)
        results.scores[key] = suite.run_suite(functools.partial(_positive, fitted), results.cases)


def _positive(fitted, texts: list[str]):
    return fitted.predict_proba(texts)[:, 1]


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models", help="the run's folder (default: saved_models)")
    p.add_argument("--lesson", default=os.path.join("saved_models", "lesson"), help="the lesson models' folder")
    p.add_argument("--data", help="the aclImdb folder or .tar.gz the run was trained on (for the baselines)")
    args = p.parse_args(argv)
    command = "python -m sentiment suite " + " ".join(argv if argv is not None else sys.argv[2:])
    results = suite.SuiteResults(suite.build_suite(), meta={"command": command.strip(), "files": {}})
    seconds = {}
    try:
        metrics = load_run_metrics(os.path.join(args.models, "metrics.json"))
        start = time.perf_counter()
        score_models(results, args.models, args.models)
        if os.path.isfile(os.path.join(args.lesson, "metrics.json")):
            score_models(results, args.lesson, args.models, suite.LESSON)
        else:
            print(f"note: no lesson models in {args.lesson}: left out", file=sys.stderr)
        seconds["models"] = time.perf_counter() - start
        if metrics.baselines:
            start = time.perf_counter()
            try:
                score_baselines(results, metrics, args.data)
                seconds["baselines"] = time.perf_counter() - start
            except DataError as err:
                results.meta["baselines_left_out"] = str(err)
                print(
                    f"note: the baselines are left out (they are fitted on the training reviews): {err}",
                    file=sys.stderr,
                )
    except ValueError as err:  # MetricsFileError, ModelLoadError
        print(f"error: {err}", file=sys.stderr)
        return 2
    results.meta["seconds"] = ", ".join(f"{round(s)} s for the {what}" for what, s in seconds.items())
    out = os.path.join(args.models, suite.RESULTS)
    write_json(out, results.to_json())
    write_report(os.path.join(args.models, "report.md"), metrics, sections=suite.suite_markdown(results))
    print("\n".join(suite.suite_markdown(results)).strip())
    print(f"\nWrote {out} and the suite's section of {os.path.join(args.models, 'report.md')}")
    return 0
