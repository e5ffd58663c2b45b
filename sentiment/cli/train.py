"""Train the sentiment models, score them on the test set beside the
bag-of-n-grams baselines, and write them to --out.

    python train.py --data ../shared/data/aclImdb_v1_labeled.tar.gz   # LSTM and GRU
    python train.py --data PATH --limit 2000 --epochs 1 --out /tmp/quick   # a quick run
    python train.py --config configs/lesson.toml --data PATH          # a variant: settings in a file
    python train.py --data reviews.csv --text-column review --label-column sentiment   # your own reviews
    python train.py --data PATH --config configs/sst_rules.toml        # the committed recipe: + SST, rules

Writes to --out (default saved_models/, replacing the models and figures
committed there): one <cell>.keras per model (raw text in, P(positive) out),
metrics.json, test_predictions.npz, report.md, curves.png, and under runs/
the best checkpoints, CSV and TensorBoard logs. With --sst, every model is
also scored on SST-2's sentences (sst_test_predictions.npz, and in
metrics.json and report.md). TensorFlow's start-up lines
and retracing warnings are hidden; --verbose shows them.
"""

# `main` is the run, in named steps: start the devices, load the data, train
# each cell (once per seed, keeping the best on validation), fit the
# baselines, write the run. train.py, at the top of the repository, checks
# --data and loads TensorFlow quietly first.

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

import keras
import numpy as np
import tensorflow as tf

from sentiment.cli.scoring import score_baseline_also
from sentiment.core.settings import ConfigError, add_options, flag_fields, from_args, option, parse_with_config
from sentiment.data.batches import adaptable, batches, mixed_batches, token_counts, token_ids
from sentiment.data.imdb import load_reviews
from sentiment.data.rules import CONTRAST_ROWS, RULES, contrast_rows, negation_rows
from sentiment.data.splits import DataError, Split, concatenated, limit, train_val_split
from sentiment.data.sst import SST, load_sst
from sentiment.data.tables import TableConfig
from sentiment.evaluation.metrics import add_comparisons, classification_metrics
from sentiment.evaluation.predictions import (
    PREDICTIONS,
    SST_PREDICTIONS,
    load_test_predictions,
    predict_token_ids,
    save_test_predictions,
)
from sentiment.evaluation.results import (
    METRICS,
    DataSummary,
    ModelResult,
    RunMetrics,
    display_name,
    load_run_metrics,
    run_name,
    write_run_metrics,
)
from sentiment.evaluation.sentences import sentence_results
from sentiment.network.cells import CELLS
from sentiment.network.model import ModelConfig, build_model, classifier_of, make_vectorizer, preprocessor, save_model
from sentiment.reporting.report import plot_curves, write_report
from sentiment.training import devices
from sentiment.training.baselines import BASELINES
from sentiment.training.devices import DISTRIBUTE, DeviceConfig
from sentiment.training.fit import FitConfig, TrainingError, fit


