"""Train the sentiment models on IMDB, evaluate them on the test set, save them.

    python train.py --data ../shared/data/aclImdb_v1_labeled.tar.gz   # LSTM and GRU
    python train.py                               # the same, IMDB from tensorflow-datasets
    python train.py --data PATH --limit 2000 --epochs 1 --out /tmp/quick   # a quick run
    python train.py --data reviews.csv --text-column review --label-column sentiment   # your own reviews

Writes to --out (default saved_models/, replacing the models and figures
committed there): one <cell>.keras per model (raw text in, P(positive) out),
metrics.json, report.md, curves.png, and under runs/ the best checkpoints,
CSV and TensorBoard logs. TensorFlow's start-up log lines and retracing
warnings are hidden; --verbose shows them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass

from sentiment.config import ConfigError, add_options, from_args, option
from sentiment.startup import load_tensorflow


@dataclass
class RunConfig:
    """What to train on, which models, where to write them."""

    data: str | None = option(
        None,
        "an aclImdb folder or its .tar.gz, or a CSV, JSON Lines or Parquet file of your own reviews",
        default_text="tensorflow-datasets imdb_reviews",
    )
    out: str = option("saved_models", "output folder (the files named above in it are replaced)")
    cells: list[str] = option(default_factory=lambda: ["lstm", "gru"], help="models to train, one per cell")
    val_fraction: float = option(0.1, "share of the training reviews held out for validation")
    limit: int | None = option(None, "use only N training and N test reviews (quick runs)", default_text="all")
    seeds: int = option(
        1,
        "train each cell this many times, with seeds --seed, --seed+1, ... (weights, dropout, batch order; the "
        "split stays --seed's); the run with the best validation accuracy is kept as <cell>.keras, the others "
        "go to runs/, and the report gives mean ± std and paired tests",
    )
    baseline: bool = option(True, "also fit the bag-of-n-grams baselines (TF-IDF and NBSVM)")
    resume: bool = option(False, "continue an interrupted run from its last finished epoch")
    add: bool = option(
        False,
        "add these models to the run already in --out (same data and split; its other models and baseline "
        "are kept), e.g. a cell trained with its own learning rate",
    )
    verbose: bool = option(False, "show TensorFlow's log lines and warnings")

    def validate(self) -> "RunConfig":
        if not 0 < self.val_fraction < 1:
            raise ConfigError("val_fraction", "must be in (0, 1)", self.val_fraction)
        if self.limit is not None and self.limit < 20:
            raise ConfigError("limit", "must be at least 20 reviews", self.limit)
        if self.seeds < 1:
            raise ConfigError("seeds", "must be at least 1", self.seeds)
        return self


def build_parser() -> argparse.ArgumentParser:
    """Every field of RunConfig, ModelConfig and FitConfig as an option."""
    from sentiment.cells import CELLS
    from sentiment.devices import DISTRIBUTE, DeviceConfig
    from sentiment.fitting import FitConfig
    from sentiment.model import ModelConfig
    from sentiment.tables import TableConfig

    own = ", ".join(f"{name} {cell.default_adversarial:g}" for name, cell in CELLS.items())
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(
        p,
        RunConfig,
        TableConfig,
        ModelConfig,
        FitConfig,
        DeviceConfig,
        skip=("cell",),  # --cells
        overrides={
            "cells": {"choices": list(CELLS)},
            "distribute": {"choices": list(DISTRIBUTE)},
            "adversarial": {"default": None, "default_text": f"each cell's own: {own}"},
        },
    )
    return p


def parse_args(argv=None) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    from sentiment.devices import DeviceConfig

    try:
        from_args(RunConfig, args).validate()
        table_config(args).validate()
        from_args(DeviceConfig, args).validate()
        for cell in args.cells:
            model_config(args, cell).validate()
            fit_config(args, cell).validate()
    except ConfigError as err:
        p.error(err.for_option())
    return args


def model_config(args: argparse.Namespace, cell: str, seed: int | None = None):
    """The ModelConfig that the command-line options describe, for ``cell`` (and a run's ``seed``)."""
    from sentiment.model import ModelConfig

    return from_args(ModelConfig, args, cell=cell, seed=args.seed if seed is None else seed)


def table_config(args: argparse.Namespace):
    """The TableConfig of the options: how to read a table --data."""
    from sentiment.tables import TableConfig

    return from_args(TableConfig, args)


def fit_config(args: argparse.Namespace, cell: str, seed: int | None = None):
    """The FitConfig of the options for ``cell``: --adversarial, or the cell's own step."""
    from sentiment.cells import CELLS
    from sentiment.fitting import FitConfig

    step = CELLS[cell].default_adversarial if args.adversarial is None else args.adversarial
    return from_args(FitConfig, args, adversarial=step, seed=args.seed if seed is None else seed)


class _Lenient(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def early_options(argv: list[str]) -> argparse.Namespace:
    """--data, --verbose and --help, read before TensorFlow loads. Lenient:
    what it cannot read, the full parser (which needs TensorFlow) reports."""
    p = _Lenient(add_help=False, allow_abbrev=False)
    p.add_argument("--data")
    p.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("-h", "--help", action="store_true")
    try:
        return p.parse_known_args(argv)[0]
    except ValueError:
        return argparse.Namespace(data=None, verbose=False, help=False)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    early = early_options(argv)
    if early.data and not early.help:  # a wrong path is told at once, not after TensorFlow loaded
        from sentiment.data import DataError, check_source

        try:
            check_source(early.data)
        except DataError as err:
            print(f"{os.path.basename(sys.argv[0])}: error: {err}", file=sys.stderr)
            return 2
    load_tensorflow(verbose=early.verbose)
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    from sentiment import data as imdb
    from sentiment import devices
    from sentiment.baselines import BASELINES
    from sentiment.evaluate import (
        PREDICTIONS,
        add_comparisons,
        classification_metrics,
        display_name,
        plot_curves,
        predict_token_ids,
        run_name,
        save_test_predictions,
        write_report,
    )
    from sentiment.files import save_model
    from sentiment.fitting import TrainingError, fit
    from sentiment.model import build_model, classifier_of, make_vectorizer, text_to_ids
    from sentiment.results import DataSummary, ModelResult, RunMetrics, write_run_metrics

    # Devices first: TensorFlow must not have run an op yet. The strategy is the
    # default from here on: models and optimizers are made under it.
    strategy = devices.start(from_args(devices.DeviceConfig, args))
    tf.distribute.experimental_set_strategy(strategy)
    print(f"Training on {devices.describe(strategy)}", flush=True)
    chief, args.out = devices.is_chief(strategy), devices.output_folder(args.out, strategy)
    keras.utils.set_random_seed(args.seed)
    # Same seed and data, same metrics on the same machine. (Not with --jit:
    # Keras does not compile with XLA under op determinism.)
    if not args.jit:
        tf.config.experimental.enable_op_determinism()
    command = "python " + " ".join(shlex.quote(x) for x in [os.path.basename(sys.argv[0]), *argv])
    workdir = os.path.join(args.out, "runs")
    os.makedirs(workdir, exist_ok=True)

    print(f"Loading reviews from {args.data or 'tensorflow-datasets'} ...", flush=True)
    try:
        dataset = imdb.load_imdb(args.data, table_config(args), args.seed)
    except imdb.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    train_all = imdb.limit(dataset.train, args.limit, args.seed)
    test = imdb.limit(dataset.test, args.limit, args.seed)
    train, val = imdb.train_val_split(train_all, args.val_fraction, args.seed)
    val_split = f"grouped by {dataset.group_name}" if train_all.groups is not None else "stratified"
    print(f"{len(train):,} training, {len(val):,} validation ({val_split}), {len(test):,} test reviews")
    print("".join(f"  {note}\n" for note in dataset.notes), end="")

    vectorizer = make_vectorizer(args.vocab_size)
    vectorizer.adapt(imdb.adaptable(train.texts), batch_size=1024)
    vocabulary = [str(t) for t in vectorizer.get_vocabulary()]
    print(f"Vocabulary: {len(vocabulary):,} words")

    summary = RunMetrics(
        command=command,
        finished="",  # set when done
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        data=DataSummary(
            source=dataset.source,
            train=len(train),
            val=len(val),
            test=len(test),
            val_split=val_split,
            limit=args.limit,
            notes=dataset.notes,
            label_map=dataset.label_map,
        ),
        vocabulary_size=len(vocabulary),
        options={**vars(args), "adversarial": {cell: fit_config(args, cell).adversarial for cell in args.cells}},
        models={},
    )

    train_targets = train.labels
    if args.distill:  # one teacher for every cell and seed: it reads only the training reviews
        from sentiment.distill import out_of_fold_nbsvm, soft_targets

        print("\n== NBSVM teacher: out-of-fold P(positive) of each training review", flush=True)
        teacher = out_of_fold_nbsvm(train.texts, train.labels, seed=args.seed)
        train_targets = soft_targets(train.labels, teacher.probs, args.distill)
        summary.teacher = {**teacher.figures(), "weight": args.distill}
        print(
            f"Teacher: {teacher.folds} folds, C = {teacher.C}, out-of-fold accuracy {teacher.accuracy:.4f} "
            f"({teacher.seconds:.0f} s); targets {1 - args.distill:.2f} label + {args.distill:.2f} teacher"
        )

    histories, ids, test_probs = {}, None, {}
    test_lengths = imdb.token_counts(test.texts, vectorizer)  # before the model's length limit
    for cell in args.cells:
        kept = None  # (validation accuracy, model, result) of the cell's best run so far
        for seed in range(args.seed, args.seed + args.seeds):
            name = cell if args.seeds == 1 else run_name(cell, seed)
            keras.utils.set_random_seed(seed)
            fit_cfg = fit_config(args, cell, seed)
            config = model_config(args, cell, seed)
            model = build_model(config, vocabulary)
            if ids is None:  # every model shares the vocabulary and the length limit
                to_ids = text_to_ids(model)
                ids = {
                    part: imdb.token_ids(s.texts, to_ids)
                    for part, s in (("train", train), ("val", val), ("test", test))
                }
            train_ds = imdb.batches(ids["train"], train_targets, args.batch_size, shuffle=True, seed=seed)
            val_ds = imdb.batches(ids["val"], val.labels, 256, shuffle=False)
            print(f"\n== {name.upper()}: {model.count_params():,} parameters")
            try:
                result = fit(model, train_ds, val_ds, fit_cfg, workdir, name, resume=args.resume, jit=args.jit)
            except TrainingError as err:
                print(f"error: {err}", file=sys.stderr)
                return 3
            except KeyboardInterrupt:
                return 130  # fit() said where the best checkpoint is

            t0 = time.perf_counter()
            probs = test_probs[name] = predict_token_ids(classifier_of(model), ids["test"])
            eval_seconds = time.perf_counter() - t0
            test_metrics = classification_metrics(test.labels, probs, test_lengths)
            tokens = int(sum(len(x) for x in ids["train"]))
            epochs_run = result["epochs_run"]
            history = result["history"]
            best = result["best_epoch"] or epochs_run
            run = ModelResult(
                file=f"{cell}.keras" if args.seeds == 1 else f"runs/{name}.keras",
                test=test_metrics,
                parameters=int(model.count_params()),
                train_seconds=round(result["seconds"], 1),
                epochs_run=int(epochs_run),
                best_epoch=int(best),
                best_val_accuracy=history["val_accuracy"][
                    history["epoch"].index(best - 1) if best - 1 in history["epoch"] else -1
                ],
                train_reviews_per_s=round(len(train) * result["epochs_this_run"] / result["seconds"], 1),
                train_tokens_per_s=round(tokens * result["epochs_this_run"] / result["seconds"], 1),
                test_reviews_per_s=round(len(test) / eval_seconds, 1),
                model_config=config.to_dict(),
                fit_config=asdict(fit_cfg),
                history=history,
                seed=seed,
                pretraining=result["pretraining"],
            )
            summary.runs.setdefault(cell, []).append(run)
            if args.seeds > 1:
                save_model(model, os.path.join(args.out, run.file))
            auc = "n/a" if test_metrics.roc_auc is None else f"{test_metrics.roc_auc:.4f}"
            print(
                f"{name.upper()} test accuracy {test_metrics.accuracy:.4f}, F1 {test_metrics.f1:.4f}, "
                f"ROC-AUC {auc}; validation accuracy {run.best_val_accuracy:.4f}"
            )
            # Kept: the best on validation (the test set chooses nothing); the first on a tie.
            if kept is None or run.best_val_accuracy > kept[0]:
                kept = (run.best_val_accuracy, model, run)
            del model

        _, model, run = kept
        summary.models[cell] = dataclasses.replace(run, file=f"{cell}.keras")
        test_probs[cell] = test_probs[cell if args.seeds == 1 else run_name(cell, run.seed)]
        histories[cell.upper()] = run.history
        save_model(model, os.path.join(args.out, f"{cell}.keras"))
        kept_note = f" (seed {run.seed}, best validation accuracy of {args.seeds} runs)" if args.seeds > 1 else ""
        print(f"Saved {os.path.join(args.out, cell + '.keras')}{kept_note}")
    if args.seeds == 1:
        summary.runs = {}  # one run per cell: models says it all

    if not chief:  # another worker of a cluster: the chief writes the results
        shutil.rmtree(args.out, ignore_errors=True)
        print("\nDone: this worker's share of training; the chief wrote the results.")
        return 0

    if args.baseline:
        for key, fit_baseline in BASELINES.items():
            print(f"\n== {display_name(key)} baseline")
            summary.baselines[key], test_probs[key] = fit_baseline(
                train.texts, train.labels, val.texts, val.labels, test.texts, test.labels, args.seed, test_lengths
            )
            print(f"{display_name(key)} test accuracy {summary.baselines[key].test.accuracy:.4f}")

    if args.add:
        try:
            summary, test_probs = _added_to(args.out, summary, test.ids, test_probs)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        histories = {name.upper(): m.history for name, m in summary.models.items()}
    add_comparisons(summary, test.labels, test_probs, test_lengths)
    for c in summary.comparisons:
        print(c.sentence(display_name(c.first), display_name(c.second)))
    summary.finished = time.strftime("%Y-%m-%d %H:%M:%S")
    write_run_metrics(os.path.join(args.out, "metrics.json"), summary)
    save_test_predictions(os.path.join(args.out, PREDICTIONS), test.ids, test.labels, test_lengths, test_probs)
    write_report(os.path.join(args.out, "report.md"), summary)
    plot_curves(os.path.join(args.out, "curves.png"), histories)
    print(
        f"\nWrote {args.out}/: {', '.join(c + '.keras' for c in args.cells)}, metrics.json, {PREDICTIONS}, "
        "report.md, curves.png"
    )
    return 0


def _added_to(out: str, summary, test_ids: list[str], test_probs: dict):
    """This run's models added to the run already in ``out`` (--add): its
    models, baseline and options are kept, this run's models replace any of
    the same name. Refused (ValueError) unless both read the same data."""
    from sentiment.evaluate import PREDICTIONS, load_test_predictions
    from sentiment.results import load_run_metrics

    earlier = load_run_metrics(os.path.join(out, "metrics.json"))
    same = (earlier.data.source, earlier.data.train, earlier.data.val, earlier.data.test, earlier.vocabulary_size)
    if same != (summary.data.source, summary.data.train, summary.data.val, summary.data.test, summary.vocabulary_size):
        raise ValueError(f"--add: the run in {out} read other data or another split; train into another --out.")
    saved = load_test_predictions(os.path.join(out, PREDICTIONS))
    if saved["ids"] != list(test_ids):
        raise ValueError(f"--add: the test reviews of the run in {out} differ from this run's.")
    summary.models = {**earlier.models, **summary.models}
    summary.runs = {**earlier.runs, **summary.runs}
    summary.baselines = summary.baselines or earlier.baselines
    summary.command = f"{earlier.command} && {summary.command}"
    summary.options = {**earlier.options, "added": [*earlier.options.get("added", []), summary.options]}
    return summary, {**saved["probs"], **test_probs}


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Interrupted: every file written so far is complete (written to a temporary file, then renamed).")
        sys.exit(130)
