"""memory.json, typed: what `python -m sentiment memory` measured
(`sentiment.experiments.memory`), read once and checked, so the app and the
report ask for ``results.textbook.summary`` and never find out late that a
key is missing. No TensorFlow here: the app reads this file before its
models are loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sentiment.core.schema import from_json, read_json

RESULTS = "memory.json"  # beside the lesson models: `python -m sentiment memory` writes it, the app reads it
PARTS = ("textbook", "chrono", "real")  # in the order the command makes them
DISTANCES = (5, 10, 20, 50, 100, 200, 400)  # the textbook task's distractors: the memory command's, the ablation's


class MemoryFileError(ValueError):
    """memory.json is missing, unreadable or not what the memory command writes."""


@dataclass(frozen=True)
class TaskSettings:
    """What every run of the textbook task shares, whatever its cell."""

    units: int = 32
    embedding_dim: int = 16
    steps: int = 600
    batch: int = 32
    learning_rate: float = 3e-3
    clipnorm: float = 1.0
    eval_every: int = 25
    eval_size: int = 256
    test_size: int = 1000
    # A run stops at the first evaluation whose validation accuracy reaches
    # this (None: every step is trained): a solved task learns nothing more,
    # and a long budget is then spent only where the bit is not yet kept.
    stop_at: float | None = None
    # Runs of at least this many distractors compile their training step with
    # XLA (None: none): the same maths (not the same rounding), 4-7x faster steps on
    # a long sequence on 2 CPU cores, 2 s to compile: worth it only where a run is long.
    jit_from: int | None = None


@dataclass(frozen=True)
class TaskRun:
    """One cell trained at one distance with one seed."""

    cell: str
    distance: int
    seed: int
    accuracy: float
    chrono: bool = False  # started with its gates open
    passed_95_at: int | None = None  # the first step whose validation accuracy reached 95%; None: never
    validation_curve: list[float] = field(default_factory=list)
    steps_run: int | None = None  # fewer than the settings' steps where the run stopped once solved (None: older files)
    reach_initial: float | None = None
    reach_trained: float | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Point:
    """A cell's test accuracy at one distance, over the seeds."""

    distance: int
    mean: float
    min: float
    max: float


@dataclass(frozen=True)
class Task:
    """The textbook task for some cells, from one start (default or chrono)."""

    settings: TaskSettings
    seeds: list[int]
    runs: list[TaskRun]
    summary: dict[str, list[Point]]  # by cell, by distance


@dataclass(frozen=True)
class Accuracy:
    """Pushed-away reviews read at one filler length."""

    tokens: int
    accuracy: float | None  # None: no review was chosen
    auc: float | None = None  # separation of positive and negative reviews (ROC-AUC); None: one class left


@dataclass(frozen=True)
class FillerAlone:
    """The filler read alone, as long as the probe's."""

    tokens: int
    mean: float  # mean P(positive)
    positive: float  # share read positive


@dataclass(frozen=True)
class Pushed:
    """One model's reviews with the filler after them and before them."""

    reviews: int
    after: list[Accuracy]
    before: list[Accuracy]
    filler_alone: list[FillerAlone]


@dataclass(frozen=True)
class Filler:
    rule: str  # how the neutral sentences were chosen, in words
    sentences: int
    kept: list[str]  # a sample, for the app's probe on a review of the user's


@dataclass(frozen=True)
class RealText:
    """Real verdicts pushed away from the end."""

    models: dict[str, Pushed]  # "lstm (last state)", "gru (pooled)", ...
    filler: Filler
    lengths: list[int]
    left_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MemoryResults:
    """Every part the command has made so far (a part it has not reached is None)."""

    textbook: Task | None = None
    chrono: Task | None = None
    real: RealText | None = None
    command: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data) -> MemoryResults:
        return from_json(cls, data, "memory")

    def parts(self) -> list[str]:
        """The parts made so far, in the command's order."""
        return [part for part in PARTS if getattr(self, part) is not None]


def load_memory(path: str | os.PathLike) -> MemoryResults:
    """The results `python -m sentiment memory` wrote, or `MemoryFileError` saying what is wrong and what to do."""
    return read_json(
        path,
        MemoryResults.from_json,
        MemoryFileError,
        missing=f"No {path} yet: `python -m sentiment memory --data PATH` makes it.",
        again="run `python -m sentiment memory --data PATH` to make it again",
    )