@dataclass
class RunConfig:
    """The run: what to train on, which models, where to write them."""

    data: str | None = option(
        None,
        "an aclImdb folder or its .tar.gz, or a CSV, JSON Lines or Parquet file of your own reviews",
        default_text="tensorflow-datasets imdb_reviews",
    )
    out: str = option("saved_models", "output folder (the files named above in it are replaced)")
    cells: list[str] = option(default_factory=lambda: ["lstm", "gru"], help="models to train, one per cell")
    val_fraction: float = option(0.1, "share of the training reviews held out for validation", flag=False)
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
    sst: str | None = option(
        None,
        "the Stanford Sentiment Treebank's folder (train.txt, dev.txt, test.txt): every model is also scored on "
        "SST-2's whole sentences (dev and test); the setting sst_weight (configs/sst_rules.toml) mixes its phrases in",
        default_text="none: IMDB alone",
    )
    sst_weight: float = option(
        0.0,
        "SST training phrases mixed into training: SST batches per IMDB batch in each epoch, each batch all SST "
        "phrases of similar length (0: SST is only scored on)",
        flag=False,  # a recipe's setting: configs/sst_rules.toml; --sst is the flag a run needs
    )
    rules: list[str] = option(
        default_factory=list,
        help="training sentences made by rule (sentiment/data/rules.py): negation (a sentence of the training "
        'reviews and its negation), contrast ("X, but Y", labelled as Y)',
        flag=False,  # a recipe's setting, like sst_weight
    )
    rule_weight: float = option(
        0.0,
        "batches of the rules' sentences per IMDB batch in each epoch, each batch all rule sentences",
        flag=False,
    )

    def validate(self) -> "RunConfig":
        if not 0 < self.val_fraction < 1:
            raise ConfigError("val_fraction", "must be in (0, 1)", self.val_fraction)
        if self.limit is not None and self.limit < 20:
            raise ConfigError("limit", "must be at least 20 reviews", self.limit)
        if self.seeds < 1:
            raise ConfigError("seeds", "must be at least 1", self.seeds)
        if self.sst_weight < 0:
            raise ConfigError("sst_weight", "must be >= 0", self.sst_weight)
        if self.sst_weight and not self.sst:
            raise ConfigError(
                "sst_weight", "needs sst (--sst: the treebank's folder) to draw phrases from", self.sst_weight
            )
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ConfigError(
                "rules", f"has no rule {', '.join(map(repr, unknown))}; the rules are {', '.join(RULES)}", self.rules
            )
        if self.rule_weight < 0:
            raise ConfigError("rule_weight", "must be >= 0", self.rule_weight)
        if bool(self.rules) != bool(self.rule_weight):
            raise ConfigError(
                "rule_weight",
                "and rules go together: a weight > 0 needs rules to draw from, and rules need a weight",
                self.rule_weight,
            )
        if self.sst and self.add:
            raise ConfigError(
                "sst",
                "cannot be given with --add; add SST-2's figures to the finished run with "
                "`python -m sentiment evaluate OUT --data PATH --sst FOLDER`",
                self.sst,
            )
        return self


CONFIGS = (RunConfig, TableConfig, ModelConfig, FitConfig, DeviceConfig)


def build_parser() -> argparse.ArgumentParser:
    """Every flag field of the run's settings as an option (the others: --config files)."""
    own = ", ".join(f"{name} {cell.default_adversarial:g}" for name, cell in CELLS.items())
    p = argparse.ArgumentParser(
        prog="train.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_options(
        p,
        *CONFIGS,
        skip=("cell",),  # --cells
        overrides={
            "cells": {"choices": list(CELLS)},
            "distribute": {"choices": list(DISTRIBUTE)},
            "adversarial": {"default": None, "default_text": f"each cell's own: {own}"},
        },
    )
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The run's settings: defaults, then a --config file, then the flags; every one checked."""
    p = build_parser()
    args = parse_with_config(p, argv, *CONFIGS)
    try:
        from_args(RunConfig, args).validate()
        from_args(TableConfig, args).validate()
        from_args(DeviceConfig, args).validate()
        for cell in args.cells:
            model_config(args, cell).validate()
            fit_config(args, cell).validate()
    except ConfigError as err:
        p.error(err.for_option(flag=err.field in flag_fields(*CONFIGS)))
    return args


def model_config(args: argparse.Namespace, cell: str, seed: int | None = None) -> ModelConfig:
    """The ModelConfig the settings describe, for ``cell`` (and a run's ``seed``)."""
    return from_args(ModelConfig, args, cell=cell, seed=args.seed if seed is None else seed)


def fit_config(args: argparse.Namespace, cell: str, seed: int | None = None) -> FitConfig:
    """The FitConfig of the settings for ``cell``: --adversarial, or the cell's own step."""
    step = CELLS[cell].default_adversarial if args.adversarial is None else args.adversarial
    return from_args(FitConfig, args, adversarial=step, seed=args.seed if seed is None else seed)


# -- the steps of a run ----------------------------------------------------------------------------


@dataclass
class TrainingData:
    """What every model of a run reads: the splits, the vocabulary, each review's token ids."""

    train: Split
    val: Split
    test: Split
    summary: DataSummary
    vocabulary: list[str]
    ids: dict[str, list]  # "train", "val", "test": each review's kept token ids
    test_lengths: np.ndarray  # tokens in each test review before the length limit
    sst: SST | None = None  # --sst: SST-2's phrases and sentences
    sst_ids: dict[str, list] = dataclasses.field(default_factory=dict)  # "train" (if mixed in), "dev", "test"
    sst_steps: int = 0  # SST batches in each epoch (sst_weight)
    rules: Split | None = None  # the training rules' sentences (rules, rule_weight)
    rule_ids: list = dataclasses.field(default_factory=list)
    rule_steps: int = 0  # rule batches in each epoch


