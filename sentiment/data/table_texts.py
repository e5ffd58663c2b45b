"""The texts of a streamed table (`sentiment.data.tables`, a file larger than
``stream_above`` MB): read from the file again on each pass, never all held."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sentiment.data.splits import DataError, clean
from sentiment.data.table_rows import CHUNK, Columns, checked_rows, stamp


class TableTexts:
    """The texts of some rows of a table file, read from the file again on
    each pass, in the file's order, ``CHUNK`` rows at a time: never all held.

    It is a read-once-in-order sequence: ``len``, iteration, `batches`,
    `dataset` (tf.data) and `subset` (rows by position, in order). Indexing a
    single text is refused: it would read the file up to that row.
    """

    def __init__(self, path: str, fmt: str, cols: Columns, rows: np.ndarray, stamp: tuple[int, int]):
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
        if stamp(self.path) != self.stamp:
            raise DataError(f"{self.path} changed while it was being read: run again.")
        wanted, n = self.rows, len(self.rows)
        if not n:
            return
        k = 0
        for position, row in enumerate(checked_rows(self.path, self.fmt, self.cols)):
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
