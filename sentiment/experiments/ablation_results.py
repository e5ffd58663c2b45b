"""ablation.json, typed: what `python -m sentiment ablate` measured
(`sentiment.experiments.ablation`), read once and checked, and the figures
the report and the app read off it (each arm's memory curve and steps to
95%, whether the committed 600-step budget decided the Elman-beats-LSTM
result, the IMDB table). No TensorFlow here: the app reads this file before
its models are loaded.

The file holds the runs; the figures are made from them when asked for (and
written beside them for a reader of the JSON, but never read back), so a
rerun that adds runs can never leave a summary that disagrees with them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sentiment.core.schema import from_json, read_json
from sentiment.evaluation.results import ClassificationMetrics
from sentiment.experiments.ablation_config import COMMITTED_STEPS, DEFAULT, AblationConfig
from sentiment.experiments.memory_results import TaskSettings

RESULTS = "ablation.json"  # beside the lesson models: `python -m sentiment ablate` writes it, the app reads it
VERSION = 1
FULL = "full"  # the variant that is the cell itself
PASS = 0.95  # a memory run has kept the bit once its validation accuracy reaches this


class AblationFileError(ValueError):
    """ablation.json is missing, unreadable or not what the ablate command writes."""


@dataclass(frozen=True)
class Arm:
    """One thing trained: a cell, or one of its variants, from one start.

    ``name`` is the cell's spec (``"lstm:no_forget"``, as ``ModelConfig.cell``
    takes it) with ``@start`` for a start other than the default
    (``"lstm@chrono"``).
    """

    name: str
    cell: str  # "lstm"
    variant: str  # "full", "no_forget", ...
    start: str  # "default", "forget_bias_0", "chrono"
    label: str  # for tables and charts: "LSTM no forget", "LSTM, chrono start"
    equations: str = ""  # what the variant computes, or what the start sets
    source: str = ""  # where it comes from (Greff et al. 2017 (NFG), ...)
    gated: bool = True  # False: a reference cell of the memory task (Elman)

    @property
    def spec(self) -> str:
        """The cell as ``ModelConfig.cell`` takes it."""
        return self.cell if self.variant == FULL else f"{self.cell}:{self.variant}"

    @property
    def is_full(self) -> bool:
        """The full cell from its default start: what every other arm of the cell is compared with."""
        return self.variant == FULL and self.start == DEFAULT


def arm_name(spec: str, start: str = DEFAULT) -> str:
    return spec if start == DEFAULT else f"{spec}@{start}"


def model_file(arm: str) -> str:
    """The IMDB model's file name of ``arm`` (no ":" in a file name): "lstm:no_forget" -> "lstm_no_forget.keras"."""
    return arm.replace(":", "_").replace("@", "+") + ".keras"


def models_folder(results_path: str | os.PathLike) -> str:
    """Where the IMDB models of a results file go: beside it, in a folder named after it (ablation.json: ablation/)."""
    return os.path.splitext(os.fspath(results_path))[0]


# -- the runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryRun:
    """One arm trained on the textbook task at one distance with one seed."""

    arm: str
    distance: int
    seed: int
    accuracy: float  # on 1,000 new sequences, after the run
    passed_95_at: int | None  # the first step whose validation accuracy reached 95%; None: never
    steps_run: int  # the budget, or fewer where the run stopped once solved
    validation_curve: list[float] = field(default_factory=list)  # every 25 steps
    reach_initial: float | None = None
    reach_trained: float | None = None
    seconds: float = 0.0

    def passed_by(self, step: int) -> bool:
        return self.passed_95_at is not None and self.passed_95_at <= step


@dataclass(frozen=True)
class SuiteRate:
    cases: int
    failures: int
    rate: float


@dataclass(frozen=True)
class ImdbRun:
    """One arm trained on IMDB with one seed, scored on the test reviews and the behavioural suite."""

    arm: str
    seed: int
    test: ClassificationMetrics  # with accuracy by review length
    best_val_accuracy: float
    epochs_run: int
    best_epoch: int
    parameters: int
    train_seconds: float
    suite: dict[str, SuiteRate]  # by capability
    file: str | None = None  # the model, relative to the results file's folder (None: not kept)
    sha256: str | None = None


