"""why_gates.json, typed: how far back the gradient reaches over many test
reviews, and how saturated each gate is (`python -m sentiment why-gates`
writes it beside a run's models; the "Why gates?" tab reads it). No
TensorFlow here: the app draws it before the models are loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sentiment.core.schema import from_json, read_json

RESULTS = "why_gates.json"  # beside metrics.json


class WhyGatesFileError(ValueError):
    """why_gates.json is missing, unreadable or not what the why-gates command writes."""


@dataclass(frozen=True)
class ReachProfile:
    """The normalised gradient norm by distance from the end, over the reviews that long."""

    distance: list[int]
    median: list[float | None]  # None: no review that long
    q25: list[float | None]
    q75: list[float | None]
    n: list[int]  # reviews at least that long

    def median_at(self, distance: int) -> float | None:
        return self.median[self.distance.index(distance)] if distance in self.distance else None


@dataclass(frozen=True)
class ModelState:
    """A model, trained or at initialisation."""

    reach: dict[str, ReachProfile]  # "embedding": through everything; "recurrence": through the recurrence alone
    saturation: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)  # layer: gate: [low, high]


@dataclass(frozen=True)
class WhyGatesResults:
    reviews: int
    review_ids: list[str]
    distances: list[int]
    models: dict[str, dict[str, ModelState]]  # name: "trained" / "initial": what was measured

    @classmethod
    def from_json(cls, data) -> WhyGatesResults:
        return from_json(cls, data, "why_gates")


def load_why_gates(path: str | os.PathLike) -> WhyGatesResults:
    """The results `python -m sentiment why-gates` wrote, or `WhyGatesFileError` saying what makes them."""
    command = f"`python -m sentiment why-gates {os.path.dirname(os.fspath(path)) or '.'} --data PATH`"
    return read_json(
        path,
        WhyGatesResults.from_json,
        WhyGatesFileError,
        missing=f"No `{path}` yet: {command} makes it.",
        again=f"{command} makes it again",
    )
