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

import csv
import json
import os
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

import numpy as np

from sentiment.core.settings import ConfigError, option
from sentiment.data.splits import DataError, Reviews, Split, clean

# Suffix -> format. ".json" is read as JSON Lines (one object a line).
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
CHUNK = 1024  # rows read (and handed to tf.data) at a time
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


def table_format(path: str | os.PathLike) -> str | None:
    """``"csv"``, ``"tsv"``, ``"jsonl"`` or ``"parquet"`` from the file's suffix; None if none of them."""
    return FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())


class Row(NamedTuple):
    """One record of a table, as read: ``where`` is its line (CSV, JSON Lines,
    plain text) or row (Parquet); ``values`` the wanted columns it has;
    ``problem`` why it cannot be read (not UTF-8, not JSON, too few fields), else None."""

    where: int
    values: dict[str, Any]
    problem: str | None = None


def unit(fmt: str) -> str:
    """What ``Row.where`` counts in this format."""
    return "row" if fmt == "parquet" else "line"


def read_rows(
    source: str | os.PathLike | IO[bytes],
    fmt: str,
    columns: list[str],
    name: str | None = None,
    hints: dict[str, str] | None = None,
) -> Iterator[Row]:
    """Every record of ``source`` (a path, or a binary stream for the text
    formats), lazily, in order, with the wanted ``columns``.

    ``fmt``: ``"csv"``, ``"tsv"``, ``"jsonl"``, ``"parquet"`` or ``"text"`` (one
    review a line: the value of ``columns[0]``). A column missing from a CSV's
    header or a Parquet schema is a DataError at once; a JSON line without it
    is a Row without it. Rows that cannot be read come back with their
    ``problem``, never skipped (except blank lines of the text formats other
    than ``"text"``). ``hints`` names the option behind a column, for messages.
    """
    name = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<stdin>")
    if fmt == "parquet":
        yield from _parquet_rows(source, columns, name, hints)
        return
    with _open(source, name) as f:
        lines = _decoded_lines(f)
        if fmt in ("csv", "tsv"):
            yield from _csv_rows(lines, columns, name, "\t" if fmt == "tsv" else ",", hints)
        elif fmt == "jsonl":
            yield from _json_rows(lines, columns, name)
        elif fmt == "text":
            for number, line, problem in lines:
                yield Row(number, {columns[0]: line.rstrip("\r\n")}, problem)
        else:
            raise ValueError(f"unknown table format {fmt!r}")


class _open:
    """A path opened in binary, or a stream passed through (and not closed)."""

    def __init__(self, source, name):
        self.source, self.name, self.file = source, name, None

    def __enter__(self) -> IO[bytes]:
        if isinstance(self.source, (str, os.PathLike)):
            try:
                self.file = open(self.source, "rb")
            except OSError as err:
                raise DataError(f"Cannot read {self.name}: {err.strerror}.") from err
            return self.file
        return self.source

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()


