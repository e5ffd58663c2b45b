"""What `python -m sentiment ablate` trains: `AblationConfig`, the grid, each
setting written once with its default (the full grid) and its help text, so
that the command's options, a --config file and the tests' tiny grids are
made from the same fields. No TensorFlow here: the results file records the
config, and the app reads that file before its models load."""

from __future__ import annotations

from dataclasses import dataclass

from sentiment.core.settings import ConfigError, option
from sentiment.experiments.memory_results import DISTANCES

PARTS = ("memory", "imdb")  # in the order the command makes them; the suite is read on each IMDB model

DEFAULT = "default"  # the cell's own start: the LSTM's forget-gate bias at 1, every other bias at 0
# The other starts a full cell can be trained from, and why each is in the grid.
STARTS = {
    "forget_bias_0": "the LSTM's forget-gate bias at 0, not 1: the start Jozefowicz et al. 2015 improve on",
    "chrono": "the gates opened over the task's distance (Tallec and Ollivier 2018): each unit keeps its "
    "state for a time drawn from 1 to N steps",
}
COMMITTED_STEPS = 600  # the memory command's budget, whose Elman-beats-LSTM result the ablation re-examines


@dataclass
class AblationConfig:
    """The ablation's grid (the full grid by default)."""

    cells: list[str] = option(
        default_factory=lambda: ["lstm", "gru"], help="the gated cells whose gates are switched off, one at a time"
    )
    variants: list[str] = option(
        default_factory=list,
        help="the variants to train, as cell:variant (docs/cells.md)",
        default_text="every variant of --cells",
    )
    starts: list[str] = option(
        default_factory=lambda: list(STARTS),
        help="the other starts the full cells are trained from, where the cell has the gate: "
        + "; ".join(f"{name} ({why})" for name, why in STARTS.items()),
    )
    reference: list[str] = option(
        default_factory=lambda: ["elman"],
        help="ungated cells trained on the memory task beside them (the committed experiment's rival)",
    )
    distances: list[int] = option(
        default_factory=lambda: list(DISTANCES), help="the memory task's distances: distractors after the bit"
    )
    seeds: list[int] = option(default_factory=lambda: [0, 1, 2], help="the memory task's seeds, each run once")
    steps: int = option(
        3000, f"the memory task's training budget in steps (the committed experiment's: {COMMITTED_STEPS})"
    )
    stop_at: float = option(
        0.99, "a memory run stops at the first evaluation (every 25 steps) whose validation accuracy reaches this"
    )
    jit_from: int = option(
        100,
        "memory runs of at least this many distractors compile their training step with XLA (4-7x faster steps "
        "on 2 CPU cores, 2 s to compile; not the same rounding); a distance above every other: none",
    )
    imdb_reviews: int = option(
        10_000,
        "IMDB: a fixed, class-balanced subset of this many of the lesson run's training reviews (every model, "
        "the full cells too, is trained on the same ones); 0: all of them",
    )
    imdb_epochs: int = option(2, "IMDB: training epochs of every model (the lesson models had 3)")
    imdb_seeds: int = option(
        3,
        "IMDB: seeds for a variant within imdb_close of its full cell, and then for that full cell too "
        "(one seed for the others)",
    )
    imdb_close: float = option(0.01, "IMDB: within this of its full cell's test accuracy", flag=False)
    imdb_test_reviews: int = option(0, "IMDB: a fixed subset of this many test reviews (0: all 25,000)", flag=False)
    save_models: bool = option(
        True, "keep each IMDB model of the first seed beside the results, for the app (about 10.6 MB each)"
    )

    def validate(self) -> AblationConfig:
        """Raises ``ConfigError`` (a ValueError naming the field) for a setting out of range."""
        unknown = [s for s in self.starts if s not in STARTS]
        if unknown:
            raise ConfigError(
                "starts", f"has no start {', '.join(map(repr, unknown))}: choose from {', '.join(STARTS)}", self.starts
            )
        for name in ("distances", "seeds"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ConfigError(name, "must list at least one value, each once", values)
        if min(self.distances) < 1:
            raise ConfigError("distances", "must be at least 1", self.distances)
        if min(self.seeds) < 0:
            raise ConfigError("seeds", "must be at least 0", self.seeds)
        if self.steps < 25:
            raise ConfigError("steps", "must be at least 25 (one evaluation)", self.steps)
        if not 0.5 < self.stop_at <= 1:
            raise ConfigError("stop_at", "must be in (0.5, 1]", self.stop_at)
        for name in ("jit_from", "imdb_epochs", "imdb_seeds"):
            if getattr(self, name) < 1:
                raise ConfigError(name, "must be at least 1", getattr(self, name))
        for name in ("imdb_reviews", "imdb_test_reviews"):
            value = getattr(self, name)
            if value != 0 and value < 20:
                raise ConfigError(name, "must be 0 (all) or at least 20 reviews", value)
        if not 0 <= self.imdb_close < 1:
            raise ConfigError("imdb_close", "must be in [0, 1)", self.imdb_close)
        return self

    # What a finished run was made under: a results file made with other values holds runs that are not
    # comparable with new ones (the grid's other fields only add or leave out runs).
    MEMORY_RUN = ("steps", "stop_at", "jit_from")
    IMDB_RUN = ("imdb_reviews", "imdb_epochs", "imdb_test_reviews")

    def differences(self, other: AblationConfig, part: str) -> list[str]:
        """The fields that make ``part``'s runs that differ between ``self`` (a
        file's) and ``other`` (a command's): "steps 3000 in the file, 600 asked"."""
        fields = self.MEMORY_RUN if part == "memory" else self.IMDB_RUN
        return [
            f"{f} {getattr(self, f)} in the file, {getattr(other, f)} asked"
            for f in fields
            if getattr(self, f) != getattr(other, f)
        ]
