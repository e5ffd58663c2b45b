"""The behavioural suite's scores and their file: a model's P(positive) on
every case of `sentiment.experiments.suite`, which cases fail and at what
rate by capability and template (`run_suite`, `SuiteScores`), and suite.json,
which `python -m sentiment suite` writes and the app reads (`SuiteResults`,
`load_suite`, `stale_files`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from sentiment.core.files import file_hash
from sentiment.core.schema import read_json
from sentiment.evaluation.results import display_name
from sentiment.experiments.suite import CAPABILITIES, TOLERANCE, Case

Predict = Callable[[list[str]], np.ndarray]


# -- scoring ------------------------------------------------------------------------------------------


@dataclass
class SuiteScores:
    """One model's P(positive) on every case (and its base text), and what failed."""

    p: np.ndarray
    p_base: np.ndarray  # NaN for label cases
    failed: np.ndarray  # bool per case

    def rates(self, cases: Sequence[Case]) -> dict[str, dict]:
        """Per capability: cases, failures and the failure rate."""
        return _rates(cases, self.failed, lambda c: c.capability)

    def template_rates(self, cases: Sequence[Case]) -> dict[str, dict]:
        return _rates(cases, self.failed, lambda c: c.template)


def _rates(cases, failed, key) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for case, f in zip(cases, failed):
        row = out.setdefault(key(case), {"cases": 0, "failures": 0})
        row["cases"] += 1
        row["failures"] += int(f)
    for row in out.values():
        row["rate"] = row["failures"] / row["cases"]
    return out


def run_suite(predict: Predict, cases: Sequence[Case]) -> SuiteScores:
    """Scores ``predict`` on ``cases`` (each distinct text read once)."""
    texts = list(dict.fromkeys([c.text for c in cases] + [c.base for c in cases if c.base]))
    p = np.asarray(predict(texts), "float64").reshape(-1)
    if p.shape != (len(texts),) or not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError(f"Got {p.size} values for {len(texts)} texts: wanted one P(positive) each, in [0, 1]")
    of = dict(zip(texts, p))
    p_text = np.asarray([of[c.text] for c in cases])
    p_base = np.asarray([of[c.base] if c.base else np.nan for c in cases])
    return SuiteScores(p_text, p_base, _failures(cases, p_text, p_base))


def _failures(cases: Sequence[Case], p: np.ndarray, p_base: np.ndarray) -> np.ndarray:
    """Whether each case fails, given P on its text and on its base (NaN: none)."""
    return np.asarray([c.fails(a, None if np.isnan(b) else b) for c, a, b in zip(cases, p, p_base)], bool)


@dataclass
class SuiteResults:
    """Every model's scores on one suite: what `python -m sentiment suite` writes."""

    cases: list[Case]
    scores: dict[str, SuiteScores] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def capabilities(self) -> list[str]:
        """The capabilities the cases test, in `CAPABILITIES`' order."""
        present = {c.capability for c in self.cases}
        return [c for c in CAPABILITIES if c in present]

    def to_json(self) -> dict:
        return {
            "meta": self.meta,
            "tolerance": TOLERANCE,
            "cases": [asdict(c) for c in self.cases],
            "models": {
                name: {
                    "capabilities": s.rates(self.cases),
                    "templates": s.template_rates(self.cases),
                    "p": np.round(s.p, 4).tolist(),
                    "p_base": [None if np.isnan(b) else round(float(b), 4) for b in s.p_base],
                }
                for name, s in self.scores.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> SuiteResults:
        cases = [Case(**c) for c in data["cases"]]
        scores = {}
        for name, m in data["models"].items():
            p = np.asarray(m["p"], "float64")
            p_base = np.asarray([np.nan if b is None else b for b in m["p_base"]], "float64")
            scores[name] = SuiteScores(p, p_base, _failures(cases, p, p_base))
        return cls(cases, scores, data.get("meta", {}))


# -- the results file and its report section --------------------------------------------------------------

RESULTS = "suite.json"  # beside the run's metrics.json: `python -m sentiment suite` writes it, the app reads it


class SuiteFileError(ValueError):
    """suite.json is missing, unreadable or of the wrong shape."""


def load_suite(path: str | os.PathLike) -> SuiteResults:
    """The results `python -m sentiment suite` wrote, or `SuiteFileError` saying what is wrong and what to do."""
    return read_json(
        path,
        SuiteResults.from_json,
        SuiteFileError,
        missing=f"No behavioural suite results at {path}: run `python -m sentiment suite`",
        again="run `python -m sentiment suite` to make it again",
    )


def stale_files(results: SuiteResults, folder: str | os.PathLike) -> list[str]:
    """The model files (relative to ``folder``) the results were measured on that are now missing or changed."""
    return [
        rel
        for rel, digest in results.meta.get("files", {}).items()
        if not os.path.isfile(os.path.join(folder, rel)) or file_hash(os.path.join(folder, rel)) != digest
    ]


LESSON = " (lesson)"  # the suffix of a lesson model's name in the results


def label(name: str) -> str:
    """A model's name in the results, for tables: "lstm" -> "LSTM", "elman (lesson)" -> "ELMAN (lesson)"."""
    return display_name(name.removesuffix(LESSON)) + (LESSON if name.endswith(LESSON) else "")