def _decoded_lines(f: IO[bytes]) -> Iterator[tuple[int, str, str | None]]:
    """(line number from 1, text with its line ending, problem): a line that
    is not UTF-8 comes back decoded with replacement characters and its problem."""
    for number, raw in enumerate(f, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8"), None
        except UnicodeDecodeError as err:
            yield (
                number,
                raw.decode("utf-8", "replace"),
                f"not UTF-8 text ({err.reason} at byte {err.start} of the line); save the file as UTF-8",
            )


def _csv_rows(lines, columns: list[str], name: str, delimiter: str, hints=None) -> Iterator[Row]:
    csv.field_size_limit(2**31 - 1)  # reviews can be longer than the default 128 KiB
    problems: dict[int, str] = {}

    def text():
        for number, line, problem in lines:
            if problem:
                problems[number] = problem
            yield line

    reader = csv.reader(text(), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{name} is empty: a table needs a header line naming its columns.") from None
    except csv.Error as err:
        raise DataError(f"{name} line 1 (the header) is not CSV: {err}.") from err
    header = [h.strip() for h in header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{name}: {_no_columns(missing, hints)}; its header has {_listed(header)}.")
    index = {c: header.index(c) for c in columns}
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield Row(start, {}, f"not CSV ({err})")
            start = reader.line_num + 1
            continue
        end, first = reader.line_num, start
        start = end + 1
        if not fields:  # a blank line
            continue
        bad = next((problems.pop(n) for n in range(first, end + 1) if n in problems), None)
        values = {c: fields[i] for c, i in index.items() if i < len(fields)}
        if bad is not None:
            bad = _in_column(values, bad)
        elif len(fields) < len(header):
            short = [c for c, i in index.items() if i >= len(fields)]
            if short:
                bad = f"{len(fields)} field(s), the header {len(header)}: no value for {_listed(short)}"
        yield Row(first, values, bad)


def _in_column(values: dict[str, Any], problem: str) -> str:
    """An undecodable line's problem, naming the wanted column that holds the
    bytes (they were decoded as U+FFFD) where one does."""
    columns = [c for c, v in values.items() if isinstance(v, str) and "\ufffd" in v]
    return f"column {columns[0]!r}: {problem}" if columns else problem


def _json_rows(lines, columns: list[str], name: str) -> Iterator[Row]:
    for number, line, problem in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            array_start = number == 1 and line.lstrip()[:1] == "["
            hint = " (a .json file must be JSON Lines: one object a line)" if array_start else ""
            yield Row(number, {}, problem or f"not a JSON object ({err}){hint}")
            continue
        if not isinstance(record, dict):
            hint = " (a .json file must be JSON Lines: one object a line)" if isinstance(record, list) else ""
            yield Row(number, {}, problem or f"not a JSON object but {type(record).__name__}{hint}")
            continue
        values = {c: record[c] for c in columns if c in record}
        yield Row(number, values, problem and _in_column(values, problem))


def _parquet_rows(source, columns: list[str], name: str, hints=None) -> Iterator[Row]:
    if not isinstance(source, (str, os.PathLike)):
        raise DataError("Parquet cannot be read from a stream: pass the file's path.")
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise DataError(f"Reading {name} needs pyarrow: pip install -r requirements.txt ({err}).") from err
    try:
        table = pq.ParquetFile(source)
    except OSError as err:  # pyarrow's ArrowInvalid is an OSError... or a ValueError
        raise DataError(f"Cannot read {name} as Parquet ({err}).") from err
    except ValueError as err:
        raise DataError(f"Cannot read {name} as Parquet ({err}).") from err
    names = table.schema_arrow.names
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(f"{name}: {_no_columns(missing, hints)}; its columns are {_listed(names)}.")
    wanted = list(dict.fromkeys(columns))
    number = 0
    for batch in table.iter_batches(batch_size=CHUNK, columns=wanted):
        data = batch.to_pydict()
        for i in range(batch.num_rows):
            number += 1
            values, problem = {}, None
            for c in wanted:
                v = data[c][i]
                if isinstance(v, bytes):  # a binary column: it should hold UTF-8 text
                    try:
                        v = v.decode("utf-8")
                    except UnicodeDecodeError as err:
                        problem = problem or f"column {c!r}: not UTF-8 text ({err.reason} at byte {err.start})"
                values[c] = v
            yield Row(number, values, problem)


def _no_columns(missing: list[str], hints: dict[str, str] | None) -> str:
    hints = hints or {}
    return "no column " + " or ".join(repr(c) + (f" ({hints[c]})" if c in hints else "") for c in missing)


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:20])
    return (shown + f" and {len(names) - 20} more") if len(names) > 20 else (shown or "no columns")


def label_key(value: Any) -> str | None:
    """A label cell as a string key: 0, 1.0, True and "1" are all ``"1"``;
    None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if value != value:  # NaN: an empty cell in pandas-written files
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    return text or None


def group_key(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


class _Columns(NamedTuple):
    text: str
    label: str
    group: str | None

    def wanted(self) -> list[str]:
        return [self.text, self.label] + ([self.group] if self.group else [])


class _Checked(NamedTuple):
    where: int
    text: str
    label: str
    group: str | None


def _checked_rows(path: str, fmt: str, cols: _Columns) -> Iterator[_Checked]:
    """Every row of a table, checked: a DataError naming the file, the row and
    the column for the first one that is not a review with a label."""
    name = os.path.basename(path)
    where = unit(fmt)
    option_of = {cols.text: "--text-column", cols.label: "--label-column", cols.group: "--group-column"}
    try:
        for row in read_rows(path, fmt, cols.wanted(), name=path, hints=option_of):
            at = f"{path} {where} {row.where}"
            if row.problem:
                sep = ", " if row.problem.startswith("column ") else ": "
                raise DataError(f"{at}{sep}{row.problem}.")
            for column in cols.wanted():
                if column not in row.values:
                    raise DataError(f"{at}: no {column!r} field ({option_of[column]}).")
            text = row.values[cols.text]
            if text is not None and not isinstance(text, str):
                raise DataError(f"{at}, column {cols.text!r}: a text must be a string, not {json.dumps(text)[:40]}.")
            if text is None or not text.strip():
                raise DataError(f"{at}, column {cols.text!r}: empty text. Remove the row or give it its review.")
            label = label_key(row.values[cols.label])
            if label is None:
                raise DataError(f"{at}, column {cols.label!r}: empty label.")
            group = None
            if cols.group:
                group = group_key(row.values[cols.group])
                if group is None:
                    raise DataError(f"{at}, column {cols.group!r}: empty group.")
            yield _Checked(row.where, text, label, group)
    except DataError:
        raise
    except OSError as err:
        raise DataError(f"Cannot read {name}: {err}.") from err


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
    cols = _Columns(config.text_column, config.label_column, config.group_column)
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
        self.stamp = _stamp(path)

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
    for r in _checked_rows(path, fmt, cols):
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


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


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


class TableTexts:
    """The texts of some rows of a table file, read from the file again on
    each pass, in the file's order, ``CHUNK`` rows at a time: never all held.

    It is a read-once-in-order sequence: ``len``, iteration, `batches`,
    `dataset` (tf.data) and `subset` (rows by position, in order). Indexing a
    single text is refused: it would read the file up to that row.
    """

    def __init__(self, path: str, fmt: str, cols: _Columns, rows: np.ndarray, stamp: tuple[int, int]):
        self.path, self.fmt, self.cols, self.stamp = path, fmt, cols, stamp
        self.rows = np.asarray(rows, "int64")  # positions of the file's records (0-based), increasing

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"TableTexts({self.path!r}, {len(self):,} rows)"

    def __getitem__(self, i):
        raise TypeError(f"{self!r} is read in order from the file: iterate over it (or use .batches()).")

    def subset(self, index) -> "TableTexts":
        index = np.asarray(index, "int64")
        if len(index) > 1 and np.any(np.diff(index) <= 0):
            raise ValueError("TableTexts.subset needs increasing positions: the file is read in order.")
        return TableTexts(self.path, self.fmt, self.cols, self.rows[index], self.stamp)

    def __iter__(self) -> Iterator[str]:
        if _stamp(self.path) != self.stamp:
            raise DataError(f"{self.path} changed while it was being read: run again.")
        wanted, n = self.rows, len(self.rows)
        if not n:
            return
        k = 0
        for position, row in enumerate(_checked_rows(self.path, self.fmt, self.cols)):
            if position == wanted[k]:
                yield clean(row.text)
                k += 1
                if k == n:
                    return
        raise DataError(f"{self.path} has fewer rows than when it was first read: run again.")

    def batches(self, size: int = CHUNK) -> Iterator[list[str]]:
        batch = []
        for text in self:
            batch.append(text)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def dataset(self):
        """A tf.data.Dataset of the texts (scalar strings), read from the file as it is consumed."""
        import tensorflow as tf  # only for a streamed table: this module is read before TensorFlow loads

        return tf.data.Dataset.from_generator(lambda: iter(self), output_signature=tf.TensorSpec((), tf.string)).apply(
            tf.data.experimental.assert_cardinality(len(self))
        )
