"""metrics.json: what a train.py run measured, as typed dataclasses.

train.py writes a ``RunMetrics`` with ``write_run_metrics``; the report, the
app's charts and anyone else read it with ``load_run_metrics``, which checks
the file's version and shape and raises ``MetricsFileError`` (naming the file
and what to do) rather than a KeyError somewhere later.

Versions: 1 (no ``version`` key) until the schema was written down; 2 adds
``version``, nests the baseline's test figures under ``test`` like the
models', and calls the command-line options ``options``; 3 (``--seeds``)
keeps every training run of a cell (``runs``), holds several baselines by
name (``baselines``, was ``baseline``), ensembles, and the paired tests
between models (``comparisons``); 4 drops the fields of the training routes
that were measured and not adopted (``models.*.pretraining``, ``teacher``;
docs/model_choices.md); 5 adds ``sentences``: every model on SST-2's whole
sentences (dev and test), with paired tests there too. Versions 2, 3 and 4
are read as version 5 (a version 2 file's one baseline becomes
``baselines["tfidf"]``; version 3's dropped fields are ignored; none of them
has ``sentences``).

No TensorFlow here: the app and the report read it cheaply.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

from sentiment.core.files import write_json
from sentiment.core.schema import from_json
from sentiment.evaluation.significance import Comparison

SCHEMA_VERSION = 5
MIGRATES = (2, 3, 4)  # older versions read by converting them


def run_name(cell: str, seed: int) -> str:
    """A training run's name in test_predictions.npz and runs/: "lstm-seed1338"."""
    return f"{cell}-seed{seed}"


BASELINE_LABELS = {"tfidf": "TF-IDF", "nbsvm": "NBSVM"}
ENSEMBLE_LABELS = {"ensemble": "ensemble of the kept models", "ensemble_all": "ensemble of every run"}


def display_name(key: str) -> str:
    """ "lstm" -> "LSTM", "tfidf" -> "TF-IDF", "ensemble" -> "ensemble of the kept models"."""
    return BASELINE_LABELS.get(key) or ENSEMBLE_LABELS.get(key) or key.upper()


METRICS = "metrics.json"  # in a run's folder, beside its models


class MetricsFileError(ValueError):
    """metrics.json is missing, unreadable, from another version or of the wrong shape."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = os.fspath(path)
        super().__init__(message)


@dataclass
class LengthBucket:
    """Accuracy on the reviews of one length range (tokens before the model's limit)."""

    label: str  # "<=100", "101-200", ..., ">800"
    n: int
    accuracy: float | None  # None for an empty bucket


@dataclass
class ClassificationMetrics:
    """Figures on a labelled set (the test set); positive is class 1."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None  # None when the set has one class only
    confusion_matrix: list[list[int]]  # rows: true negative/positive; columns: predicted
    n: int  # reviews
    by_length: list[LengthBucket] = field(default_factory=list)  # empty where not measured


@dataclass
class DataSummary:
    source: str
    train: int  # reviews
    val: int
    test: int
    val_split: str  # "grouped by movie" or "stratified"
    limit: int | None = None  # --limit
    notes: list[str] = field(default_factory=list)
    label_map: dict[str, int] | None = None  # a table's label values -> 0/1; None for IMDB (neg 0, pos 1)


@dataclass
class ModelResult:
    """One recurrent model: its test figures, cost and how its training went."""

    file: str  # <cell>.keras, beside metrics.json
    test: ClassificationMetrics
    parameters: int
    train_seconds: float
    epochs_run: int
    best_epoch: int  # 1-based: the weights kept
    best_val_accuracy: float
    train_reviews_per_s: float
    train_tokens_per_s: float
    test_reviews_per_s: float
    model_config: dict[str, Any]  # ModelConfig.to_dict()
    fit_config: dict[str, Any]  # dataclasses.asdict(FitConfig)
    history: dict[str, list[float]]  # per epoch: loss, accuracy, val_loss, ...; "epoch" 0-based
    seed: int | None = None  # of this run (weights, dropout, batch order); the split's seed is the run's --seed


@dataclass
class BaselineResult:
    """A bag-of-n-grams model (sentiment.training.baselines), on the same split."""

    test: ClassificationMetrics
    C: float  # chosen on validation
    val_accuracy: float
    features: int
    parameters: int
    train_seconds: float
    name: str = "TF-IDF word 1-2 grams + logistic regression"  # what it is, for tables


@dataclass
class EnsembleResult:
    """The mean of several models' P(positive): reported apart from single models."""

    members: list[str]  # run names, as in test_predictions.npz
    test: ClassificationMetrics


@dataclass
class SentenceScores:
    """One model on SST-2's whole sentences: dev (for choosing) and test (read once)."""

    dev: ClassificationMetrics
    test: ClassificationMetrics


@dataclass
class SentenceResults:
    """Sentences people type (SST-2, sentiment.data.sst) beside IMDB's reviews:
    every model of the run scored on the treebank's whole sentences."""

    source: str  # "SST folder ../shared/data/sst"
    weight: float  # SST batches per IMDB batch the recurrent models trained on (0: IMDB only)
    train_phrases: int  # SST training phrases the run could draw from (0: not trained on SST)
    dev: int  # sentences
    test: int
    scores: dict[str, SentenceScores]  # by name, as in test_predictions.npz: cells, runs, baselines, ensembles
    comparisons: list[Comparison] = field(default_factory=list)  # paired tests on the test sentences
    measured_by: str = ""  # the command that scored them (train.py, or evaluate afterwards)


@dataclass
class RunMetrics:
    """Everything metrics.json holds."""

    version: int = field(default=SCHEMA_VERSION, kw_only=True)
    command: str
    finished: str  # local time, "YYYY-MM-DD HH:MM:SS"
    machine: str
    data: DataSummary
    vocabulary_size: int
    options: dict[str, Any]  # train.py's options, defaults filled in
    models: dict[str, ModelResult]  # by cell name: the run kept (best on validation), <cell>.keras
    runs: dict[str, list[ModelResult]] = field(default_factory=dict)  # every run of a cell (--seeds), kept one too
    baselines: dict[str, BaselineResult] = field(default_factory=dict)  # by name: tfidf, nbsvm
    ensembles: dict[str, EnsembleResult] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)  # paired tests on the test set
    sentences: SentenceResults | None = None  # SST-2, where the run was given --sst

    def runs_of(self, cell: str) -> list[ModelResult]:
        """Every training run of ``cell`` (one, unless trained with --seeds)."""
        return self.runs.get(cell) or [self.models[cell]]

    def comparison(self, first: str, second: str) -> Comparison | None:
        """The test of ``first`` against ``second`` on the IMDB test set (either order: the figures turned round)."""
        return find_comparison(self.comparisons, first, second)

    def training_texts(self) -> str:
        """What the recurrent models read in training, in a few words:
        "IMDB reviews + SST phrases + rules (negation, contrast)"."""
        parts = ["IMDB reviews" if "imdb" in self.data.source.lower() else f"the reviews of {self.data.source}"]
        if self.sentences and self.sentences.weight:
            parts.append("SST phrases")
        if self.options.get("rules"):
            parts.append(f"rules ({', '.join(self.options['rules'])})")
        return " + ".join(parts)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "metrics") -> "RunMetrics":
        """The dataclasses from parsed JSON; ``ValueError`` naming the first
        key that is missing or of the wrong type. Unknown keys are ignored."""
        return from_json(cls, data, where)


