"""What flips a verdict: a behavioural test suite in the manner of CheckList
(Ribeiro, Wu, Guestrin and Singh 2020), generated from templates and the word
lists of `sentiment.experiments.lexicon`.

Each case tests one capability (negation, contrast, intensity, invariance,
direction) in one of CheckList's three ways:

- ``label`` (minimum functionality): a short text whose verdict is plain; it
  fails when the model's verdict (P(positive) >= 0.5) is the other one.
- ``same`` (invariance): an edit that should not change the verdict (another
  name, a typo, a neutral sentence added); it fails when the verdict changes.
- ``up`` / ``down`` (directional expectation): an edit that should move
  P(positive) one way (``very good`` against ``good``; a clearly positive
  sentence added); it fails when P moves the other way by more than
  `TOLERANCE` (CheckList's sentiment suite uses the same 0.1).

The suite is the `SUITE` templates filled with the first half of every word
list only (`lexicon.halves`): the second half is kept for anything trained on
template sentences, so that it is never scored on a word it was made from
(the remedies of docs/model_choices.md, round 7, trained on it).

A model is anything that maps a list of texts to P(positive): `run_suite`
scores it, `rates` sums the failures by capability.
"""

from __future__ import annotations

import itertools
import json
import os
import string
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from sentiment.core.files import file_hash
from sentiment.evaluation.results import display_name
from sentiment.experiments import lexicon

CAPABILITIES = ("negation", "contrast", "intensity", "invariance", "direction")
TESTS = ("label", "same", "up", "down")
TOLERANCE = 0.1  # a directional case fails when P moves the wrong way by more than this
PER_TEMPLATE = 30  # cases drawn (seeded) from each template's fillings, at most
Predict = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Words:
    """One half of every word list: what fills a template's ``{slots}``. A slot
    named with a trailing digit (``noun2``) takes another word of the same list."""

    pos: tuple
    neg: tuple
    adj: tuple  # pos and neg together
    noun: tuple
    film: tuple
    best: tuple
    worst: tuple
    like: tuple
    dislike: tuple
    intens: tuple
    dimin: tuple
    name: tuple
    title: tuple
    neutral: tuple
    good_sentence: tuple
    bad_sentence: tuple

    @classmethod
    def half(cls, which: int) -> Words:
        """0: the suite's half of every list; 1: the half kept out of it."""

        def h(words):
            return lexicon.halves(words)[which]

        first, last = h(lexicon.FIRST_NAMES), h(lexicon.LAST_NAMES)
        return cls(
            pos=h(lexicon.POSITIVE), neg=h(lexicon.NEGATIVE), adj=h(lexicon.POSITIVE) + h(lexicon.NEGATIVE),
            noun=h(lexicon.NOUNS), film=h(lexicon.FILMS), best=h(lexicon.BEST), worst=h(lexicon.WORST),
            like=h(lexicon.LIKE), dislike=h(lexicon.DISLIKE), intens=h(lexicon.INTENSIFIERS),
            dimin=h(lexicon.DIMINISHERS), name=tuple(f"{f} {s}" for f, s in zip(first, last)),
            title=h(lexicon.TITLES), neutral=h(lexicon.NEUTRAL), good_sentence=h(lexicon.CLEARLY_POSITIVE),
            bad_sentence=h(lexicon.CLEARLY_NEGATIVE),
        )  # fmt: skip


# -- edits that are not a second pattern --------------------------------------------------------------


def typo(text: str, rng: np.random.Generator) -> str:
    """Two neighbouring letters swapped, in one word, where they differ (so the word changes)."""
    words = text.split(" ")
    places = [
        (i, j) for i, w in enumerate(words) for j in range(len(w) - 1) if w[j : j + 2].isalpha() and w[j] != w[j + 1]
    ]
    i, j = places[int(rng.integers(len(places)))]
    w = words[i]
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def shouted(text: str, rng: np.random.Generator) -> str:
    return text.upper()


def unpunctuated(text: str, rng: np.random.Generator) -> str:
    return "".join(c for c in text if c not in ",.;:")


@dataclass(frozen=True)
class Template:
    """One family of cases. ``pattern`` is the text (``label`` tests) or the
    unedited text (the others); ``edit`` is the edited text's pattern, or a
    function of the filled text."""

    name: str
    capability: str
    test: str
    pattern: str
    edit: str | Callable[[str, np.random.Generator], str] | None = None
    label: int | None = None

    def __post_init__(self):
        if self.capability not in CAPABILITIES or self.test not in TESTS:
            raise ValueError(f"Template {self.name!r}: unknown capability or test {self.capability!r}/{self.test!r}")
        if (self.test == "label") != (self.label is not None) or (self.test == "label") == (self.edit is not None):
            raise ValueError(f"Template {self.name!r}: a label test has a label and no edit; the others an edit")

    def slots(self) -> list[str]:
        patterns = [self.pattern] + ([self.edit] if isinstance(self.edit, str) else [])
        found = [f for p in patterns for _, f, _, _ in string.Formatter().parse(p) if f]
        return list(dict.fromkeys(found))


