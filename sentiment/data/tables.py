"""Your own reviews: a CSV (or TSV), JSON Lines or Parquet file as ``--data``.

    python train.py --data reviews.csv --text-column review --label-column sentiment
    python train.py --data train.jsonl --test-data test.jsonl --group-column product_id
    python -m sentiment check-table reviews.csv --text-column review   # check a table, train nothing

A table has a text column and a label column (``TableConfig``), and optionally
a group column: rows of one group stay on one side of the validation split
(and of the held-out test split), as IMDB's reviews of one movie do. Labels are
0/1 or any two distinct values (``"neg"``/``"pos"``, ``true``/``false``); the
later of two in sorted order is positive (class 1) unless ``--positive-label``
names it; the mapping is printed and recorded (``Reviews.label_map``, then
metrics.json's ``data.label_map``). Without ``--test-data``, a seeded,
stratified (or grouped) ``--test-fraction`` of the rows is held out as the test
set, used for the final figures only.

Every row is checked before any training; an error names the file, the row
and the column: a missing column, a third label, an empty text or label, bytes
that are not UTF-8, a class with no rows. Where a row is:

- CSV and TSV (``.csv``, ``.tsv``): the line on which its record starts (the
  header is line 1; a quoted field may span lines);
- JSON Lines (``.jsonl``, ``.ndjson``, ``.json``): its line (blank lines are
  skipped but counted);
- Parquet (``.parquet``): its row, from 1.

Each review's id (``Split.ids``, test_predictions.npz) is ``<file name>:<that
number>``, e.g. ``reviews.csv:17``, so a prediction leads back to its row.

**Streaming.** A file larger than ``stream_above`` MB (a --config setting) is not held in
memory: ``load_table`` reads it once, in order, to check every row and keep
what the splits need (each row's label, group and position: a few dozen bytes
a row), and the texts are read from the file again, in chunks, on each pass
(`TableTexts`). What then streams: the vectorizer's ``adapt`` (a tf.data
dataset over the file), tokenizing, every training epoch and the evaluation
(`sentiment.data.batches.StreamedIds`; shuffling within a buffer, not over the whole
file), the test lengths. What does not: the per-row label, group and id; the
TF-IDF baseline, whose matrix (and bigram vocabulary) is in memory (pass
``--no-baseline`` for a file too large for memory); and the test predictions
written at the end. Every pass reads and parses the file again, so a streamed
epoch is slower than one from memory. Parquet is read with pyarrow (a pinned
requirement), ``CHUNK`` rows at a time.

No TensorFlow here, except inside `TableTexts.dataset`.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np

from sentiment.core.settings import ConfigError, option
from sentiment.data.splits import DataError, Reviews, Split, clean
from sentiment.data.table_rows import FORMATS, Columns, checked_rows, stamp, table_format, unit
from sentiment.data.table_texts import TableTexts

MB = 1024 * 1024


@dataclass
class TableConfig:
    """Your own data: a CSV, JSON Lines or Parquet file as --data."""

    test_data: str | None = option(
        None,
        "a test file for a table --data (its text and label columns); its rows are used for the final figures only",
        default_text="a held-out --test-fraction of --data",
    )
    text_column: str = option("text", "a table's column of review texts")
    label_column: str = option("label", "a table's column of labels: 0/1, or any two distinct values")
    positive_label: str | None = option(
        None,
        "which of a table's two label values is positive (class 1)",
        default_text="1, or the later of the two in sorted order",
    )
    group_column: str | None = option(
        None,
        "a table's column of groups (e.g. a product id) whose rows stay on one side of the validation and "
        "held-out test splits, as IMDB's movies do",
        default_text="none: stratified splits",
    )
    test_fraction: float = option(0.2, "share of a table held out as the test set (without --test-data)")
    stream_above: float = option(
        1024.0,
        "a table file larger than this many MB is streamed (its texts read again on each pass) instead of held "
        "in memory",
        flag=False,
    )

    def validate(self) -> "TableConfig":
        if not 0 < self.test_fraction < 1:
            raise ConfigError("test_fraction", "must be in (0, 1)", self.test_fraction)
        if self.stream_above < 0:
            raise ConfigError("stream_above", "must be at least 0", self.stream_above)
        for name in ("text_column", "label_column"):
            if not getattr(self, name):
                raise ConfigError(name, "must name a column", getattr(self, name))
        return self

    @classmethod
    def from_options(cls, options: dict) -> "TableConfig":
        """The TableConfig of a run's recorded options (metrics.json's ``options``)."""
        return cls(**{k: options[k] for k in cls.__dataclass_fields__ if k in options})


class _Labels:
    """Label keys -> codes in the order first seen, refusing a third label."""

    def __init__(self, path: str, fmt: str, column: str):
        self.path, self.fmt, self.column = path, fmt, column
        self.codes: dict[str, int] = {}
        self.first: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def code(self, key: str, where: int) -> int:
        code = self.codes.get(key)
        if code is None:
            if len(self.codes) == 2:
                seen = ", ".join(f"{k!r} ({unit(self.fmt)} {w})" for k, w in self.first.items())
                raise DataError(
                    f"{self.path} {unit(self.fmt)} {where}, column {self.column!r}: a third label {key!r} "
                    f"(after {seen}). Labels must be 0/1 or two distinct values: filter or map the others."
                )
            code = self.codes[key] = len(self.codes)
            self.first[key] = where
            self.counts[key] = 0
        self.counts[key] += 1
        return code

    def mapping(self, positive: str | None) -> dict[str, int]:
        """{label: 0 or 1}; a DataError when a class has no rows."""
        keys = sorted(self.codes)
        if len(keys) < 2:
            if not keys:
                raise DataError(f"{self.path} has no rows: it needs reviews of both classes.")
            (only,) = keys
            other = {"0": "'1'", "1": "'0'"}.get(only, "a second label")
            raise DataError(
                f"{self.path}, column {self.column!r}: every row ({self.counts[only]:,}) has the label {only!r}; "
                f"the class of {other} has no rows. Both classes need reviews."
            )
        if positive is not None and positive not in keys:
            raise DataError(
                f"--positive-label {positive!r} is not a label of {self.path} (column {self.column!r} has "
                f"{keys[0]!r} and {keys[1]!r})."
            )
        pos = positive if positive is not None else keys[1]
        return {k: int(k == pos) for k in keys}


def _too_few(path: str, column: str, counts: dict[str, int], mapping: dict[str, int]) -> None:
    """Stratified splits need at least two rows of each class."""
    for key, n in counts.items():
        if n < 2:
            raise DataError(
                f"{path}, column {column!r}: the label {key!r} (class {mapping[key]}) has only {n} row; "
                "each class needs at least two to be split into training and test sets."
            )


def load_table(path: str | os.PathLike, config: TableConfig | None = None, seed: int = 1337) -> Reviews:
    """Training and test reviews from a table (and ``config.test_data``, or a
    seeded held-out split); see the module's docstring."""
    config = (config or TableConfig()).validate()
    path = os.fspath(path)
    fmt = _format_of(path, "--data")
    cols = Columns(config.text_column, config.label_column, config.group_column)
    labels = _Labels(path, fmt, cols.label)
    streamed = os.path.getsize(path) > config.stream_above * MB
    train_rows = _read(path, fmt, cols, labels, streamed)
    label_map = labels.mapping(config.positive_label)
    notes = []
    if sorted(label_map) != ["0", "1"] or label_map["1"] != 1:
        notes.append("labels: " + ", ".join(f"{k!r} -> {v}" for k, v in sorted(label_map.items(), key=_by_class)))
    if streamed:
        notes.append(f"{os.path.basename(path)} streamed: over stream_above = {config.stream_above:g} MB")
    train_all = train_rows.split(label_map)
    if config.test_data:
        test_path = os.fspath(config.test_data)
        test_fmt = _format_of(test_path, "--test-data")
        test_labels = _Labels(test_path, test_fmt, cols.label)
        test_streamed = os.path.getsize(test_path) > config.stream_above * MB
        # Groups only split the training rows: a test file needs no group column.
        test_cols = cols._replace(group=None)
        test_rows = _read(test_path, test_fmt, test_cols, test_labels, test_streamed, known=label_map)
        test = test_rows.split(label_map)
        train = train_all
        if len(test_labels.codes) < 2:
            notes.append(f"{os.path.basename(test_path)} has one class only: no ROC-AUC")
        source = f"table {path} (test: {test_path})"
    else:
        _too_few(path, cols.label, labels.counts, label_map)
        train, test = held_out(train_all, config.test_fraction, seed)
        how = f"grouped by {cols.group!r}" if cols.group else "stratified"
        notes.append(f"test set: {len(test):,} rows of {os.path.basename(path)} held out ({how}, seed {seed})")
        source = f"table {path}"
    return Reviews(train, test, source, notes, label_map=label_map, group_name=f"column {cols.group!r}")


