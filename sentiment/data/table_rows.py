"""A table file as rows, in each of its formats: CSV and TSV, JSON Lines,
Parquet (and one review a line, for `predict`), read lazily and in order, each
row checked into a review with a label (`checked_rows`) or handed back with
the problem that stops it. `sentiment.data.tables` loads a table from them;
`sentiment.cli.predict` reads its inputs with `read_rows`.

Where a row is: CSV and TSV, the line on which its record starts (the header
is line 1; a quoted field may span lines); JSON Lines, its line (blank lines
are skipped but counted); Parquet, its row, from 1. No TensorFlow here.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any, NamedTuple

import numpy as np

from sentiment.data.splits import DataError

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


class Columns(NamedTuple):
    text: str
    label: str
    group: str | None

    def wanted(self) -> list[str]:
        return [self.text, self.label] + ([self.group] if self.group else [])


class Checked(NamedTuple):
    where: int
    text: str
    label: str
    group: str | None


def checked_rows(path: str, fmt: str, cols: Columns) -> Iterator[Checked]:
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
            yield Checked(row.where, text, label, group)
    except DataError:
        raise
    except OSError as err:
        raise DataError(f"Cannot read {name}: {err}.") from err


def stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