def _label(name: str, capability: str, pattern: str, label: int) -> Template:
    return Template(name, capability, "label", pattern, label=label)


def _edit(name: str, capability: str, test: str, pattern: str, edit) -> Template:
    return Template(name, capability, test, pattern, edit=edit)


# fmt: off
SUITE = (
    # negation: the negated word's verdict, reversed
    _label("not + positive", "negation", "The {noun} was not {pos}.", 0),
    _label("not + negative", "negation", "The {noun} was not {neg}.", 1),
    _label("not ... at all, positive", "negation", "This {film} is not {pos} at all.", 0),
    _label("not ... at all, negative", "negation", "This {film} is not {neg} at all.", 1),
    _label("never + negative", "negation", "It was never {neg}.", 1),
    _label("not the worst", "negation", "Not the {worst} {film} I have seen.", 1),
    _label("did not + like", "negation", "I did not {like} this {film}.", 0),
    _label("don't think + positive", "negation", "I don't think the {noun} was {pos}.", 0),
    _label("negated intensifier", "negation", "The {noun} was not {intens} {pos}.", 0),
    _label("nothing + positive", "negation", "Nothing about this {film} was {pos}.", 0),
    # contrast: "X, but Y", Y decides; the verdict in the last sentence
    _label("bad, but good", "contrast", "The {noun} was {neg}, but the {noun2} was {pos}.", 1),
    _label("good, but bad", "contrast", "The {noun} was {pos}, but the {noun2} was {neg}.", 0),
    _label("expected bad, got good", "contrast", "I expected the {film} to be {neg}, but it was {pos}.", 1),
    _label("expected good, got bad", "contrast", "I expected the {film} to be {pos}, but it was {neg}.", 0),
    _label("seemed bad, ended good", "contrast", "At first it seemed {neg}, but in the end the {film} was {pos}.", 1),
    _label("seemed good, ended bad", "contrast", "At first it seemed {pos}, but in the end the {film} was {neg}.", 0),
    _label("last sentence positive", "contrast", "The {noun} was {neg}. Overall, though, this {film} is {pos}.", 1),
    _label("last sentence negative", "contrast", "The {noun} was {pos}. Overall, though, this {film} is {neg}.", 0),
    # intensity: stronger words move P further, weaker ones back towards the middle
    _edit("intensified positive", "intensity", "up", "The {noun} was {pos}.", "The {noun} was {intens} {pos}."),
    _edit("intensified negative", "intensity", "down", "The {noun} was {neg}.", "The {noun} was {intens} {neg}."),
    _edit("diminished positive", "intensity", "down", "The {noun} was {pos}.", "The {noun} was {dimin} {pos}."),
    _edit("diminished negative", "intensity", "up", "The {noun} was {neg}.", "The {noun} was {dimin} {neg}."),
    _edit("one of the best", "intensity", "up",
          "This {film} is good.", "This {film} is one of the {best} I have seen."),
    _edit("one of the worst", "intensity", "down",
          "This {film} is bad.", "This {film} is one of the {worst} I have seen."),
    # invariance: edits that carry no verdict
    _edit("another actor", "invariance", "same",
          "{name} was {adj} in this {film}.", "{name2} was {adj} in this {film}."),
    _edit("another title", "invariance", "same",
          "I watched {title} last night and it was {adj}.", "I watched {title2} last night and it was {adj}."),
    _edit("a typo", "invariance", "same", "The {noun} was {adj} and the {noun2} was {adj2}.", typo),
    _edit("capitals", "invariance", "same", "The {noun} was {adj}, and the {noun2} was {adj2}.", shouted),
    _edit("no punctuation", "invariance", "same", "The {noun} was {adj}; the {noun2} was {adj2}.", unpunctuated),
    _edit("neutral sentence after", "invariance", "same", "The {noun} was {adj}.", "The {noun} was {adj}. {neutral}"),
    _edit("neutral sentence before", "invariance", "same", "The {noun} was {adj}.", "{neutral} The {noun} was {adj}."),
    # direction: a clear sentence added moves P its way
    _edit("positive sentence added", "direction", "up",
          "The {noun} was {adj}.", "The {noun} was {adj}. {good_sentence}"),
    _edit("negative sentence added", "direction", "down",
          "The {noun} was {adj}.", "The {noun} was {adj}. {bad_sentence}"),
    _edit("positive sentence added to a mixed one", "direction", "up",
          "The {noun} was {pos}, but the {noun2} was {neg}.",
          "The {noun} was {pos}, but the {noun2} was {neg}. {good_sentence}"),
    _edit("negative sentence added to a mixed one", "direction", "down",
          "The {noun} was {pos}, but the {noun2} was {neg}.",
          "The {noun} was {pos}, but the {noun2} was {neg}. {bad_sentence}"),
)