def _by_class(item):
    return item[1]


def _format_of(path: str, option_name: str) -> str:
    if not os.path.isfile(path):
        raise DataError(f"{option_name} {path}: no such file.")
    fmt = table_format(path)
    if fmt is None:
        kinds = ", ".join(FORMATS)
        raise DataError(f"{option_name} {path}: expected a CSV, TSV, JSON Lines or Parquet file ({kinds}).")
    return fmt


class _Rows:
    """What one pass over a table kept: each row's position, label code and
    group, and its text (or a way to read the texts again)."""

    def __init__(self, path, fmt, cols, labels):
        self.path, self.fmt, self.cols, self.labels = path, fmt, cols, labels
        self.where = array("q")
        self.codes = array("b")
        self.groups: list[str] | None = [] if cols.group else None
        self.texts: list[str] | None = []
        self.stamp = stamp(path)

    def split(self, label_map: dict[str, int]) -> Split:
        by_code = np.zeros(max(len(self.labels.codes), 1), "int32")
        for key, code in self.labels.codes.items():
            by_code[code] = label_map[key]
        labels = by_code[np.frombuffer(self.codes, "int8").astype("int64")] if len(self.codes) else np.zeros(0, "int32")
        name = os.path.basename(self.path)
        ids = [f"{name}:{w}" for w in self.where]
        if self.texts is None:
            texts: Any = TableTexts(self.path, self.fmt, self.cols, np.arange(len(self.codes)), self.stamp)
        else:
            texts = self.texts
        return Split(texts, labels.astype("int32"), None if self.groups is None else np.array(self.groups), ids)


