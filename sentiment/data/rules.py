"""Training sentences made by rule: a negation and a "but" the models must read.

IMDB's reviews rarely hang their verdict on one "not" or one "but", so a model
trained on them alone never has to read either (docs/model_choices.md, rounds 7
and 8). Two rules make short labelled sentences that do:

- ``negation``: sentences of the training reviews with exactly one polarity
  word after a copula ("The plot was clever."), labelled by that word, each
  beside the same sentence with "not" after the copula, labelled the other way.
- ``contrast``: two labelled sentences of opposite verdicts joined as
  "X, but Y", labelled as Y.

The polarity words are the second half of the suite's lists
(`lexicon.halves`): the behavioural suite is scored on the first half only, so
no model is scored on a word a rule taught it in that slot. Every draw is
seeded: the same texts and seed give the same rows.
"""

from __future__ import annotations

import re

import numpy as np

from sentiment.data import lexicon
from sentiment.data.splits import Split

RULES = ("negation", "contrast")
TURNS = {"but", "though", "although", "however", "yet", "still", "while", "whereas", "despite"}
CLAUSE_WORDS = 15  # each side of a contrast: a sentence someone types, not a review
CONTRAST_ROWS = 4000  # about as many as the negation rule finds in IMDB's 22,500 training reviews
COPULAS = ("is", "was", "are", "were", "seems", "looks")
BETWEEN = ("very", "really", "so", "quite", "pretty", "truly")  # "was really clever" is negated too
NEGATIONS = {"not", "never", "no", "nothing", "nobody", "none", "neither", "nor", "hardly", "without"}
_WORD = re.compile(r"[A-Za-z']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def polarity_words() -> dict[str, int]:
    """The rules' half of the polarity lists: word -> 1 (positive) or 0 (negative)."""
    pos, neg = lexicon.halves(lexicon.POSITIVE)[1], lexicon.halves(lexicon.NEGATIVE)[1]
    return {**dict.fromkeys(pos, 1), **dict.fromkeys(neg, 0)}


def negated(sentence: str, polar: dict[str, int], every_polar: set[str]) -> tuple[str, int] | None:
    """(the sentence with "not" after its copula, the sentence's own label), or
    None where the rule does not apply: 4 to 25 words, no negation already, and
    exactly one word of the polarity lists at all, one of the rules' half,
    right after a copula or after a copula and one intensifier."""
    words = _WORD.findall(sentence)
    lower = [w.lower() for w in words]
    if not 4 <= len(words) <= 25 or NEGATIONS & set(lower) or any(w.endswith("n't") for w in lower):
        return None
    hits = [i for i, w in enumerate(lower) if w in every_polar]
    if len(hits) != 1 or lower[hits[0]] not in polar:
        return None
    i = hits[0]
    copula = i - 1 if i >= 1 and lower[i - 1] in COPULAS else i - 2
    if copula < 0 or lower[copula] not in COPULAS or (copula == i - 2 and lower[i - 1] not in BETWEEN):
        return None
    # "not" goes after the copula's own occurrence in the text: the n-th of that word.
    nth = lower[:copula].count(lower[copula])
    found = list(re.finditer(rf"\b{re.escape(words[copula])}\b", sentence))
    if len(found) <= nth:
        return None
    end = found[nth].end()
    return sentence[:end] + " not" + sentence[end:], polar[lower[i]]


def split_sentences(text: str) -> list[str]:
    """A review's sentences (line breaks as IMDB writes them, ``<br />``, are spaces)."""
    return [s.strip() for s in _SENTENCE.split(re.sub(r"<br\s*/?>", " ", text)) if s.strip()]


def negation_rows(texts, at_most: int = 6000, seed: int = 0) -> Split:
    """Up to ``at_most`` pairs (a seeded sample) from the sentences of
    ``texts``: each sentence and its negation, the pairs in one list."""
    polar, every_polar = polarity_words(), set(lexicon.POSITIVE) | set(lexicon.NEGATIVE)
    pairs = []
    for text in texts:
        for sentence in split_sentences(text):
            got = negated(sentence, polar, every_polar)
            if got is not None:
                pairs.append((sentence, *got))
    if len(pairs) > at_most:
        keep = np.random.default_rng(seed).choice(len(pairs), at_most, replace=False)
        pairs = [pairs[i] for i in np.sort(keep)]
    texts_out, labels = [], []
    for original, negation, label in pairs:
        texts_out += [original, negation]
        labels += [label, 1 - label]
    return _rows(texts_out, labels, "negation")


def contrast_rows(sentences: Split, count: int, seed: int = 0) -> Split:
    """``count`` sentences "X, but Y" (a seeded draw), X and Y of opposite
    labels from ``sentences``, each labelled as Y; half end positive. Only
    short clauses (3 to ``CLAUSE_WORDS`` words) with no turn of their own
    ("but", "though", ...) are joined, so that the "but" decides."""
    usable = np.array([_clause(t) for t in sentences.texts], bool)
    by_label = [np.flatnonzero(usable & (np.asarray(sentences.labels) == y)) for y in (0, 1)]
    if min(len(b) for b in by_label) == 0:
        raise ValueError(
            f"contrast_rows: needs short sentences of both labels; got {len(by_label[0])} negative and "
            f"{len(by_label[1])} positive"
        )
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for k in range(count):
        y = k % 2
        x_text = sentences.texts[rng.choice(by_label[1 - y])].rstrip(" .!?;,")
        y_text = sentences.texts[rng.choice(by_label[y])]
        texts.append(f"{x_text}, but {y_text[:1].lower()}{y_text[1:]}")
        labels.append(y)
    return _rows(texts, labels, "contrast")


def _clause(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    return 3 <= len(words) <= CLAUSE_WORDS and not TURNS & set(words)


def _rows(texts: list[str], labels: list[int], rule: str) -> Split:
    return Split(texts, np.asarray(labels, "int32"), ids=[f"{rule}:{i}" for i in range(len(texts))])