# fmt: on


@dataclass(frozen=True)
class Case:
    """One test: ``text`` (and, for edits, ``base``, the text it edits)."""

    capability: str
    test: str
    template: str
    text: str
    base: str = ""
    label: int = -1  # label tests: 1 positive, 0 negative

    def fails(self, p: float, p_base: float | None = None) -> bool:
        """Whether a model giving P(positive) ``p`` (and ``p_base`` for the base text) fails it."""
        if self.test == "label":
            return (p >= 0.5) != (self.label == 1)
        if p_base is None:
            raise ValueError(f"A {self.test!r} case needs P(positive) of its base text too")
        if self.test == "same":
            return (p >= 0.5) != (p_base >= 0.5)
        moved = p - p_base
        return moved < -TOLERANCE if self.test == "up" else moved > TOLERANCE


def fillings(template: Template, words: Words) -> list[dict]:
    """Every way of filling ``template``'s slots from ``words`` (slots of one list take different words)."""
    slots = template.slots()
    lists = [getattr(words, s.rstrip("0123456789")) for s in slots]
    out = []
    for values in itertools.product(*lists):
        by_list: dict[str, list] = {}
        for s, v in zip(slots, values):
            by_list.setdefault(s.rstrip("0123456789"), []).append(v)
        if all(len(set(vs)) == len(vs) for vs in by_list.values()):
            out.append(dict(zip(slots, values)))
    return out


def cases_of(template: Template, words: Words, at_most: int = PER_TEMPLATE) -> list[Case]:
    """``at_most`` of the template's fillings (a sample seeded by its name), as cases."""
    rng = np.random.default_rng(zlib.crc32(template.name.encode()))
    filled = fillings(template, words)
    if len(filled) > at_most:
        filled = [filled[i] for i in np.sort(rng.choice(len(filled), at_most, replace=False))]
    cases = []
    for slots in filled:
        text = _sentence(template.pattern.format(**slots))
        if template.test == "label":
            cases.append(Case(template.capability, "label", template.name, text, label=template.label))
            continue
        edited = template.edit(text, rng) if callable(template.edit) else _sentence(template.edit.format(**slots))
        cases.append(Case(template.capability, template.test, template.name, edited, base=text))
    return cases


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]


def build_suite() -> list[Case]:
    """The suite: every template's cases, filled from the suite's half of the word lists."""
    words = Words.half(0)
    return [case for t in SUITE for case in cases_of(t, words)]


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
    again = "run `python -m sentiment suite` to make it again"
    try:
        with open(path, encoding="utf-8") as f:
            return SuiteResults.from_json(json.load(f))
    except FileNotFoundError:
        raise SuiteFileError(f"No behavioural suite results at {path}: run `python -m sentiment suite`") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SuiteFileError(f"{path} is not a suite's results ({type(err).__name__}: {err}); {again}") from None


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


def suite_markdown(results: SuiteResults) -> list[str]:
    """report.md's section: each model's failure rate by capability, and the
    templates the main models fail most."""
    caps = results.capabilities()
    counts = {c: sum(case.capability == c for case in results.cases) for c in caps}
    meta = results.meta
    lines = [
        "",
        "## Behavioural suite: what flips a verdict",
        "",
        f"Command: `{meta.get('command', 'python -m sentiment suite')}`; {len(results.cases):,} cases from "
        f"{len({c.template for c in results.cases})} templates (CheckList, Ribeiro et al. 2020: minimum "
        f"functionality, invariance, directional expectation with tolerance {TOLERANCE}). Failure rate by "
        "capability (lower is better):",
        "",
        "| model | " + " | ".join(f"{c} ({counts[c]})" for c in caps) + " | all |",
        "|---|" + "---|" * (len(caps) + 1),
    ]
    for name, s in results.scores.items():
        rates = s.rates(results.cases)
        cells = " | ".join(f"{100 * rates[c]['rate']:.1f}%" for c in caps)
        lines.append(f"| {label(name)} | {cells} | {100 * s.failed.mean():.1f}% |")
    for name in [n for n in ("lstm", "gru") if n in results.scores]:
        worst = sorted(results.scores[name].template_rates(results.cases).items(), key=lambda kv: -kv[1]["rate"])[:5]
        listed = "; ".join(f"{t} {100 * r['rate']:.0f}%" for t, r in worst)
        lines += ["", f"{label(name)} fails most: {listed}."]
    if "seconds" in meta:
        lines += ["", f"Time: {meta['seconds']}."]
    return lines
