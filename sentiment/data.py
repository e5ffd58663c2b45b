"""IMDB reviews: loading (tfds or the Stanford aclImdb release), splits, batches.

Sources:
- ``None``: tensorflow-datasets ``imdb_reviews``, used straight away when tfds
  already prepared it on this machine, else downloaded (a quick network check
  first, since offline tfds retries for minutes).
- a path: the official ``aclImdb`` layout, as a folder or a ``.tar.gz``:
  ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` and, optionally,
  ``urls_{pos,neg}.txt`` (line N is the movie of review N), used to keep each
  movie's reviews on one side of the train/validation split.
- a CSV, JSON Lines or Parquet file of your own reviews: see `sentiment.tables`
  (columns, labels, an optional test file or a held-out split, and the
  streaming of files too large for memory: `StreamedIds` below).
"""

from __future__ import annotations

import os
import re
import socket
import tarfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

# TensorFlow is imported where datasets are built, so that train.py can check
# --data (check_source) before it spends seconds loading TensorFlow.

SPLITS = ("train", "test")
CLASSES = ("neg", "pos")  # label 0, 1
TFDS_HOST = ("ai.stanford.edu", 80)  # where tfds downloads imdb_reviews from
_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
SORT_CHUNK = 32  # training batches sorted by length together, per chunk
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


class DataError(ValueError):
    """The data source is missing, unreachable or malformed."""


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # int 0/1
    # texts: a list, or a sentiment.tables.TableTexts read from its file on each pass (a streamed table)
    groups: np.ndarray | None = None  # movie of each review, where known
    ids: list[str] | None = None  # where the review comes from: "test/pos/123_9" (aclImdb), "test/17" (tfds),
    # "reviews.csv:17" (a table: its line, or row for Parquet)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index) -> "Split":
        index = np.asarray(index)
        return Split(
            self.texts.subset(index) if hasattr(self.texts, "subset") else [self.texts[i] for i in index],
            self.labels[index],
            None if self.groups is None else self.groups[index],
            None if self.ids is None else [self.ids[i] for i in index],
        )


@dataclass
class Imdb:
    train: Split
    test: Split
    source: str
    notes: list[str] = field(default_factory=list)
    label_map: dict[str, int] | None = None  # a table's labels -> 0/1 (None: IMDB's neg/pos)
    group_name: str = "movie"  # what Split.groups are, for "grouped by ..."


def clean(text: str) -> str:
    """Replace the reviews' HTML line breaks with spaces."""
    return _BR.sub(" ", text)


def check_source(path: str | os.PathLike) -> str:
    """``"folder"``, ``"archive"`` or ``"table"``: what kind of source ``path``
    is (an aclImdb folder, its .tar.gz, or a CSV/JSON Lines/Parquet file), or a
    DataError saying what is wrong with it. Reads nothing; needs no TensorFlow."""
    from sentiment.tables import FORMATS, table_format

    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(
            f"--data {path}: no such file or folder. Point it at an aclImdb folder or its .tar.gz, or a "
            "CSV, JSON Lines or Parquet file."
        )
    if os.path.isdir(path):
        return "folder"
    if path.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    if table_format(path):
        return "table"
    raise DataError(
        f"--data {path}: expected an aclImdb folder or its .tar.gz ({', '.join(ARCHIVE_SUFFIXES)}), or a table "
        f"({', '.join(FORMATS)}), not this file."
    )


def load_imdb(path: str | os.PathLike | None = None, table=None, seed: int = 1337) -> Imdb:
    """The 25k/25k IMDB reviews from ``path`` (an aclImdb folder or its .tar.gz)
    or tfds, or your own from a table file: ``table`` (a
    `sentiment.tables.TableConfig`) names its columns, and ``seed`` seeds its
    held-out test split."""
    kind = None if path is None else check_source(path)
    if kind == "table":
        from sentiment.tables import load_table

        return load_table(path, table, seed)
    if table is not None and table.test_data:
        raise DataError("--test-data is for a table --data (CSV, JSON Lines, Parquet); IMDB has its own test set.")
    if path is None:
        return _load_tfds()
    path = os.fspath(path)
    if kind == "folder":
        return _from_files(_folder_files(path), f"aclImdb folder {path}")
    return _from_files(_archive_files(path), f"aclImdb archive {path}")