def load_data(args: argparse.Namespace, sst: SST | None = None) -> TrainingData:
    """The reviews of --data, split (validation grouped by movie where known),
    the vocabulary adapted on the training split, and every review tokenized;
    and SST's texts (``sst``), tokenized with the same vocabulary."""
    print(f"Loading reviews from {args.data or 'tensorflow-datasets'} ...", flush=True)
    reviews = load_reviews(args.data, from_args(TableConfig, args), args.seed)
    train_all, test = limit(reviews.train, args.limit, args.seed), limit(reviews.test, args.limit, args.seed)
    train, val = train_val_split(train_all, args.val_fraction, args.seed)
    val_split = f"grouped by {reviews.group_name}" if train_all.groups is not None else "stratified"
    print(f"{len(train):,} training, {len(val):,} validation ({val_split}), {len(test):,} test reviews")
    print("".join(f"  {note}\n" for note in reviews.notes), end="")
    vectorizer = make_vectorizer(args.vocab_size)
    vectorizer.adapt(adaptable(train.texts), batch_size=1024)
    vocabulary = [str(t) for t in vectorizer.get_vocabulary()]
    print(f"Vocabulary: {len(vocabulary):,} words")
    to_ids = preprocessor(model_config(args, args.cells[0]), vocabulary)  # the same for every cell
    summary = DataSummary(
        reviews.source, len(train), len(val), len(test), val_split, args.limit, reviews.notes, reviews.label_map
    )
    ids = {part: token_ids(s.texts, to_ids) for part, s in (("train", train), ("val", val), ("test", test))}
    data = TrainingData(train, val, test, summary, vocabulary, ids, token_counts(test.texts, vectorizer))
    if sst is not None:
        with_sst(data, sst, args, to_ids)
    if args.rules:
        with_rules(data, args, to_ids)
    return data