def find_comparison(comparisons: list[Comparison], first: str, second: str) -> Comparison | None:
    """The test of ``first`` against ``second`` in ``comparisons`` (either order: the figures turned round)."""
    for c in comparisons:
        if (c.first, c.second) == (first, second):
            return c
        if (c.second, c.first) == (first, second):
            return Comparison(
                first, second, c.n, c.accuracy_second, c.accuracy_first, -c.difference, -c.ci_high, -c.ci_low,
                c.only_second, c.only_first, c.p_value,
            )  # fmt: skip
    return None


def write_run_metrics(path: str | os.PathLike, metrics: RunMetrics) -> None:
    """Writes metrics.json atomically (a reader sees the old file or the whole new one)."""
    write_json(path, metrics.to_dict())


def load_run_metrics(path: str | os.PathLike) -> RunMetrics:
    """Reads metrics.json; ``MetricsFileError`` says what is wrong and what to do."""
    path = os.fspath(path)
    retrain = "run `python train.py` to write it again"
    if not os.path.isfile(path):
        raise MetricsFileError(path, f"No {path} yet: run `python train.py` to write it.")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as err:
        raise MetricsFileError(path, f"Cannot read {path} ({err.strerror}): check its permissions.") from err
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise MetricsFileError(path, f"{path} is not valid JSON ({err}): it may be cut short; {retrain}.") from err
    if not isinstance(data, dict):
        raise MetricsFileError(path, f"{path} is not what train.py writes (a JSON object): {retrain}.")
    version = data.get("version", 1)  # version 1 had no version key
    if isinstance(version, int) and not isinstance(version, bool) and version < min(MIGRATES):
        command = data.get("command")
        if not (isinstance(command, str) and command.startswith("python train.py")):
            command = "python train.py"
        raise MetricsFileError(
            path,
            f"{path} was written by an older version of train.py (version {version}): retrain with "
            f"`{command}` to write it in the current format (version {SCHEMA_VERSION}).",
        )
    if version == 2:
        data = _from_version_2(data)
    elif version in (3, 4):
        data = {**data, "version": SCHEMA_VERSION}  # version 3's dropped fields are unknown keys now: ignored
    elif version != SCHEMA_VERSION:
        raise MetricsFileError(
            path,
            f"{path} has version {version!r}, which this code does not know (it reads version "
            f"{SCHEMA_VERSION}): update this project, or {retrain}.",
        )
    try:
        return RunMetrics.from_dict(data)
    except ValueError as err:
        raise MetricsFileError(path, f"{path} is not what train.py writes ({err}): {retrain}.") from err


def _from_version_2(data: dict) -> dict:
    """A version-2 metrics.json as version 5: its one baseline becomes ``baselines["tfidf"]``."""
    data = {**data, "version": SCHEMA_VERSION}
    baseline = data.pop("baseline", None)
    data["baselines"] = {} if baseline is None else {"tfidf": baseline}
    return data
