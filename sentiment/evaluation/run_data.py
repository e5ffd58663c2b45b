"""The reviews a run was trained, validated and tested on, made again from
what its metrics.json recorded (the data's limit, the validation fraction and
the seed): for the commands that measure a committed run afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from sentiment.data.imdb import load_reviews
from sentiment.data.splits import Split, limit, train_val_split
from sentiment.data.tables import TableConfig
from sentiment.evaluation.results import RunMetrics


@dataclass(frozen=True)
class RunData:
    source: str  # where the reviews were read from
    seed: int  # the run's seed: its splits' and its baselines'
    train: Split
    val: Split
    test: Split


def run_data(metrics: RunMetrics, data: str | None = None) -> RunData:
    """The run's three splits, from ``data`` (the aclImdb folder, its .tar.gz, or
    the run's own table): raises `DataError` where it cannot be read."""
    seed = int(metrics.options.get("seed", 1337))
    reviews = load_reviews(data, TableConfig.from_options(metrics.options), seed)
    train, val = train_val_split(
        limit(reviews.train, metrics.data.limit, seed), float(metrics.options.get("val_fraction", 0.1)), seed
    )
    return RunData(reviews.source, seed, train, val, limit(reviews.test, metrics.data.limit, seed))