def _folder_files(root: str) -> dict[str, bytes]:
    """Relative path (from aclImdb/) -> bytes, for the files we read."""
    base = os.path.join(root, "aclImdb") if os.path.isdir(os.path.join(root, "aclImdb")) else root
    files = {}
    for split in SPLITS:
        for cls in CLASSES:
            folder = os.path.join(base, split, cls)
            if not os.path.isdir(folder):
                continue
            for name in os.listdir(folder):
                if _NAME.match(name):
                    files[f"{split}/{cls}/{name}"] = _read(os.path.join(folder, name))
            urls = os.path.join(base, split, f"urls_{cls}.txt")
            if os.path.isfile(urls):
                files[f"{split}/urls_{cls}.txt"] = _read(urls)
    return files


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror}. Check its permissions.") from err


def _archive_files(path: str) -> dict[str, bytes]:
    files = {}
    wanted = re.compile(r"(?:^|/)((?:train|test)/(?:(?:pos|neg)/\d+_\d+\.txt|urls_(?:pos|neg)\.txt))$")
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                m = wanted.search(member.name)
                if m and member.isfile():
                    files[m.group(1)] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"Cannot read archive {path} ({err}): it may be truncated; download it again.") from err
    return files


def _from_files(files: dict[str, bytes], source: str) -> Imdb:
    splits, notes = {}, []
    for split in SPLITS:
        texts, labels, groups, ids = [], [], [], []
        for label, cls in enumerate(CLASSES):
            names = sorted((k for k in files if k.startswith(f"{split}/{cls}/")), key=_review_id)
            if not names:
                raise DataError(
                    f"{source}: no reviews in {split}/{cls}/. The aclImdb layout is "
                    "aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt."
                )
            urls = files.get(f"{split}/urls_{cls}.txt")
            movies = urls.decode("utf-8", "replace").splitlines() if urls else None
            for name in names:
                try:
                    text = files[name].decode("utf-8")
                except UnicodeDecodeError as err:
                    raise DataError(f"{source}: {name} is not UTF-8 text ({err.reason}).") from err
                texts.append(clean(text))
                labels.append(label)
                ids.append(name[: -len(".txt")])
                rid = _review_id(name)
                groups.append(movies[rid].strip() if movies and rid < len(movies) else None)
        has_groups = all(g is not None for g in groups)
        if not has_groups:
            notes.append(f"{split}: no urls_*.txt, so the validation split is stratified, not grouped by movie")
        splits[split] = Split(texts, np.array(labels, dtype="int32"), np.array(groups) if has_groups else None, ids)
    return Imdb(splits["train"], splits["test"], source, notes)


def _review_id(name: str) -> int:
    return int(_NAME.match(name.rsplit("/", 1)[-1]).group(1))


def _load_tfds() -> Imdb:
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise DataError(
            f"tensorflow-datasets cannot be imported ({err}). Install the requirements "
            "(pip install -r requirements.txt), or read a local copy with --data PATH."
        ) from err
    builder = tfds.builder("imdb_reviews")
    if not builder.is_prepared():
        try:
            socket.create_connection(TFDS_HOST, timeout=3).close()
        except OSError as err:
            raise DataError(
                "tensorflow-datasets has no prepared copy of imdb_reviews on this machine and "
                f"cannot reach {TFDS_HOST[0]} to download it ({err}). Without network access, "
                "pass --data PATH to read the Stanford release (an aclImdb folder or its .tar.gz)."
            ) from err
        builder.download_and_prepare()
    splits = {}
    for split in SPLITS:
        texts, labels = [], []
        for text, label in tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True)):
            texts.append(clean(text.decode("utf-8")))
            labels.append(int(label))
        splits[split] = Split(texts, np.array(labels, dtype="int32"), ids=[f"{split}/{i}" for i in range(len(texts))])
    note = "tfds gives no movie ids, so the validation split is stratified, not grouped by movie"
    return Imdb(splits["train"], splits["test"], "tensorflow-datasets imdb_reviews", [note])


