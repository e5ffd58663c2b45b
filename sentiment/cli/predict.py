"""Batch prediction: P(positive) and the label of many reviews, from every saved model.

    python -m sentiment predict reviews.txt --out predictions.csv           # one review a line
    python -m sentiment predict reviews.csv --text-column review --out p.jsonl
    cat reviews.txt | python -m sentiment predict - --out p.csv --model saved_models/gru.keras

INPUT is a text file (one review a line), a CSV/TSV, JSON Lines or Parquet
file with a text column (by its suffix, or ``--input-format``), or ``-`` for
standard input (text, unless ``--input-format`` says otherwise). It is read
lazily, ``--batch-size`` x 8 rows at a time; each such window is predicted in
batches sorted by length (little padding) by every model in ``--models`` (or
each ``--model``) and written in the input's order, to a CSV or JSON Lines
file (by the suffix of ``--out``; ``-`` is CSV on standard output). The file
is written to a temporary file and renamed when complete: an interrupted run
leaves no half-written output.

Each output row has the input's ``line`` (``row`` for Parquet), then, per model
``M``, ``p_M`` (P(positive)) and ``label_M`` (the label of P >= 0.5, with the
names of the data the model was trained on: metrics.json's ``label_map`` beside
the model, else IMDB's ``neg``/``pos``), and ``error``. A row that cannot be
predicted (an empty text, a line that is not UTF-8, a JSON line that is not an
object or lacks the text field, a CSV row short of the text column) is written
with its ``error`` and no prediction, and counted and listed by line on
standard error: never dropped. A progress bar (on a terminal, or with
``--progress``) and the reviews per second go to standard error.

The models run in NumPy (`sentiment.numpy_cells`), without TensorFlow, which
starts in a fraction of the time TensorFlow takes to import; the P(positive)
are Keras's within 1e-5. ``--engine keras`` runs them in Keras instead, and a
model file the NumPy path cannot read (a cell or layer it does not know) is
run in Keras, said on standard error (``--engine numpy``: an error instead).

Exit status: 0 when the output is written (bad rows included), 2 for a
missing input, a missing text column, no model or a model that does not load.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from sentiment import numpy_cells
from sentiment.core.files import atomic_path
from sentiment.core.startup import load_tensorflow
from sentiment.data.imdb import CLASSES
from sentiment.data.splits import DataError
from sentiment.data.table_rows import FORMATS, Row, read_rows, unit
from sentiment.evaluation.results import METRICS

WINDOW = 8  # batches read, sorted by length and predicted together
OUTPUTS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
SHOWN_ERRORS = 10  # bad rows listed on standard error (all are in the output)
ENGINES = ("auto", "numpy", "keras")

Predict = Callable[[list[str]], np.ndarray]  # texts -> P(positive), (n,)


class PredictError(ValueError):
    """A problem that stops the run: the message says what to do."""


@dataclass
class Result:
    row: Row
    text: str | None
    probs: dict[str, float] | None  # model -> P(positive); None for a bad row
    error: str | None


def input_format(path: str, forced: str | None) -> str:
    if forced:
        return forced
    if path == "-":
        return "text"
    return FORMATS.get(os.path.splitext(path)[1].lower(), "text")


def output_format(path: str) -> str:
    if path == "-":
        return "csv"
    fmt = OUTPUTS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise PredictError(f"--out {path}: write to a .csv or .jsonl file (or - for CSV on standard output).")
    return fmt


def model_paths(models_dir: str, chosen: list[str] | None) -> dict[str, str]:
    """{name: path}: each ``--model`` (named by its file), or every .keras file in ``models_dir``."""
    if chosen:
        paths = chosen
    else:
        if not os.path.isdir(models_dir):
            raise PredictError(f"No folder {models_dir}: pass --models DIR or --model FILE.keras.")
        paths = sorted(os.path.join(models_dir, f) for f in os.listdir(models_dir) if f.endswith(".keras"))
        if not paths:
            raise PredictError(f"No .keras models in {models_dir}/: train some (python train.py) or pass --model.")
    names: dict[str, str] = {}
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        if name in names:  # two folders' lstm.keras: name them by folder too
            name = f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}_{name}"
        names[name] = path
    return names


def label_names(model_path: str) -> tuple[str, str]:
    """(negative, positive) label names of the data the model was trained on:
    a table's labels from metrics.json beside it, else IMDB's."""
    metrics = os.path.join(os.path.dirname(os.path.abspath(model_path)), METRICS)
    try:
        with open(metrics, encoding="utf-8") as f:
            label_map = json.load(f).get("data", {}).get("label_map")
        by_class = {v: k for k, v in label_map.items()}
        return by_class[0], by_class[1]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return CLASSES


def load_model(path: str):
    """A model loaded with Keras (TensorFlow loaded quietly first)."""
    load_tensorflow()
    from sentiment.network.model import ModelLoadError
    from sentiment.network.model import load_model as keras_load_model

    try:
        return keras_load_model(path)
    except ModelLoadError as err:
        raise PredictError(str(err)) from err


def keras_predict(model) -> Predict:
    import tensorflow as tf

    return lambda texts: np.asarray(model.predict_on_batch(tf.constant(texts)))[:, 0]


def load_models(paths: dict[str, str], engine: str) -> tuple[dict[str, Predict], dict[str, str]]:
    """({name: its predict function}, {name: the engine that runs it}).

    ``auto`` runs each model in NumPy where it can, and in Keras (said on
    standard error) where it cannot; ``numpy`` and ``keras`` run every model
    in the one named.
    """
    models, engines = {}, {}
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise PredictError(f"No model file at {path}: train one with `python train.py`.")
        if engine != "keras":
            try:
                models[name], engines[name] = numpy_cells.load(path).predict, "numpy"
                continue
            except numpy_cells.KerasFileError as err:
                if engine == "numpy":
                    raise PredictError(f"{err} Run it with --engine keras.") from err
                print(f"{err} Running it in Keras (TensorFlow) instead.", file=sys.stderr)
        models[name], engines[name] = keras_predict(load_model(path)), "keras"
    return models, engines


def checked(row: Row, column: str) -> tuple[str | None, str | None]:
    """(text, None) for a review to predict, or (None, why not)."""
    if row.problem:
        return None, row.problem
    if column not in row.values:
        return None, f"no {column!r} field"
    text = row.values[column]
    if not isinstance(text, str):
        return None, f"{column!r} is not a string but {json.dumps(text)[:40]}"
    if not text.strip():
        return None, "empty text"
    return text, None


def predict_rows(
    rows: Iterator[Row], models: dict[str, Predict], column: str, batch_size: int = 256
) -> Iterator[Result]:
    """Every row's result, in the input's order: ``WINDOW`` batches of rows
    are read, their good texts sorted by length and predicted by every model
    (a function of a list of texts) in batches of ``batch_size``."""
    window: list[Row] = []
    for row in rows:
        window.append(row)
        if len(window) == batch_size * WINDOW:
            yield from _predict_window(window, models, column, batch_size)
            window = []
    if window:
        yield from _predict_window(window, models, column, batch_size)


def _predict_window(window, models, column, batch_size):
    checked_rows = [checked(row, column) for row in window]
    good = [i for i, (text, _) in enumerate(checked_rows) if text is not None]
    order = sorted(good, key=lambda i: len(checked_rows[i][0]))
    probs = {}
    for name, predict in models.items():
        p = np.empty(len(window), "float32")
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            p[index] = predict([checked_rows[i][0] for i in index])
        probs[name] = p
    for i, row in enumerate(window):
        text, error = checked_rows[i]
        if error:
            raw = row.values.get(column)
            yield Result(row, raw if isinstance(raw, str) else None, None, error)
        else:
            yield Result(row, text, {name: float(p[i]) for name, p in probs.items()}, None)


class Writer:
    """Rows of results as CSV or JSON Lines."""

    def __init__(self, f, fmt: str, where: str, models: dict[str, tuple[str, str]], with_text: bool):
        self.f, self.fmt, self.where, self.models, self.with_text = f, fmt, where, models, with_text
        self.columns = [where, *(["text"] if with_text else [])]
        self.columns += [f"{kind}_{name}" for name in models for kind in ("p", "label")] + ["error"]
        if fmt == "csv":
            self.csv = csv.writer(f, lineterminator="\n")
            self.csv.writerow(self.columns)

    def write(self, r: Result) -> None:
        record = {self.where: r.row.where}
        if self.with_text:
            record["text"] = r.text
        for name, (neg, pos) in self.models.items():
            p = None if r.probs is None else r.probs[name]
            record[f"p_{name}"] = None if p is None else round(p, 6)
            record[f"label_{name}"] = None if p is None else (pos if p >= 0.5 else neg)
        record["error"] = r.error
        if self.fmt == "csv":
            self.csv.writerow(["" if record.get(c) is None else record.get(c) for c in self.columns])
        else:
            self.f.write(json.dumps(record, ensure_ascii=False) + "\n")


def count_rows(path: str, fmt: str) -> int | None:
    """About how many rows a file has (for the progress bar): its lines, or a Parquet file's rows."""
    if path == "-":
        return None
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        lines, last = 0, b"\n"
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - (fmt in ("csv", "tsv")), 0)
    except (OSError, ValueError, ImportError):
        return None