@dataclass
class MemoryPart:
    settings: TaskSettings
    runs: list[MemoryRun] = field(default_factory=list)


@dataclass(frozen=True)
class ImdbSetting:
    """What every IMDB model of the ablation shares: the lesson models' setting, and what differs from it."""

    source: str  # the reviews
    train_reviews: int
    validation_reviews: int
    test_reviews: int
    epochs: int
    model_config: dict[str, dict[str, Any]]  # by cell: the lesson model's (its cell replaced by the arm's)
    fit_config: dict[str, dict[str, Any]]  # by cell: the lesson model's (its epochs and seed replaced)
    note: str  # the table's line on how it differs from the lesson models


@dataclass
class ImdbPart:
    setting: ImdbSetting
    base_seed: int  # the lesson run's seed: each arm's first; more seeds follow it
    runs: list[ImdbRun] = field(default_factory=list)


# -- what the report and the app read off the runs ------------------------------------------------------


@dataclass(frozen=True)
class MemoryPoint:
    """One arm at one distance, over its seeds."""

    distance: int
    mean: float  # test accuracy
    min: float
    max: float
    seeds: int
    solved: int  # seeds whose validation accuracy reached 95% within the budget
    solved_by_committed: int  # ... by the committed experiment's 600 steps
    steps_to_95: list[int | None]  # each seed's step, in seed order (None: never)


@dataclass(frozen=True)
class BudgetRow:
    """At one distance: seeds solved by the rival (Elman) and the cell (LSTM), at 600 steps and at the budget."""

    distance: int
    seeds: int
    rival_by_committed: int
    cell_by_committed: int
    rival_by_budget: int
    cell_by_budget: int


@dataclass(frozen=True)
class BudgetVerdict:
    rival: str
    cell: str
    committed_steps: int
    steps: int
    rows: list[BudgetRow]
    verdict: str  # "decided", "partly decided", "not decided", "no such result", "not measured"
    sentence: str


@dataclass(frozen=True)
class ImdbRow:
    """One arm on IMDB, over its seeds, beside its full cell."""

    arm: str
    seeds: list[int]
    accuracy: list[float]
    mean: float
    sd: float | None  # sample standard deviation; None with one seed
    difference: float | None  # mean less the full cell's mean; None for the full cell itself
    within_noise: bool | None  # |difference| under two standard errors of it, from the seeds (None: a single seed)
    by_length: list[tuple[str, int, float | None]]  # (bucket, reviews, mean accuracy)
    suite: dict[str, float]  # mean failure rate by capability