def with_sst(data: TrainingData, sst: SST, args: argparse.Namespace, to_ids) -> None:
    """SST's sentences (and, with sst_weight, its training phrases) tokenized
    into ``data``. The vocabulary stays IMDB's: a phrase's words are counted
    once per node that holds them, which would crowd out IMDB's."""
    sst.train = limit(sst.train, args.limit, args.seed)  # --limit: quick runs; dev and test are small
    parts = [("dev", sst.dev), ("test", sst.test)] + [("train", sst.train)] * bool(args.sst_weight)
    data.sst, data.sst_ids = sst, {part: token_ids(s.texts, to_ids) for part, s in parts}
    size = min(args.batch_size, len(data.train))
    if args.sst_weight:
        if len(sst.train) < size:
            raise DataError(
                f"--sst {args.sst}: {len(sst.train)} training phrases, fewer than one batch of {size}; "
                "lower --batch-size or give the whole treebank."
            )
        data.sst_steps = max(1, round(args.sst_weight * -(-len(data.train) // size)))
    mixed = f"; {data.sst_steps:,} batches of its {len(sst.train):,} phrases in each epoch" if data.sst_steps else ""
    note = f"SST-2 ({sst.source}): {len(sst.dev):,} dev and {len(sst.test):,} test sentences{mixed}"
    data.summary.notes = [*data.summary.notes, note, *sst.notes]
    print(f"  {note}")


def with_rules(data: TrainingData, args: argparse.Namespace, to_ids) -> None:
    """The training rules' sentences (sentiment/data/rules.py) tokenized into
    ``data``: negation from the training reviews' sentences; contrast joins
    two labelled sentences of opposite verdicts, drawn from the negation
    rule's sentences and, with --sst, SST's whole training sentences."""
    if not isinstance(data.train.texts, (list, tuple)):
        raise DataError("rules: a streamed table's reviews are read once per pass; train on a smaller table")
    negation = negation_rows(data.train.texts, seed=args.seed)
    made = {"negation": negation}
    if "contrast" in args.rules:
        pool = negation if data.sst is None else concatenated(negation, data.sst.train_sentences)
        made["contrast"] = contrast_rows(pool, min(CONTRAST_ROWS, len(data.train)), seed=args.seed)
    rows = concatenated(*(made[rule] for rule in args.rules))
    size = min(args.batch_size, len(data.train))
    if len(rows) < size:
        raise DataError(
            f"rules {', '.join(args.rules)}: {len(rows)} sentences from {len(data.train)} training reviews, "
            f"fewer than one batch of {size}; train on more reviews (--limit) or lower --batch-size."
        )
    data.rules, data.rule_ids = rows, token_ids(rows.texts, to_ids)
    data.rule_steps = max(1, round(args.rule_weight * -(-len(data.train) // size)))
    counts = ", ".join(f"{len(made[rule]):,} {rule}" for rule in args.rules)
    note = f"Rules: {counts} sentences; {data.rule_steps:,} batches of them in each epoch"
    data.summary.notes = [*data.summary.notes, note]
    print(f"  {note}")


def training_batches(args, data: TrainingData, seed: int):
    """IMDB's training batches, and SST's phrases (sst_weight) and the rules'
    sentences (rule_weight) in batches of their own among them."""
    train_ds = batches(data.ids["train"], data.train.labels, args.batch_size, shuffle=True, seed=seed)
    size = min(args.batch_size, len(data.train))  # IMDB's static batch size: the others match it
    others = []
    if data.sst_steps:
        others.append(
            (batches(data.sst_ids["train"], data.sst.train.labels, size, shuffle=True, seed=seed), data.sst_steps)
        )
    if data.rule_steps:
        others.append((batches(data.rule_ids, data.rules.labels, size, shuffle=True, seed=seed), data.rule_steps))
    return mixed_batches(train_ds, *others, seed=seed) if others else train_ds


def train_once(
    args, data: TrainingData, cell: str, seed: int, workdir: str
) -> tuple[keras.Model, ModelResult, np.ndarray, dict[str, np.ndarray]]:
    """One model of ``cell`` trained with ``seed``: the model (its best
    weights), its figures, its test P(positive) and, with --sst, its SST-2
    dev and test P(positive) (by split)."""
    name = cell if args.seeds == 1 else run_name(cell, seed)
    keras.utils.set_random_seed(seed)
    fit_cfg, config = fit_config(args, cell, seed), model_config(args, cell, seed)
    model = build_model(config, data.vocabulary)
    train_ds = training_batches(args, data, seed)
    val_ds = batches(data.ids["val"], data.val.labels, 256, shuffle=False)
    print(f"\n== {name.upper()}: {model.count_params():,} parameters")
    result = fit(model, train_ds, val_ds, fit_cfg, workdir, name, resume=args.resume, jit=args.jit)
    start = time.perf_counter()
    probs = predict_token_ids(classifier_of(model), data.ids["test"])
    test_seconds = time.perf_counter() - start
    test = classification_metrics(data.test.labels, probs, data.test_lengths)
    sst = {part: predict_token_ids(classifier_of(model), data.sst_ids[part]) for part in ("dev", "test") if data.sst}
    epochs, tokens = result.epochs_this_run, int(sum(len(x) for x in data.ids["train"]))
    run = ModelResult(
        file=f"{cell}.keras" if args.seeds == 1 else f"runs/{name}.keras",
        test=test,
        parameters=int(model.count_params()),
        train_seconds=round(result.seconds, 1),
        epochs_run=int(result.epochs_run),
        best_epoch=int(result.best_epoch or result.epochs_run),
        best_val_accuracy=result.val_accuracy_at_best(),
        train_reviews_per_s=round(len(data.train) * epochs / result.seconds, 1),
        train_tokens_per_s=round(tokens * epochs / result.seconds, 1),
        test_reviews_per_s=round(len(data.test) / test_seconds, 1),
        model_config=config.to_dict(),
        fit_config=asdict(fit_cfg),
        history=result.history,
        seed=seed,
    )
    auc = "n/a" if test.roc_auc is None else f"{test.roc_auc:.4f}"
    print(
        f"{name.upper()} test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}, ROC-AUC {auc}; "
        f"validation accuracy {run.best_val_accuracy:.4f}"
        + (f"; SST-2 dev {np.mean((sst['dev'] >= 0.5) == data.sst.dev.labels):.4f}" if sst else "")
    )
    return model, run, probs, sst


def train_cell(
    args,
    data: TrainingData,
    cell: str,
    summary: RunMetrics,
    test_probs: dict,
    workdir: str,
    sst_probs: dict | None = None,
) -> None:
    """``cell`` trained once per seed; the run with the best validation
    accuracy (the first on a tie: the test set chooses nothing) is saved as
    <cell>.keras and recorded as the cell's model, the others under runs/.
    ``sst_probs`` ({"dev": {}, "test": {}}) receives each run's SST-2 P(positive)."""
    kept = None
    for seed in range(args.seed, args.seed + args.seeds):
        model, run, probs, sst = train_once(args, data, cell, seed, workdir)
        summary.runs.setdefault(cell, []).append(run)
        test_probs[cell if args.seeds == 1 else run_name(cell, seed)] = probs
        for part, p in sst.items():
            sst_probs[part][cell if args.seeds == 1 else run_name(cell, seed)] = p
        if args.seeds > 1:
            save_model(model, os.path.join(args.out, run.file))
        if kept is None or run.best_val_accuracy > kept[1].best_val_accuracy:
            kept = (model, run)
        del model
    model, run = kept
    summary.models[cell] = dataclasses.replace(run, file=f"{cell}.keras")
    test_probs[cell] = test_probs[cell if args.seeds == 1 else run_name(cell, run.seed)]
    for part in sst_probs if data.sst else ():
        sst_probs[part][cell] = sst_probs[part][cell if args.seeds == 1 else run_name(cell, run.seed)]
    save_model(model, os.path.join(args.out, f"{cell}.keras"))
    note = f" (seed {run.seed}, best validation accuracy of {args.seeds} runs)" if args.seeds > 1 else ""
    print(f"Saved {os.path.join(args.out, cell + '.keras')}{note}")


def fit_baselines(data: TrainingData, seed: int, summary: RunMetrics, test_probs: dict, sst_probs: dict) -> None:
    """The baselines on IMDB's training split (with --sst too: they are the
    reference of what IMDB alone teaches a bag of n-grams), scored on IMDB's
    test reviews and, with --sst, SST-2's dev and test sentences."""
    also = [data.sst.dev.texts, data.sst.test.texts] if data.sst else []
    for key in BASELINES:
        print(f"\n== {display_name(key)} baseline")
        summary.baselines[key], test_probs[key], sst = score_baseline_also(
            key, data.train, data.val, data.test, seed, data.test_lengths, also
        )
        for part, p in zip(("dev", "test"), sst):
            sst_probs[part][key] = p
        print(f"{display_name(key)} test accuracy {summary.baselines[key].test.accuracy:.4f}")


def added_to(out: str, summary: RunMetrics, test_ids: list[str], test_probs: dict) -> tuple[RunMetrics, dict]:
    """This run's models added to the run already in ``out`` (--add): its
    models, baseline and options are kept, this run's models replace any of
    the same name. Refused (ValueError) unless both read the same data."""
    earlier = load_run_metrics(os.path.join(out, METRICS))
    same = (earlier.data.source, earlier.data.train, earlier.data.val, earlier.data.test, earlier.vocabulary_size)
    if same != (summary.data.source, summary.data.train, summary.data.val, summary.data.test, summary.vocabulary_size):
        raise ValueError(f"--add: the run in {out} read other data or another split; train into another --out.")
    saved = load_test_predictions(os.path.join(out, PREDICTIONS))
    if saved["ids"] != list(test_ids):
        raise ValueError(f"--add: the test reviews of the run in {out} differ from this run's.")
    summary.models = {**earlier.models, **summary.models}
    summary.runs = {**earlier.runs, **summary.runs}
    summary.baselines = summary.baselines or earlier.baselines
    summary.sentences = earlier.sentences  # the earlier models' SST-2 figures (--add takes no --sst)
    summary.command = f"{earlier.command} && {summary.command}"
    summary.options = {**earlier.options, "added": [*earlier.options.get("added", []), summary.options]}
    return summary, {**saved["probs"], **test_probs}


def write_run(
    out: str, summary: RunMetrics, data: TrainingData, test_probs: dict, sst_probs: dict | None = None
) -> None:
    """The paired tests, then metrics.json, test_predictions.npz (with --sst,
    sst_test_predictions.npz), report.md and curves.png, each written whole (a
    temporary file, then a rename)."""
    add_comparisons(summary, data.test.labels, test_probs, data.test_lengths)
    for c in summary.comparisons:
        print(c.sentence(display_name(c.first), display_name(c.second)))
    if data.sst is not None:
        add_sentences(out, summary, data, sst_probs)
    summary.finished = time.strftime("%Y-%m-%d %H:%M:%S")
    write_run_metrics(os.path.join(out, METRICS), summary)
    save_test_predictions(
        os.path.join(out, PREDICTIONS), data.test.ids, data.test.labels, data.test_lengths, test_probs
    )
    write_report(os.path.join(out, "report.md"), summary)
    histories = {name.upper(): m.history for name, m in summary.models.items()}
    plot_curves(os.path.join(out, "curves.png"), histories)
    models = ", ".join(f"{c}.keras" for c in summary.models)
    sst = f", {SST_PREDICTIONS}" if data.sst is not None else ""
    print(f"\nWrote {out}/: {models}, metrics.json, {PREDICTIONS}{sst}, report.md, curves.png")


def add_sentences(out: str, summary: RunMetrics, data: TrainingData, sst_probs: dict) -> None:
    """SST-2's figures in ``summary``, and every model's P(positive) for the test sentences in ``out``."""
    sst = data.sst
    summary.sentences = sentence_results(
        summary,
        {"dev": sst.dev.labels, "test": sst.test.labels},
        sst_probs,
        sst.source,
        summary.options.get("sst_weight", 0.0),
        len(sst.train) if data.sst_steps else 0,
        measured_by=summary.command,
    )
    for name, s in summary.sentences.scores.items():
        print(f"{display_name(name)}: SST-2 dev accuracy {s.dev.accuracy:.4f}, test {s.test.accuracy:.4f}")
    for c in summary.sentences.comparisons:
        print(f"SST-2: {c.sentence(display_name(c.first), display_name(c.second))}")
    lengths = np.array([len(t.split()) for t in sst.test.texts])  # words as typed
    save_test_predictions(os.path.join(out, SST_PREDICTIONS), sst.test.ids, sst.test.labels, lengths, sst_probs["test"])


def new_summary(args: argparse.Namespace, argv: list[str], data: TrainingData) -> RunMetrics:
    return RunMetrics(
        command="python " + " ".join(shlex.quote(x) for x in ["train.py", *argv]),
        finished="",  # set when done
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        data=data.summary,
        vocabulary_size=len(data.vocabulary),
        options={**vars(args), "adversarial": {cell: fit_config(args, cell).adversarial for cell in args.cells}},
        models={},
    )


def start_devices(args: argparse.Namespace) -> bool:
    """Sets the devices up (before TensorFlow runs an op), seeds everything;
    whether this process writes the run's results (the chief of a cluster)."""
    strategy = devices.start(from_args(DeviceConfig, args))
    tf.distribute.experimental_set_strategy(strategy)  # models and optimizers are made under it from here on
    print(f"Training on {devices.describe(strategy)}", flush=True)
    args.out = devices.output_folder(args.out, strategy)
    keras.utils.set_random_seed(args.seed)
    if not args.jit:  # same seed and data, same figures on one machine (Keras refuses it with XLA)
        tf.config.experimental.enable_op_determinism()
    return devices.is_chief(strategy)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    try:  # --sst first: a wrong folder stops the run before anything is written
        sst = load_sst(args.sst) if args.sst else None
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    chief = start_devices(args)
    workdir = os.path.join(args.out, "runs")
    os.makedirs(workdir, exist_ok=True)
    try:
        data = load_data(args, sst)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary, test_probs, sst_probs = new_summary(args, argv, data), {}, {"dev": {}, "test": {}}
    try:
        for cell in args.cells:
            train_cell(args, data, cell, summary, test_probs, workdir, sst_probs)
    except TrainingError as err:
        print(f"error: {err.for_option()}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130  # fit() said where the best checkpoint is
    if args.seeds == 1:
        summary.runs = {}  # one run per cell: models says it all
    if not chief:  # another worker of a cluster: the chief writes the results
        shutil.rmtree(args.out, ignore_errors=True)
        print("\nDone: this worker's share of training; the chief wrote the results.")
        return 0
    if args.baseline:
        fit_baselines(data, args.seed, summary, test_probs, sst_probs)
    if args.add:
        try:
            summary, test_probs = added_to(args.out, summary, data.test.ids, test_probs)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    write_run(args.out, summary, data, test_probs, sst_probs)
    return 0