def _read(path, fmt, cols, labels: _Labels, streamed: bool, known: dict[str, int] | None = None) -> _Rows:
    rows = _Rows(path, fmt, cols, labels)
    if streamed:
        rows.texts = None
    for r in checked_rows(path, fmt, cols):
        if known is not None and r.label not in known:
            raise DataError(
                f"{path} {unit(fmt)} {r.where}, column {cols.label!r}: the label {r.label!r} is not one of the "
                f"training labels ({', '.join(repr(k) for k in known)})."
            )
        rows.where.append(r.where)
        rows.codes.append(labels.code(r.label, r.where))
        if rows.groups is not None:
            rows.groups.append(r.group)
        if rows.texts is not None:
            rows.texts.append(clean(r.text))
    if not rows.where:
        raise DataError(f"{path} has no rows: it needs reviews of both classes.")
    return rows


def held_out(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """(train, test): a seeded test share, grouped where the split has groups, else stratified."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split  # a second to import: only here

    index = np.arange(len(split))
    if split.groups is not None:
        if len(set(split.groups.tolist())) < 2:
            raise DataError("--group-column: every row is in one group, so no test set can be held out by group.")
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        train, test = next(splitter.split(index, split.labels, groups=split.groups))
    else:
        train, test = train_test_split(index, test_size=fraction, random_state=seed, stratify=split.labels)
    return split.subset(np.sort(train)), split.subset(np.sort(test))