def run(args: argparse.Namespace) -> int:
    fmt = input_format(args.input, args.input_format)
    out_fmt = output_format(args.out)
    if args.input != "-" and not os.path.isfile(args.input):
        raise PredictError(f"{args.input}: no such file.")
    if fmt == "parquet" and args.input == "-":
        raise PredictError("Parquet cannot be read from standard input: pass the file's path.")
    paths = model_paths(args.models, args.model)
    models, engines = load_models(paths, args.engine)
    names = {name: label_names(path) for name, path in paths.items()}
    source = sys.stdin.buffer if args.input == "-" else args.input
    name = "<stdin>" if args.input == "-" else args.input
    rows = read_rows(source, fmt, [args.text_column], name=name, hints={args.text_column: "--text-column"})
    where = unit(fmt)
    bad: list[Result] = []
    n = 0
    show = sys.stderr.isatty() if args.progress is None else args.progress
    start = time.perf_counter()
    with _output(args.out, out_fmt) as f:
        writer = Writer(f, out_fmt, where, names, args.with_text)
        with tqdm(
            total=count_rows(args.input, fmt), unit=" reviews", disable=not show, file=sys.stderr, mininterval=0.5
        ) as bar:
            for result in predict_rows(rows, models, args.text_column, args.batch_size):
                writer.write(result)
                n += 1
                if result.error:
                    bad.append(result)
                bar.update(1)
    seconds = time.perf_counter() - start
    good = n - len(bad)
    rate = good / max(seconds, 1e-9)
    print(
        f"Predicted {good:,} reviews with {len(models)} model(s) ({', '.join(models)}) in {seconds:.1f} s: "
        f"{rate:,.{0 if rate >= 10 else 2}f} reviews/s (each through every model, reading and writing included), "
        f"in {_engines(engines)}; wrote {'standard output' if args.out == '-' else args.out}",
        file=sys.stderr,
    )
    if bad:
        listed = "; ".join(f"{where} {r.row.where}: {r.error}" for r in bad[:SHOWN_ERRORS])
        more = f"; and {len(bad) - SHOWN_ERRORS:,} more" if len(bad) > SHOWN_ERRORS else ""
        print(
            f"{len(bad):,} of {n:,} rows could not be predicted (written with their `error`, no prediction): "
            f"{listed}{more}",
            file=sys.stderr,
        )
    return 0


