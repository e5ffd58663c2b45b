"""Switch a gate off: every variant of the gated cells (Greff et al. 2017's
LSTM ablations, the GRU's gates removed, the minimal gated unit), the full
cells, and the full cells from other starts (the LSTM's forget-gate bias at
0; the gates opened, chrono), trained on

1. the textbook memory task of `sentiment.experiments.memory` (its task and
   its `train_run`, with a longer budget that stops a run once it is solved),
   beside the Elman RNN, at every distance and seed of the grid: test
   accuracy and the step each run first kept the bit (95%);
2. IMDB in the lesson models' setting (`sentiment.experiments.ablation_imdb`),
   one seed each, and more seeds for an arm within a point of its full cell;
   each model scored on the test reviews (by length) and on the behavioural
   suite.

`Ablation` runs what the results file does not hold yet, one run at a time,
and writes the file after each (atomically): a command stopped at any point
and run again goes on where it stopped. What to train is `AblationConfig`;
the file is `ablation_results`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sentiment.core.files import write_json
from sentiment.core.schema import from_json
from sentiment.experiments import memory
from sentiment.experiments.ablation_results import (
    AblationResults,
    Arm,
    ImdbPart,
    ImdbRun,
    ImdbSetting,
    MemoryPart,
    MemoryRun,
)
from sentiment.experiments.memory_results import TaskSettings


def task_settings(results: AblationResults) -> TaskSettings:
    """The memory command's task settings, with the grid's budget, stop and XLA."""
    config = results.config
    return dataclasses.replace(memory.FULL, steps=config.steps, stop_at=config.stop_at, jit_from=config.jit_from)


def memory_run(arm: Arm, distance: int, seed: int, settings: TaskSettings) -> dict:
    """One memory run of ``arm`` (`memory.train_run`, from the arm's start), as a MemoryRun's JSON."""
    run = memory.train_run(
        arm.spec, distance, seed, settings,
        chrono=arm.start == "chrono", forget_bias=0.0 if arm.start == "forget_bias_0" else None,
    )  # fmt: skip
    fields = {f.name for f in dataclasses.fields(MemoryRun)}
    return {"arm": arm.name, **{k: v for k, v in run.items() if k in fields}}


class ImdbRunner(Protocol):
    """What trains one arm on IMDB (`ablation_imdb.ImdbTrainer`): its setting, its first seed, ``train``."""

    setting: ImdbSetting
    base_seed: int

    def train(self, arm: Arm, seed: int) -> dict: ...


@dataclass
class Ablation:
    """The runs of ``results`` not yet made, made one at a time, ``results``
    written to ``out`` after each. ``memory_runner`` and ``imdb_runner`` (made
    only when an IMDB run is due: it reads and tokenizes the reviews) do the
    training; the tests give ones that train nothing."""

    results: AblationResults
    out: str
    grid: list[Arm] | None = None  # the arms to run (None: every arm of ``results``); the file may hold others
    memory_runner: Callable[[Arm, int, int, TaskSettings], dict] = memory_run
    imdb_runner: Callable[[], ImdbRunner] | None = None
    say: Callable[[str], None] = print

    def __post_init__(self):
        if self.grid is None:
            self.grid = list(self.results.arms)

    def run(self, parts: list[str]) -> AblationResults:
        if "memory" in parts:
            self.run_memory()
        if "imdb" in parts:
            self.run_imdb()
        return self.results

    def save(self) -> None:
        write_json(self.out, self.results.to_json())

    # -- 1. the memory task ----------------------------------------------------------------------

    def memory_grid(self) -> list[tuple[Arm, int, int]]:
        """Every (arm, distance, seed) of the grid, the shortest distances first."""
        config = self.results.config
        return [(arm, d, seed) for d in config.distances for arm in self.grid for seed in config.seeds]

    def run_memory(self) -> None:
        settings = task_settings(self.results)
        if self.results.memory is None:
            self.results.memory = MemoryPart(settings)
        done = {(r.arm, r.distance, r.seed) for r in self.results.memory.runs}
        grid = self.memory_grid()
        todo = [(arm, d, seed) for arm, d, seed in grid if (arm.name, d, seed) not in done]
        self.say(f"memory task: {len(grid) - len(todo)} of {len(grid)} runs done, {len(todo)} to go")
        start = time.perf_counter()
        for n, (arm, distance, seed) in enumerate(todo, start=len(grid) - len(todo) + 1):
            began = time.perf_counter()
            run = from_json(MemoryRun, self.memory_runner(arm, distance, seed, settings), "memory run")
            self.results.memory.runs.append(run)
            self._count("memory", time.perf_counter() - began)
            self.save()
            passed = "never 95%" if run.passed_95_at is None else f"95% at step {run.passed_95_at}"
            self.say(
                f"[memory {n}/{len(grid)}] {arm.label}, N = {distance}, seed {seed}: {100 * run.accuracy:.1f}%, "
                f"{passed}, {run.steps_run} steps ({run.seconds:.0f} s; {_minutes(time.perf_counter() - start)} "
                "this session)"
            )

    # -- 2. IMDB and the suite ---------------------------------------------------------------------

    def imdb_arms(self) -> list[Arm]:
        return [arm for arm in self.grid if arm.gated]

    def needing_seeds(self) -> list[str]:
        names = {arm.name for arm in self.imdb_arms()}
        return [name for name in self.results.needing_seeds() if name in names]

    def next_imdb(self) -> tuple[Arm, int] | None:
        """The next IMDB run due: each arm's first seed, then the further seeds
        of the arms close to their full cell (`AblationResults.needing_seeds`)."""
        imdb = self.results.imdb
        done = {(r.arm, r.seed) for r in imdb.runs}
        for arm in self.imdb_arms():
            if (arm.name, imdb.base_seed) not in done:
                return arm, imdb.base_seed
        more = range(imdb.base_seed + 1, imdb.base_seed + self.results.config.imdb_seeds)
        for name in self.needing_seeds():
            for seed in more:
                if (name, seed) not in done:
                    return self.results.arm(name), seed
        return None

    def imdb_total(self) -> int:
        """The IMDB runs the grid will have made, as far as the first seeds tell yet."""
        extra = (self.results.config.imdb_seeds - 1) * len(self.needing_seeds())
        return len(self.imdb_arms()) + extra

    def run_imdb(self) -> None:
        if not self.imdb_arms():
            return
        runner = None
        if self.results.imdb is None:
            runner = self._imdb_runner()
            self.results.imdb = ImdbPart(runner.setting, runner.base_seed)
        start = time.perf_counter()
        while (due := self.next_imdb()) is not None:
            runner = runner or self._imdb_runner()
            arm, seed = due
            n = len(self.results.imdb.runs) + 1
            self.say(f"[imdb {n}/{self.imdb_total()}] {arm.label}, seed {seed}: training ...")
            began = time.perf_counter()
            run = from_json(ImdbRun, runner.train(arm, seed), "imdb run")
            self.results.imdb.runs.append(run)
            self._count("imdb", time.perf_counter() - began)
            self.save()
            worst = max(run.suite.items(), key=lambda kv: kv[1].rate, default=None)
            suite = f"; suite: {worst[0]} fails {100 * worst[1].rate:.0f}%" if worst else ""
            self.say(
                f"[imdb {n}/{self.imdb_total()}] {arm.label}, seed {seed}: test accuracy "
                f"{100 * run.test.accuracy:.2f}%{suite} ({run.train_seconds:.0f} s training; "
                f"{_minutes(time.perf_counter() - start)} this session)"
            )
        self.say(f"imdb: {len(self.results.imdb.runs)} runs done")

    def _imdb_runner(self) -> ImdbRunner:
        if self.imdb_runner is None:
            raise ValueError("The IMDB part needs the lesson run's reviews: pass --data PATH.")
        return self.imdb_runner()

    def _count(self, part: str, seconds: float) -> None:
        self.results.seconds[part] = round(self.results.seconds.get(part, 0.0) + seconds, 1)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