@dataclass
class AblationResults:
    """Every run the command has made so far (a part not yet reached is None)."""

    config: AblationConfig
    arms: list[Arm]
    memory: MemoryPart | None = None
    imdb: ImdbPart | None = None
    command: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    version: int = VERSION

    @classmethod
    def from_json(cls, data) -> AblationResults:
        results = from_json(cls, data, "ablation")
        if results.version > VERSION:
            raise ValueError(f"ablation.version is {results.version}; this code reads up to {VERSION}")
        return results

    def to_json(self) -> dict:
        """The runs, and the figures made from them (for a reader of the JSON; never read back)."""
        data = asdict(self)
        data["figures"] = {
            "memory": {arm: [asdict(p) for p in self.memory_points(arm)] for arm in self.memory_arms()},
            "budget": asdict(self.budget()) if self.memory is not None else None,
            "imdb": {arm: asdict(row) for arm, row in self.imdb_rows().items()},
        }
        return data

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"no arm {name!r} in the ablation: it has {', '.join(a.name for a in self.arms)}")

    def full_of(self, name: str) -> str:
        """The arm ``name`` is compared with: its cell, full, from the default start."""
        return self.arm(name).cell

    # -- the memory task ----------------------------------------------------------------------------

    def memory_arms(self) -> list[str]:
        """The arms with memory runs, in the arms' order."""
        done = {r.arm for r in self.memory.runs} if self.memory is not None else set()
        return [a.name for a in self.arms if a.name in done]

    def memory_runs(self, arm: str, distance: int | None = None) -> list[MemoryRun]:
        runs = self.memory.runs if self.memory is not None else []
        return sorted(
            (r for r in runs if r.arm == arm and (distance is None or r.distance == distance)),
            key=lambda r: (r.distance, r.seed),
        )

    def memory_points(self, arm: str) -> list[MemoryPoint]:
        """The arm's test accuracy and seeds solved at each distance it has runs at."""
        points = []
        for distance in sorted({r.distance for r in self.memory_runs(arm)}):
            runs = self.memory_runs(arm, distance)
            accuracy = [r.accuracy for r in runs]
            points.append(
                MemoryPoint(
                    distance, float(np.mean(accuracy)), min(accuracy), max(accuracy), len(runs),
                    sum(r.passed_95_at is not None for r in runs), sum(r.passed_by(COMMITTED_STEPS) for r in runs),
                    [r.passed_95_at for r in runs],
                )
            )  # fmt: skip
        return points

    def longest_solved(self, arm: str) -> int | None:
        """The longest distance up to which the arm kept the bit (95%) in every seed at every distance; None: none.
        (A seed lost at N = 100 and every seed kept at N = 200, as happens, counts up to the distance before 100.)"""
        reach = None
        for p in sorted(self.memory_points(arm), key=lambda p: p.distance):
            if p.solved != p.seeds:
                break
            reach = p.distance
        return reach

    def budget(self, rival: str = "elman", cell: str = "lstm") -> BudgetVerdict:
        """Whether the committed experiment's 600 steps decided its result that
        ``rival`` (Elman) keeps the bit further than ``cell`` (the LSTM): at
        each distance, seeds solved by each at 600 steps and at the budget."""
        steps = self.memory.settings.steps if self.memory is not None else 0
        rows = []
        for distance in sorted(
            {r.distance for r in self.memory_runs(rival)} & {r.distance for r in self.memory_runs(cell)}
        ):
            a, b = self.memory_runs(rival, distance), self.memory_runs(cell, distance)
            seeds = sorted({r.seed for r in a} & {r.seed for r in b})
            a, b = [r for r in a if r.seed in seeds], [r for r in b if r.seed in seeds]
            rows.append(
                BudgetRow(
                    distance, len(seeds),
                    sum(r.passed_by(COMMITTED_STEPS) for r in a), sum(r.passed_by(COMMITTED_STEPS) for r in b),
                    sum(r.passed_95_at is not None for r in a), sum(r.passed_95_at is not None for r in b),
                )
            )  # fmt: skip
        verdict, sentence = _budget_reading(rival, cell, steps, rows)
        return BudgetVerdict(rival, cell, COMMITTED_STEPS, steps, rows, verdict, sentence)

    # -- IMDB ----------------------------------------------------------------------------------------

    def imdb_runs(self, arm: str) -> list[ImdbRun]:
        runs = self.imdb.runs if self.imdb is not None else []
        return sorted((r for r in runs if r.arm == arm), key=lambda r: r.seed)

    def imdb_rows(self) -> dict[str, ImdbRow]:
        """Each arm with IMDB runs: its accuracy over seeds, beside its full cell's."""
        arms = [a.name for a in self.arms if self.imdb_runs(a.name)]
        rows = {}
        for name in arms:
            runs = self.imdb_runs(name)
            accuracy = [r.test.accuracy for r in runs]
            full = self.imdb_runs(self.full_of(name))
            full_accuracy = [r.test.accuracy for r in full]
            is_full = self.arm(name).is_full
            difference = None if is_full or not full else float(np.mean(accuracy) - np.mean(full_accuracy))
            within = None
            if difference is not None and len(runs) > 1 and len(full) > 1:
                error = np.sqrt(_sd(accuracy) ** 2 / len(runs) + _sd(full_accuracy) ** 2 / len(full))
                within = bool(abs(difference) <= 2 * error)
            sd = _sd(accuracy) if len(runs) > 1 else None
            rows[name] = ImdbRow(
                name, [r.seed for r in runs], accuracy, float(np.mean(accuracy)), sd,
                difference, within, _by_length(runs), _suite_means(runs),
            )  # fmt: skip
        return rows

    def needing_seeds(self) -> list[str]:
        """The arms that get more IMDB seeds: each variant (or start) whose first
        seed's test accuracy is within ``imdb_close`` of its full cell's first
        seed's, and then that full cell too. Decided on the first seeds alone, so
        a rerun decides the same."""
        if self.imdb is None:
            return []
        first = {r.arm: r.test.accuracy for r in self.imdb.runs if r.seed == self.imdb.base_seed}
        close = [
            a.name
            for a in self.arms
            if not a.is_full and a.name in first and a.cell in first
            and abs(first[a.name] - first[a.cell]) <= self.config.imdb_close
        ]  # fmt: skip
        fulls = [a.name for a in self.arms if a.is_full and any(self.arm(c).cell == a.name for c in close)]
        return [a.name for a in self.arms if a.name in close or a.name in fulls]