def _engines(engines: dict[str, str]) -> str:
    names = {"numpy": "NumPy", "keras": "Keras"}
    used = set(engines.values())
    if len(used) == 1:
        return names[used.pop()]
    return ", ".join(f"{names[e]} ({name})" for name, e in engines.items())


class _output:
    """The output file, written to a temporary file renamed when complete; or standard output."""

    def __init__(self, path: str, fmt: str):
        self.path, self.fmt = path, fmt

    def __enter__(self):
        if self.path == "-":
            return sys.stdout
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._file = open(tmp, "w", encoding="utf-8", newline="" if self.fmt == "csv" else None)
        return self._file

    def __exit__(self, *exc):
        if self.path == "-":
            sys.stdout.flush()
            return False
        self._file.close()
        return self._atomic.__exit__(*exc)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "python -m sentiment predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="a text file (one review a line), a CSV, TSV, JSON Lines or Parquet file, or -")
    p.add_argument("--out", required=True, help="the output: a .csv or .jsonl file, or - (CSV on standard output)")
    p.add_argument("--model", action="append", help="a model file (.keras); repeat for several (default: --models)")
    p.add_argument(
        "--models",
        default=os.environ.get("SENTIMENT_MODELS", "saved_models"),
        help="use every .keras model in this folder (default: $SENTIMENT_MODELS or saved_models)",
    )
    p.add_argument("--text-column", default="text", help="the column (or JSON field) of the texts (default: text)")
    p.add_argument(
        "--input-format",
        choices=["text", "csv", "tsv", "jsonl", "parquet"],
        help="how to read INPUT (default: by its suffix; text for - and other suffixes)",
    )
    p.add_argument("--batch-size", type=int, default=256, help="reviews per model call (default: 256)")
    p.add_argument("--with-text", action="store_true", help="also write each review's text")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="run the models in NumPy (no TensorFlow: a fast start) or Keras; auto (the default): NumPy, "
        "and Keras for a model file NumPy cannot read",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on standard error (default: when it is a terminal)",
    )
    return p


def main(argv=None, prog: str | None = None) -> int:
    p = build_parser(prog)
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error(f"--batch-size must be at least 1 (got {args.batch_size})")
    try:
        return run(args)
    except (PredictError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted: no output written (it is renamed into place only when complete).", file=sys.stderr)
        return 130
