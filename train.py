"""Train the sentiment models on IMDB, evaluate them on the test set, save them.

    python train.py                                   # LSTM and GRU, tfds data
    python train.py --data ../shared/data/aclImdb_v1_labeled.tar.gz
    python train.py --cells lstm gru elman --limit 2000 --epochs 1   # quick run

Writes to --out (default saved_models/): one <cell>.keras per model (raw text
in, P(positive) out), metrics.json, report.md, curves.png, and under runs/
the best checkpoints, CSV and TensorBoard logs.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import sys
import time
from dataclasses import asdict, fields

# Defaults, all in one place.
DEFAULTS = dict(
    cells=["lstm", "gru"],
    data=None,
    out="saved_models",
    epochs=3,
    batch_size=64,
    units=64,
    embedding_dim=128,
    vocab_size=20000,
    max_length=800,
    head=200,
    layers=1,
    learning_rate=3e-3,
    bigram_buckets=0,
    token_dropout=0.25,
    embedding_dropout=0.25,
    dropout=0.0,
    recurrent_dropout=0.0,
    head_dropout=0.5,
    clipnorm=1.0,
    ema=0.0,
    # Per cell, chosen on validation (docs/model_choices.md, round 2).
    adversarial={"lstm": 0.1, "gru": 0.05, "elman": 0.05},
    val_fraction=0.1,
    patience=2,
    seed=1337,
    limit=None,
    baseline=True,
    resume=False,
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", nargs="+", choices=["lstm", "gru", "elman"], help="models to train")
    p.add_argument("--data", help="aclImdb folder or .tar.gz (default: tensorflow-datasets imdb_reviews)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--units", type=int, help="recurrent units per direction")
    p.add_argument("--embedding-dim", type=int)
    p.add_argument("--vocab-size", type=int, help="vocabulary size, padding and [UNK] included")
    p.add_argument("--max-length", type=int, help="tokens kept per review")
    p.add_argument("--head", type=int, help="of those, how many from the start (the rest from the end)")
    p.add_argument("--layers", type=int, help="stacked bidirectional recurrent layers")
    p.add_argument("--learning-rate", type=float, help="peak learning rate (cosine decay)")
    p.add_argument("--bigram-buckets", type=int, help="hashed bigram embeddings (0: off)")
    p.add_argument("--token-dropout", type=float, help="share of words dropped in training")
    p.add_argument("--embedding-dropout", type=float, help="spatial dropout on the embeddings")
    p.add_argument("--dropout", type=float, help="cell input dropout")
    p.add_argument("--recurrent-dropout", type=float)
    p.add_argument("--head-dropout", type=float, help="dropout before the classifier")
    p.add_argument("--clipnorm", type=float, help="gradient clipping by norm (0: off)")
    p.add_argument("--ema", type=float, help="average the weights with this momentum, e.g. 0.99 (0: off)")
    p.add_argument(
        "--adversarial", type=float,
        help="adversarial training: step on word vectors, for every cell "
        "(0: off; default: lstm 0.1, gru and elman 0.05)",
    )
    p.add_argument("--val-fraction", type=float)
    p.add_argument("--patience", type=int, help="early stopping patience in epochs")
    p.add_argument("--seed", type=int)
    p.add_argument("--limit", type=int, help="use only N training and N test reviews (quick runs)")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", default=None, help="skip TF-IDF baseline")
    p.add_argument("--resume", action="store_true", default=None, help="continue an interrupted run")
    args = p.parse_args(argv)
    for key, value in DEFAULTS.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    _check(p, args)
    return args


def model_config(args: argparse.Namespace, cell: str):
    """The ModelConfig that the command-line options describe, for ``cell``."""
    from sentiment.model import ModelConfig

    names = [f.name for f in fields(ModelConfig) if f.name != "cell"]
    return ModelConfig(cell=cell, **{name: getattr(args, name) for name in names if hasattr(args, name)})


def _check(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    for name in ("epochs", "batch_size", "patience"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(a, name)})")
    try:
        model_config(a, a.cells[0]).validate()
    except ValueError as err:  # name the option, not the field
        p.error(re.sub(r"`(\w+)`", lambda m: "--" + m.group(1).replace("_", "-"), str(err)))
    if not 0 < a.val_fraction < 1:
        p.error(f"--val-fraction must be in (0, 1) (got {a.val_fraction})")
    if a.learning_rate <= 0 or a.clipnorm < 0:
        p.error("--learning-rate must be > 0 and --clipnorm >= 0")
    if not 0 <= a.ema < 1:
        p.error(f"--ema must be in [0, 1) (got {a.ema})")
    if isinstance(a.adversarial, float):  # one value given: every cell
        if a.adversarial < 0:
            p.error(f"--adversarial must be >= 0 (got {a.adversarial})")
        a.adversarial = dict.fromkeys(DEFAULTS["adversarial"], a.adversarial)
    if a.limit is not None and a.limit < 20:
        p.error(f"--limit must be at least 20 reviews (got {a.limit})")


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from sentiment import data as imdb
    from sentiment.evaluate import classification_metrics, plot_curves, tfidf_baseline, write_report
    from sentiment.files import save_model, write_json
    from sentiment.model import build_model, make_vectorizer, text_to_ids
    from sentiment.train import FitConfig, TrainingError, fit

    keras.utils.set_random_seed(args.seed)
    # Same seed and data, same metrics on the same machine.
    tf.config.experimental.enable_op_determinism()
    command = "python " + " ".join(shlex.quote(x) for x in [os.path.basename(sys.argv[0]), *(argv or sys.argv[1:])])
    workdir = os.path.join(args.out, "runs")
    os.makedirs(workdir, exist_ok=True)

    print(f"Loading IMDB from {args.data or 'tensorflow-datasets'} ...", flush=True)
    try:
        dataset = imdb.load_imdb(args.data)
    except imdb.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    train_all = imdb.limit(dataset.train, args.limit, args.seed)
    test = imdb.limit(dataset.test, args.limit, args.seed)
    train, val = imdb.train_val_split(train_all, args.val_fraction, args.seed)
    val_split = "grouped by movie" if train_all.groups is not None else "stratified"
    print(f"{len(train):,} training, {len(val):,} validation ({val_split}), {len(test):,} test reviews")

    vectorizer = make_vectorizer(args.vocab_size)
    vectorizer.adapt(train.texts, batch_size=1024)
    vocabulary = [str(t) for t in vectorizer.get_vocabulary()]
    print(f"Vocabulary: {len(vocabulary):,} words")

    summary = {
        "command": command,
        "finished": None,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "data": {
            "source": dataset.source,
            "train": len(train),
            "val": len(val),
            "test": len(test),
            "val_split": val_split,
            "limit": args.limit,
            "notes": dataset.notes,
        },
        "vocabulary_size": len(vocabulary),
        "config": {k: getattr(args, k) for k in DEFAULTS},
        "models": {},
    }

    histories, ids = {}, None
    for cell in args.cells:
        fit_cfg = FitConfig(
            **{f.name: getattr(args, f.name) for f in fields(FitConfig) if f.name != "adversarial"},
            adversarial=args.adversarial[cell],
        )
        config = model_config(args, cell)
        model = build_model(config, vocabulary)
        if ids is None:  # every model shares the vocabulary and the length limit
            to_ids = text_to_ids(model)
            splits = (("train", train), ("val", val), ("test", test))
            ids = {name: imdb.token_ids(s.texts, to_ids) for name, s in splits}
        train_ds = imdb.batches(ids["train"], train.labels, args.batch_size, shuffle=True, seed=args.seed)
        val_ds = imdb.batches(ids["val"], val.labels, 256, shuffle=False)
        print(f"\n== {cell.upper()}: {model.count_params():,} parameters")
        try:
            result = fit(model, train_ds, val_ds, fit_cfg, workdir, cell, resume=args.resume)
        except TrainingError as err:
            print(f"error: {err}", file=sys.stderr)
            return 3
        except KeyboardInterrupt:
            return 130  # fit() said where the best checkpoint is

        test_ds = imdb.batches(ids["test"], test.labels, 256, shuffle=False)
        order = imdb.sorted_order(ids["test"])
        t0 = time.perf_counter()
        probs_sorted = model.get_layer("classifier").predict(test_ds.map(lambda x, y: x), verbose=0)[:, 0]
        eval_seconds = time.perf_counter() - t0
        probs = np.empty_like(probs_sorted)
        probs[order] = probs_sorted
        test_metrics = classification_metrics(test.labels, probs)
        tokens = int(sum(len(x) for x in ids["train"]))
        epochs_run = result["epochs_run"]
        history = result["history"]
        best = result["best_epoch"] or epochs_run
        summary["models"][cell] = {
            "file": f"{cell}.keras",
            "test": test_metrics,
            "parameters": int(model.count_params()),
            "train_seconds": round(result["seconds"], 1),
            "epochs_run": epochs_run,
            "best_epoch": best,
            "best_val_accuracy": history["val_accuracy"][
                history["epoch"].index(best - 1) if best - 1 in history["epoch"] else -1
            ],
            "train_reviews_per_s": round(len(train) * result["epochs_this_run"] / result["seconds"], 1),
            "train_tokens_per_s": round(tokens * result["epochs_this_run"] / result["seconds"], 1),
            "test_reviews_per_s": round(len(test) / eval_seconds, 1),
            "model_config": config.to_dict(),
            "fit_config": asdict(fit_cfg),
            "history": history,
        }
        histories[cell.upper()] = history
        save_model(model, os.path.join(args.out, f"{cell}.keras"))
        print(
            f"{cell.upper()} test accuracy {test_metrics['accuracy']:.4f}, F1 {test_metrics['f1']:.4f}, "
            f"ROC-AUC {test_metrics['roc_auc']:.4f}; saved {os.path.join(args.out, cell + '.keras')}"
        )

    if args.baseline:
        print("\n== TF-IDF + logistic regression baseline")
        summary["baseline"] = tfidf_baseline(
            train.texts, train.labels, val.texts, val.labels, test.texts, test.labels, args.seed
        )
        print(f"baseline test accuracy {summary['baseline']['accuracy']:.4f}")

    summary["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_json(os.path.join(args.out, "metrics.json"), summary)
    choices = os.path.join(os.path.dirname(os.path.abspath(__file__)), "docs", "model_choices.md")
    choices_md = None
    if os.path.isfile(choices):
        with open(choices, encoding="utf-8") as f:
            choices_md = f.read()
    write_report(os.path.join(args.out, "report.md"), summary, choices_md)
    plot_curves(os.path.join(args.out, "curves.png"), histories)
    print(f"\nWrote {args.out}/: {', '.join(c + '.keras' for c in args.cells)}, metrics.json, report.md, curves.png")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Interrupted: every file written so far is complete (written to a temporary file, then renamed).")
        sys.exit(130)