def _sd(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _by_length(runs: list[ImdbRun]) -> list[tuple[str, int, float | None]]:
    if not runs or not runs[0].test.by_length:
        return []
    out = []
    for i, bucket in enumerate(runs[0].test.by_length):
        values = [r.test.by_length[i].accuracy for r in runs if r.test.by_length[i].accuracy is not None]
        out.append((bucket.label, bucket.n, float(np.mean(values)) if values else None))
    return out


def _suite_means(runs: list[ImdbRun]) -> dict[str, float]:
    capabilities = list(dict.fromkeys(c for r in runs for c in r.suite))
    return {c: float(np.mean([r.suite[c].rate for r in runs if c in r.suite])) for c in capabilities}


def _budget_reading(rival: str, cell: str, steps: int, rows: list[BudgetRow]) -> tuple[str, str]:
    """(verdict, one sentence) on whether 600 steps decided that ``rival`` beats ``cell``."""
    if not rows:
        return "not measured", f"The ablation has no runs of both {rival} and {cell} at one distance yet."
    if steps <= COMMITTED_STEPS:
        return "not measured", f"The budget ({steps} steps) is no longer than the committed {COMMITTED_STEPS}."
    beaten = [r for r in rows if r.rival_by_committed > r.cell_by_committed]
    R, C = rival.upper() if len(rival) <= 4 else rival.capitalize(), cell.upper()
    if not beaten:
        return (
            "no such result",
            f"At {COMMITTED_STEPS} steps {R} keeps the bit in no more seeds than the {C} at any distance here, "
            "so there is no result for the budget to decide.",
        )
    caught = [r for r in beaten if r.cell_by_budget >= r.rival_by_budget]
    where = ", ".join(
        f"N = {r.distance}: {r.rival_by_committed} to {r.cell_by_committed} of {r.seeds} seeds at {COMMITTED_STEPS} "
        f"steps, {r.rival_by_budget} to {r.cell_by_budget} at {steps}"
        for r in beaten
    )
    if len(caught) == len(beaten):
        verdict, lead = "decided", f"Yes: with {steps} steps the {C} catches up with {R} wherever it trailed"
    elif caught:
        verdict, lead = (
            "partly decided",
            (
                f"Partly: with {steps} steps the {C} catches up with {R} at "
                + ", ".join(f"N = {r.distance}" for r in caught)
                + " but not everywhere it trailed"
            ),
        )
    else:
        verdict, lead = "not decided", f"No: with {steps} steps {R} still keeps the bit in more seeds than the {C}"
    return verdict, f"{lead} (seeds solved, {R} to {C}: {where})."


def load_ablation(path: str | os.PathLike) -> AblationResults:
    """The results `python -m sentiment ablate` wrote, or `AblationFileError` saying what is wrong and what to do."""
    return read_json(
        path,
        AblationResults.from_json,
        AblationFileError,
        missing=f"No {os.fspath(path)} yet: `python -m sentiment ablate --data PATH` makes it (hours on 2 cores; "
        "it can be stopped and run again, and goes on where it stopped).",
        again="delete it and run `python -m sentiment ablate --data PATH` to make it again",
    )
