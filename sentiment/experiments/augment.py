"""Extra training rows that could teach a model to read an edit (issue: the
models read which words appear, not what a negation does to them). Three rules,
each written to a table that `train.py --extra-train` adds to the training
split; what each gave is in docs/model_choices.md.

- ``templates``: the suite's `REMEDY` templates filled with the second half
  of the word lists (`sentiment.experiments.suite.remedy_sentences`): short
  sentences the suite is never scored on.
- ``negation``: sentences of the training reviews themselves, negated by a
  stated rule. A sentence qualifies when it has 4 to 25 words, no negation
  already ("not", "never", "no", "n't", ...), and exactly one word of the
  polarity lists at all, that word being of the remedies' half and following
  a copula ("is", "was", "are", "were", "seems", "looks"), optionally through
  an intensifier ("very", "really", "so", "quite", "pretty", "truly"). Two rows
  come from it: the sentence, labelled by its word's polarity, and the same
  sentence with "not" put after the copula, labelled the other way.
- ``cad``: counterfactually augmented data (Kaushik, Hovy and Lipton 2020), the
  train and dev pairs of the `acmi-lab/counterfactually-augmented-data`
  repository (`sentiment/combined/paired/`; never its test pairs): IMDB reviews
  and their human edits that flip the label. A pair is left out when either
  text is one of the run's validation or test reviews, so that the remedy is
  never scored on what it trained on.
"""

from __future__ import annotations

import csv
import os
import re

import numpy as np

from sentiment.experiments import lexicon

COPULAS = ("is", "was", "are", "were", "seems", "looks")
BETWEEN = ("very", "really", "so", "quite", "pretty", "truly")
NEGATIONS = {"not", "never", "no", "nothing", "nobody", "none", "neither", "nor", "hardly", "without"}
_WORD = re.compile(r"[A-Za-z']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def polarity_of_remedy_words() -> dict[str, int]:
    """The remedies' half of the polarity lists: word -> 1 (positive) or 0."""
    pos, neg = lexicon.halves(lexicon.POSITIVE)[1], lexicon.halves(lexicon.NEGATIVE)[1]
    return {**dict.fromkeys(pos, 1), **dict.fromkeys(neg, 0)}


def negated(sentence: str, polar: dict[str, int], every_polar: set[str]) -> tuple[str, int] | None:
    """(the sentence with "not" after its copula, the sentence's own label), or
    None where the rule does not apply (see the module's docstring)."""
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
    # "not" after the copula's own occurrence in the text (the n-th of that word, as in `words`).
    nth = lower[:copula].count(lower[copula])
    found = [m for m in re.finditer(rf"\b{re.escape(words[copula])}\b", sentence)]
    if len(found) <= nth:
        return None
    end = found[nth].end()
    return sentence[:end] + " not" + sentence[end:], polar[lower[i]]


def negation_rows(texts, at_most: int = 6000, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Up to ``at_most`` pairs (a seeded sample) from the sentences of ``texts``: each sentence and its negation."""
    polar = polarity_of_remedy_words()
    every_polar = set(lexicon.POSITIVE) | set(lexicon.NEGATIVE)
    pairs = []
    for text in texts:
        for sentence in _SENTENCE.split(re.sub(r"<br\s*/?>", " ", text)):
            got = negated(sentence.strip(), polar, every_polar)
            if got is not None:
                pairs.append((sentence.strip(), got[0], got[1]))
    rng = np.random.default_rng(seed)
    if len(pairs) > at_most:
        pairs = [pairs[i] for i in np.sort(rng.choice(len(pairs), at_most, replace=False))]
    rows = [(original, label) for original, _, label in pairs] + [(neg, 1 - label) for _, neg, label in pairs]
    return [t for t, _ in rows], np.asarray([y for _, y in rows], "int64")


CAD_SPLITS = ("train_paired.tsv", "dev_paired.tsv")


def _plain(text: str) -> str:
    return " ".join(re.sub(r"<br\s*/?>", " ", text).lower().split())


def cad_rows(folder: str, held_out) -> tuple[list[str], np.ndarray, int]:
    """The texts and labels of CAD's train and dev pairs in ``folder`` (its
    `sentiment/combined/paired/`), less the pairs with a text in ``held_out``;
    and how many pairs were left out."""
    held = {_plain(t) for t in held_out}
    texts, labels, dropped = [], [], 0
    for name in CAD_SPLITS:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no {name} in {folder}: give CAD's sentiment/combined/paired folder")
        pairs: dict[str, list[dict]] = {}
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                pairs.setdefault(row["batch_id"], []).append(row)
        for rows in pairs.values():
            if any(_plain(r["Text"]) in held for r in rows):
                dropped += 1
                continue
            texts += [r["Text"] for r in rows]
            labels += [int(r["Sentiment"] == "Positive") for r in rows]
    return texts, np.asarray(labels, "int64"), dropped
