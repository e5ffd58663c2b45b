"""Reviews as the rest of the project reads them: a `Split` of texts and
labels, the train and test splits of a source (`Reviews`), and the seeded
subsets a run takes of them. No TensorFlow here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


class DataError(ValueError):
    """The data source is missing, unreachable or malformed."""


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # int 0/1
    # texts: a list, or a sentiment.data.tables.TableTexts read from its file on each pass (a streamed table)
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


def concatenated(*splits: Split) -> Split:
    """One Split of ``splits``' texts, labels and ids in order (groups are dropped: they name movies of one source)."""
    ids = [i for s in splits for i in (s.ids or [""] * len(s))]
    return Split([t for s in splits for t in s.texts], np.concatenate([s.labels for s in splits]), ids=ids)


@dataclass
class Reviews:
    """The training and test reviews of one source (IMDB, or a table of your own)."""

    train: Split
    test: Split
    source: str
    notes: list[str] = field(default_factory=list)
    label_map: dict[str, int] | None = None  # a table's labels -> 0/1 (None: IMDB's neg/pos)
    group_name: str = "movie"  # what Split.groups are, for "grouped by ..."


def clean(text: str) -> str:
    """Replace the reviews' HTML line breaks with spaces."""
    return _BR.sub(" ", text)


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
    from sklearn.model_selection import GroupShuffleSplit, train_test_split  # a second to import: only here

    index = np.arange(len(train))
    if train.groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
        fit, val = next(splitter.split(index, train.labels, groups=train.groups))
    else:
        fit, val = train_test_split(index, test_size=val_fraction, random_state=seed, stratify=train.labels)
    return train.subset(np.sort(fit)), train.subset(np.sort(val))
