"""The behavioural suite's scores and their file: a model's P(positive) on
every case of `sentiment.experiments.suite`, which cases fail and at what
rate by capability and template (`run_suite`, `SuiteScores`), and suite.json,
which `python -m sentiment suite` writes and the app reads (`SuiteResults`,
`load_suite`, `stale_files`), and the rates of the models a retrain replaced
(`PreviousRates`, suite_previous.json)."""

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


def pooled(template_rates: dict[str, dict], templates: Sequence[str]) -> dict:
    """One {cases, failures, rate} over several templates' rates (those present)."""
    rows = [template_rates[t] for t in templates if t in template_rates]
    cases, failures = sum(r["cases"] for r in rows), sum(r["failures"] for r in rows)
    return {"cases": cases, "failures": failures, "rate": failures / cases if cases else float("nan")}


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

    def main_models(self) -> list[str]:
        """The models whose files sit in the run's own folder, in the results' order (no lesson model, no baseline)."""
        files = {os.path.splitext(rel)[0] for rel in self.meta.get("files", {}) if _in_run(rel)}
        return [name for name in self.scores if name in files]

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


# -- the models these replaced ----------------------------------------------------------------------------

PREVIOUS = "suite_previous.json"  # beside suite.json: the rates of the run's models before they were retrained


@dataclass(frozen=True)
class PreviousRates:
    """The failure rates of the models a retrain replaced, kept when the suite
    is first run on the new ones, so that the app can show what the retrain
    changed from committed figures (no old model needs to be kept or loaded)."""

    trained_on: str  # what the replaced models read, as their suite.json said ("" where it did not)
    command: str  # the command that measured them
    files: dict[str, str]  # the replaced model files' hashes
    capabilities: dict[str, dict[str, dict]]  # {model: {capability: {cases, failures, rate}}}
    templates: dict[str, dict[str, dict]]

    @classmethod
    def of(cls, results: SuiteResults) -> PreviousRates:
        """The main models' rates in ``results`` (the lesson models and baselines are not retrained with them)."""
        names = results.main_models()
        return cls(
            trained_on=results.meta.get("trained_on", ""),
            command=results.meta.get("command", ""),
            files={rel: h for rel, h in results.meta.get("files", {}).items() if _in_run(rel)},
            capabilities={n: results.scores[n].rates(results.cases) for n in names},
            templates={n: results.scores[n].template_rates(results.cases) for n in names},
        )

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> PreviousRates:
        return cls(**{k: data[k] for k in ("trained_on", "command", "files", "capabilities", "templates")})


def _in_run(relative: str) -> bool:
    return not os.path.dirname(relative)  # lesson models sit in a folder below the run's


def replaced_models(results: SuiteResults, folder: str | os.PathLike) -> bool:
    """Whether the run's own model files have changed since ``results`` were measured (a retrain)."""
    return any(_in_run(rel) for rel in stale_files(results, folder))


def load_previous(path: str | os.PathLike) -> PreviousRates:
    return read_json(
        path,
        PreviousRates.from_json,
        SuiteFileError,
        missing=f"No earlier models' rates at {path}: `python -m sentiment suite` keeps them for retrained models",
        again="restore it from git, or leave it out",
    )


LESSON = " (lesson)"  # the suffix of a lesson model's name in the results


def label(name: str) -> str:
    """A model's name in the results, for tables: "lstm" -> "LSTM", "elman (lesson)" -> "ELMAN (lesson)"."""
    return display_name(name.removesuffix(LESSON)) + (LESSON if name.endswith(LESSON) else "")
