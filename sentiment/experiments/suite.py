"""What flips a verdict: a behavioural test suite in the manner of CheckList
(Ribeiro, Wu, Guestrin and Singh 2020), generated from templates and the word
lists of `sentiment.data.lexicon`.

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
template sentences, so that it is never scored on a word it was made from.

This module makes the cases; `sentiment.experiments.suite_results` scores a
model on them (anything that maps a list of texts to P(positive)) and keeps
the scores in suite.json; `sentiment.reporting.suite_section` reports them.
"""

from __future__ import annotations

import itertools
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sentiment.data import lexicon

CAPABILITIES = ("negation", "contrast", "intensity", "invariance", "direction")
TESTS = ("label", "same", "up", "down")
TOLERANCE = 0.1  # a directional case fails when P moves the wrong way by more than this
PER_TEMPLATE = 30  # cases drawn (seeded) from each template's fillings, at most


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
    def for_suite(cls) -> Words:
        """The suite's half of every list (the other is kept out of it)."""

        def h(words):
            return lexicon.halves(words)[0]

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

# The negation templates whose right answer is negative because a positive word is negated ("The movie was
# not amazing."): the failure a user meets first, pooled into one figure by the report and the app.
NEGATED_POSITIVES = (
    "not + positive",
    "not ... at all, positive",
    "negated intensifier",
    "nothing + positive",
    "did not + like",
)


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
    words = Words.for_suite()
    return [case for t in SUITE for case in cases_of(t, words)]