def limit(split: Split, n: int | None, seed: int) -> Split:
    """A seeded, class-balanced random subset of ``n`` reviews (all if None)."""
    if n is None or n >= len(split):
        return split
    rng = np.random.default_rng(seed)
    pos = rng.permutation(np.flatnonzero(split.labels == 1))[: n // 2]
    neg = rng.permutation(np.flatnonzero(split.labels == 0))[: n - n // 2]
    return split.subset(np.sort(np.concatenate([pos, neg])))


def train_val_split(train: Split, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """Validation carved from train: grouped by movie where known, else stratified."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    index = np.arange(len(train))
    if train.groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
        fit, val = next(splitter.split(index, train.labels, groups=train.groups))
    else:
        fit, val = train_test_split(index, test_size=val_fraction, random_state=seed, stratify=train.labels)
    return train.subset(np.sort(fit)), train.subset(np.sort(val))


def text_batches(texts, batch_size: int = 1024):
    """Lists of up to ``batch_size`` texts, in order: slices of a list, or
    chunks read from the file of a streamed table's texts."""
    if hasattr(texts, "batches"):
        yield from texts.batches(batch_size)
        return
    for start in range(0, len(texts), batch_size):
        yield list(texts[start : start + batch_size])


def adaptable(texts, batch_size: int = 1024):
    """What a TextVectorization's ``adapt`` reads: the texts themselves, or, for
    a streamed table, a tf.data dataset of them batched (read from the file as
    ``adapt`` consumes it)."""
    if hasattr(texts, "dataset"):
        return texts.dataset().batch(batch_size)
    return texts


class StreamedIds:
    """The kept token ids of a streamed table's texts, computed again on each
    pass over the file (never all held): what `token_ids` returns for texts
    that are not a list. `batches` and `evaluate.predict_token_ids` stream
    them; iterating gives each review's ids, in order."""

    def __init__(self, texts, to_ids, batch_size: int = 1024):
        self.texts, self.to_ids, self.batch_size = texts, to_ids, batch_size

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        import tensorflow as tf

        for batch in text_batches(self.texts, self.batch_size):
            ids = np.asarray(self.to_ids(tf.constant(batch)))
            for row, n in zip(ids, np.count_nonzero(ids, axis=1)):
                yield row[:n].copy()


def token_ids(texts: list[str], to_ids, batch_size: int = 1024) -> list[np.ndarray] | StreamedIds:
    """Each text's kept token ids (no padding), from a text -> ids model
    (for a streamed table's texts: a `StreamedIds`, computed as it is read)."""
    import tensorflow as tf

    if not isinstance(texts, (list, tuple)):
        return StreamedIds(texts, to_ids, batch_size)
    out = []
    for start in range(0, len(texts), batch_size):
        ids = np.asarray(to_ids(tf.constant(texts[start : start + batch_size])))
        lengths = np.count_nonzero(ids, axis=1)
        out.extend(row[:n] for row, n in zip(ids, lengths))
    return out


def token_counts(texts: list[str], vectorize, batch_size: int = 1024) -> np.ndarray:
    """Each text's number of tokens before any length limit, from a
    TextVectorization (or any text -> right-padded ids function)."""
    import tensorflow as tf

    counts = []
    for batch in text_batches(texts, batch_size):
        counts.append(np.count_nonzero(np.asarray(vectorize(tf.constant(batch))), axis=1))
    return np.concatenate(counts) if counts else np.zeros(0, "int64")


def batches(
    ids: list[np.ndarray], labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0
) -> tf.data.Dataset:
    """(ids, label) batches, right-padded with 0 only to their own longest review.

    Evaluation batches (``shuffle=False``) come sorted by length. Training
    batches are "sortish": each epoch shuffles the reviews, sorts them by length
    within chunks of ``SORT_CHUNK`` batches (little padding), and shuffles the
    batches. Every training batch holds exactly ``batch_size`` reviews (the
    last one is topped up with the start of the next shuffle), so the batch size
    is static in the traced training step: on this CPU that makes a step about
    twice as fast as with an unknown batch size (see benchmark.py).

    ``ids`` may be a `StreamedIds` (a table too large for memory): then the
    batches are read from the file as they are used; see `_streamed_batches`.
    """
    import tensorflow as tf

    if isinstance(ids, StreamedIds):
        return _streamed_batches(ids, labels, batch_size, shuffle, seed)
    lengths = np.array([max(len(x), 1) for x in ids])
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        ids, labels, lengths = [ids[i] for i in order], labels[order], lengths[order]
    flat = np.concatenate([x if len(x) else np.zeros(1, "int64") for x in ids]).astype("int64")
    reviews = tf.RaggedTensor.from_row_lengths(flat, lengths.astype("int64"))
    y = tf.constant(labels.astype("float32"))

    def gather(i):
        return tf.gather(reviews, i).to_tensor(), tf.gather(y, i)

    if not shuffle:
        return tf.data.Dataset.range(len(ids)).batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)

    size = min(batch_size, len(ids))
    steps = -(-len(ids) // size)
    chunk = size * SORT_CHUNK
    review_lengths = tf.constant(lengths)

    def by_length(i):
        return tf.gather(i, tf.argsort(tf.gather(review_lengths, i), stable=True))

    rows = (
        tf.data.Dataset.range(len(ids))
        .shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .take(steps * size)
        .batch(chunk)
        .map(by_length)
        .unbatch()
        .batch(size, drop_remainder=True)
        .shuffle(SORT_CHUNK, seed=seed, reshuffle_each_iteration=True)
    )

    def gather_full(i):
        x, labels = gather(i)
        return tf.ensure_shape(x, [size, None]), labels

    # A known length gives progress bars their total.
    return rows.map(gather_full).apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)


STREAM_SHUFFLE = 8192  # reviews shuffled together when a table is streamed


def _streamed_batches(ids: StreamedIds, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0):
    """`batches` for a streamed table: the same padding and, for training,
    the same static batch size and topping-up, but evaluation batches come in
    the file's order (not sorted by length), and training shuffles within a
    buffer of ``STREAM_SHUFFLE`` reviews (then sorts by length within chunks of
    ``SORT_CHUNK`` batches) instead of over the whole set, which is never held."""
    import tensorflow as tf

    labels = np.asarray(labels, "float32")

    def rows():
        for x, y in zip(ids, labels):
            yield x.astype("int64"), y

    spec = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([], tf.float32))
    reviews = tf.data.Dataset.from_generator(rows, output_signature=spec)
    if not shuffle:
        steps = -(-len(ids) // batch_size)
        padded = reviews.padded_batch(batch_size).apply(tf.data.experimental.assert_cardinality(steps))
        return padded.prefetch(tf.data.AUTOTUNE)
    size = min(batch_size, len(ids))
    steps = -(-len(ids) // size)

    def by_length(x, y):
        order = tf.argsort(x.row_lengths(), stable=True)
        return tf.gather(x, order), tf.gather(y, order)

    batched = (
        reviews.shuffle(STREAM_SHUFFLE, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .take(steps * size)
        .ragged_batch(size * SORT_CHUNK)
        .map(by_length)
        .unbatch()
        .ragged_batch(size, drop_remainder=True)
        .map(lambda x, y: (tf.ensure_shape(x.to_tensor(), [size, None]), y))
        .shuffle(SORT_CHUNK, seed=seed, reshuffle_each_iteration=True)
    )
    return batched.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)
