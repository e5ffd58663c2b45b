"""``python -m sentiment suite``: the behavioural suite (`sentiment.experiments.suite`)
for every model of the run in saved_models/, the lesson models beside it,
and the run's baselines, which are fitted again on the run's training reviews
(with the C its validation chose) where the reviews are here (--data).

Writes <models>/suite.json, which the app's "What it gets wrong" tab reads,
and the suite's section of <models>/report.md. Where the run's models were
retrained since the last suite.json, their old rates are kept first in
suite_previous.json, for the tab to show beside the new ones.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

from sentiment.core.files import file_hash, write_json
from sentiment.evaluation.predictions import predict_texts
from sentiment.experiments import suite, suite_results
from sentiment.reporting.report import write_report
from sentiment.reporting.suite_section import suite_markdown
from sentiment.run import Run
from sentiment.training.baselines import refit


def score_models(results: suite_results.SuiteResults, run: Run, base: str, suffix: str = "") -> None:
    """Every model of ``run``, scored into ``results`` (its file's hash kept, relative to ``base``)."""
    for name, model in run.models().items():
        path = run.model_paths()[name]
        results.scores[name + suffix] = suite_results.run_suite(functools.partial(predict_texts, model), results.cases)
        results.meta["files"][os.path.relpath(path, base)] = file_hash(path)


def score_baselines(results: suite_results.SuiteResults, run: Run, data: str | None) -> None:
    """The run's baselines, fitted again on its training reviews, scored into ``results``."""
    splits = run.splits(data)
    for key, baseline in run.metrics.baselines.items():
        fitted = refit(key, splits.train.texts, splits.train.labels, baseline.C, splits.seed)
        results.scores[key] = suite_results.run_suite(functools.partial(_positive, fitted), results.cases)


def keep_previous(run: Run) -> None:
    """Where the run's models were retrained since its suite.json, the old
    models' rates go to suite_previous.json before suite.json is replaced: the
    app shows them beside the new ones (an unreadable old file is left as it is)."""
    try:
        old = run.suite()
    except suite_results.SuiteFileError:
        return
    if suite_results.replaced_models(old, run.folder):
        kept = run.path(suite_results.PREVIOUS)
        write_json(kept, suite_results.PreviousRates.of(old).to_json())
        print(f"The models changed since {run.path(suite_results.RESULTS)} was made: their rates kept in {kept}")


def _positive(fitted, texts: list[str]):
    return fitted.predict_proba(texts)[:, 1]


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models", help="the run's folder (default: saved_models)")
    p.add_argument("--lesson", default="", help="the lesson models' folder (default: <models>/lesson)")
    p.add_argument("--data", help="the aclImdb folder or .tar.gz the run was trained on (for the baselines)")
    p.add_argument(
        "--no-baselines",
        action="store_true",
        help="score the models alone, without the run's baselines (which need its training reviews)",
    )
    args = p.parse_args(argv)
    command = "python -m sentiment suite " + " ".join(argv if argv is not None else sys.argv[2:])
    run = Run(args.models, args.lesson)
    try:  # everything the command needs, before it spends minutes: a bad argument writes nothing
        run.check()
        if run.lesson is not None:
            run.lesson.check()
        baselines = bool(run.metrics.baselines) and not args.no_baselines
        data = run.data_source(args.data) if baselines else None
    except ValueError as err:  # MetricsFileError, DataError, a model file that is not there
        hint = " (or --no-baselines: the models alone)" if "--data" in str(err) else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2
    meta = {"command": command.strip(), "trained_on": run.metrics.training_texts(), "files": {}}
    results = suite_results.SuiteResults(suite.build_suite(), meta=meta)
    seconds = {}
    try:
        start = time.perf_counter()
        score_models(results, run, run.folder)
        if run.lesson is not None:
            score_models(results, run.lesson, run.folder, suite_results.LESSON)
        else:
            print(f"note: no lesson models in {run.lesson_folder}: left out", file=sys.stderr)
        seconds["models"] = time.perf_counter() - start
        if baselines:
            start = time.perf_counter()
            score_baselines(results, run, data)
            seconds["baselines"] = time.perf_counter() - start
    except ValueError as err:  # ModelLoadError, DataError: a file that is there but does not read
        print(f"error: {err}", file=sys.stderr)
        return 2
    results.meta["seconds"] = ", ".join(f"{round(s)} s for the {what}" for what, s in seconds.items())
    out = run.path(suite_results.RESULTS)
    keep_previous(run)
    write_json(out, results.to_json())
    write_report(run.path("report.md"), run.metrics, sections=suite_markdown(results))
    print("\n".join(suite_markdown(results)).strip())
    print(f"\nWrote {out} and the suite's section of {run.path('report.md')}")
    return 0
