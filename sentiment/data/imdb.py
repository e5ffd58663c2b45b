"""Loading reviews: IMDB (tfds or the Stanford aclImdb release) or a table.

Sources:
- ``None``: tensorflow-datasets ``imdb_reviews``, used straight away when tfds
  already prepared it on this machine, else downloaded (a quick network check
  first, since offline tfds retries for minutes).
- a path: the official ``aclImdb`` layout, as a folder or a ``.tar.gz``:
  ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` and, optionally,
  ``urls_{pos,neg}.txt`` (line N is the movie of review N), used to keep each
  movie's reviews on one side of the train/validation split.
- a CSV, JSON Lines or Parquet file of your own reviews: see
  `sentiment.data.tables` (columns, labels, an optional test file or a
  held-out split, and the streaming of files too large for memory).

No TensorFlow at import: train.py checks --data (`check_source`) before it
spends seconds loading TensorFlow.
"""

from __future__ import annotations

import os
import re
import socket
import tarfile

import numpy as np

from sentiment.data.splits import DataError, Reviews, Split, clean
from sentiment.data.table_rows import FORMATS, table_format
from sentiment.data.tables import load_table

SPLITS = ("train", "test")
CLASSES = ("neg", "pos")  # label 0, 1
TFDS_HOST = ("ai.stanford.edu", 80)  # where tfds downloads imdb_reviews from
_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def check_source(path: str | os.PathLike) -> str:
    """``"folder"``, ``"archive"`` or ``"table"``: what kind of source ``path``
    is (an aclImdb folder, its .tar.gz, or a CSV/JSON Lines/Parquet file), or a
    DataError saying what is wrong with it. Reads nothing; needs no TensorFlow."""

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


def load_reviews(path: str | os.PathLike | None = None, table=None, seed: int = 1337) -> Reviews:
    """The 25k/25k IMDB reviews from ``path`` (an aclImdb folder or its .tar.gz)
    or tfds, or your own from a table file: ``table`` (a
    `sentiment.data.tables.TableConfig`) names its columns, and ``seed`` seeds its
    held-out test split."""
    kind = None if path is None else check_source(path)
    if kind == "table":
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


def _from_files(files: dict[str, bytes], source: str) -> Reviews:
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
    return Reviews(splits["train"], splits["test"], source, notes)


def _review_id(name: str) -> int:
    return int(_NAME.match(name.rsplit("/", 1)[-1]).group(1))


def _load_tfds() -> Reviews:
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
    return Reviews(splits["train"], splits["test"], "tensorflow-datasets imdb_reviews", [note])
