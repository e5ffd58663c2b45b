"""``python -m sentiment ablate --data PATH``: switch a gate off. Every
variant of the LSTM and the GRU (docs/cells.md), the full cells, and the full
cells from other starts (the LSTM's forget-gate bias at 0; chrono), trained on

1. the textbook memory task, N = 5 to 400 distractors, 3 seeds, with a
   budget of 3,000 steps that stops a run once it is solved: test accuracy
   and the step each run first kept the bit (95%), beside the Elman RNN, and
   whether the committed experiment's 600 steps decided its result;
2. IMDB in the lesson models' setting (a fixed subset of the training
   reviews, fewer epochs, every arm the same way): test accuracy by review
   length, one seed each and three for an arm within a point of its full
   cell; and the behavioural suite on each model.

Writes <lesson>/ablation.json after every run (stop it at any point and run
the same command again: it goes on where it stopped), the first seed's IMDB
models in <lesson>/ablation/, and the ablation's section of
<lesson>/report.md. Every input is checked before the first run starts.
The grid's options below (or a --config file) change its size.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from sentiment.core.settings import ConfigError, add_options, from_args, parse_with_config
from sentiment.experiments.ablation import Ablation
from sentiment.experiments.ablation_arms import arms_of
from sentiment.experiments.ablation_config import PARTS, AblationConfig
from sentiment.experiments.ablation_imdb import ImdbTrainer, lesson_settings
from sentiment.experiments.ablation_results import (
    AblationResults,
    load_ablation,
    models_folder,
)
from sentiment.reporting.ablation_section import ablation_markdown
from sentiment.reporting.report import write_report
from sentiment.run import Run

# A smoke test of the whole command: minutes, not hours, written beside the real results, never over them.
QUICK = {
    "distances": [2, 8], "seeds": [0], "steps": 50, "variants": ["lstm:no_forget", "gru:mgu"], "starts": ["chrono"],
    "imdb_reviews": 200, "imdb_epochs": 1, "imdb_seeds": 2, "imdb_test_reviews": 400, "save_models": False,
}  # fmt: skip
QUICK_RESULTS = "ablation.quick.json"


def build_parser(prog: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models", help="the main models' folder (default: saved_models)")
    p.add_argument("--lesson", default="", help="the last-state models' folder (default: <models>/lesson)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the lesson models were trained on (IMDB part)")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="the parts to run (default: both)")
    p.add_argument("--out", help="the results file (default: <lesson>/ablation.json; its IMDB models beside it)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a tiny grid, a smoke test of the whole command (default --out: <lesson>/{QUICK_RESULTS})",
    )
    add_options(p, AblationConfig)
    return p


def parse(argv: list[str], prog: str | None) -> tuple[argparse.Namespace, AblationConfig, argparse.ArgumentParser]:
    p = build_parser(prog)
    if "--quick" in argv:
        p.set_defaults(**QUICK)
    args = parse_with_config(p, argv, AblationConfig)
    try:
        config = from_args(AblationConfig, args).validate()
    except ConfigError as err:
        p.error(err.for_option())
    return args, config, p


def existing(out: str, config: AblationConfig, parts: list[str]) -> AblationResults | None:
    """The results already in ``out`` (None: no file yet), or a ValueError where
    they cannot be read or were made under settings that make other runs."""
    if not os.path.exists(out):
        return None
    results = load_ablation(out)
    changed = [f"{part}: {d}" for part in parts for d in results.config.differences(config, part)]
    if changed:
        raise ValueError(
            f"{out} holds runs made under other settings ({'; '.join(changed)}): give the same settings to go on "
            f"with it, or --out ANOTHER.json, or delete {out} to start again."
        )
    return results


def main(argv=None, prog: str | None = None) -> int:
    argv = list(sys.argv[2:] if argv is None else argv)
    args, config, parser = parse(argv, prog)
    try:
        arms = arms_of(config)
    except ValueError as err:
        parser.error(str(err))
    run = Run(args.models, args.lesson)
    out = args.out or (os.path.join(run.lesson_folder, QUICK_RESULTS) if args.quick else run.ablation_path())
    # Everything the runs need, checked before the first starts (the whole grid takes hours): a bad
    # argument writes nothing.
    try:
        results = existing(out, config, args.parts)
        imdb = None
        gated = list(dict.fromkeys(arm.cell for arm in arms if arm.gated))
        if "imdb" in args.parts and gated:
            imdb = imdb_inputs(run, args.data, gated)
    except ValueError as err:  # AblationFileError, MetricsFileError, DataError, a model file that is not there
        print(f"error: {err}", file=sys.stderr)
        return 2
    command = "python -m sentiment ablate " + " ".join(argv)
    if results is None:
        results = AblationResults(config, arms)
    results = dataclasses.replace(results, config=config, arms=_merged(results.arms, arms), command=command.strip())
    ablation = Ablation(results, out, grid=arms)
    if imdb is not None:
        lesson, data, settings = imdb
        models = models_folder(out) if config.save_models else None

        def imdb_runner():
            print("IMDB: reading the lesson run's reviews ...", flush=True)
            vocabulary = lesson.model_paths()[next(iter(settings[0]))]
            return ImdbTrainer(lesson.splits(data), settings, vocabulary, config, models)

        ablation.imdb_runner = imdb_runner
    start = time.perf_counter()
    try:
        results = ablation.run(args.parts)
    except KeyboardInterrupt:
        print(f"\nStopped. The finished runs are in {out}: run the same command again to go on.", file=sys.stderr)
        return 130
    except ValueError as err:  # a model or review file that is there but does not read: the runs so far are kept
        print(f"error: {err} (the finished runs are kept in {out})", file=sys.stderr)
        return 2
    section = ablation_markdown(results)
    if os.path.abspath(out) == os.path.abspath(run.ablation_path()) and run.lesson is not None:
        write_report(os.path.join(run.lesson_folder, "report.md"), run.lesson.metrics, sections=section)
        print(f"Wrote the ablation's section of {os.path.join(run.lesson_folder, 'report.md')}")
    print("\n".join(section).strip())
    print(f"\nWrote {out} ({time.perf_counter() - start:.0f} s this time)")
    return 0


def imdb_inputs(run: Run, data: str | None, cells: list[str]) -> tuple[Run, str | None, tuple[dict, dict]]:
    """The lesson run (checked), where its reviews are, and its models'
    settings for ``cells``: a ValueError saying what is missing and what to do."""
    if run.lesson is None:
        raise ValueError(
            f"No lesson models in {run.lesson_folder} (no metrics.json): pass --lesson FOLDER, train them "
            "(`python train.py --config configs/lesson.toml --data PATH`), or run --parts memory alone."
        )
    lesson = run.lesson.check()
    settings = lesson_settings(lesson.metrics, cells, lesson.folder)
    return lesson, lesson.data_source(data), settings


def _merged(before: list, now: list) -> list:
    """The arms of this command's grid, then those of earlier runs it leaves out (their runs stay in the file)."""
    names = {arm.name for arm in now}
    return [*now, *(arm for arm in before if arm.name not in names)]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
