"""Text to token ids, exactly as a saved model's first two layers make them.

The model's ``TextVectorization`` runs our `standardize` (TensorFlow string
ops), splits on whitespace and looks each word up (0: padding, 1: ``[UNK]``);
``HeadTail`` then keeps the first ``head`` and the last ``max_length - head``
ids of a longer review. Here the same in plain Python; the tests hold every
step to the Keras layers, so that a word never maps to another id here.
"""

from __future__ import annotations

import re

import numpy as np

PAD, UNK = 0, 1

# TensorFlow's regexes are RE2's: its \s is [\t\n\f\r ] alone (Python's also
# matches \v, \x85, U+00A0...), so it is spelt out.
_BR = re.compile(r"<br[\t\n\f\r ]*/?>")
_APOSTROPHE = re.compile(r"['’]")
# RE2's [^\p{L}\p{N}]+. Python's \w is letters, digits and "_", its letters
# and digits exactly Unicode's L* and N*; but Python 3.11 knows Unicode 14,
# and RE2 in TensorFlow 2.21 a later one: these letters and digits are
# unassigned to Python. (The tests compare every code point with TensorFlow.)
_RE2_NEWER = (
    "\U0001123f-\U00011240\U00011f02\U00011f04-\U00011f10\U00011f12-\U00011f33\U00011f50-\U00011f59"
    "\U0001342f\U00013441-\U00013446\U0001b132\U0001b155\U0001d2c0-\U0001d2d3\U0001df25-\U0001df2a"
    "\U0001e030-\U0001e06d\U0001e4d0-\U0001e4eb\U0001e4f0-\U0001e4f9\U0002b739\U00031350-\U000323af"
)
_NOT_A_WORD = re.compile(f"(?:[^\\w{_RE2_NEWER}]|_)+")
# And ICU in TensorFlow lower-cases by an older Unicode than Python's: these
# capitals (Unicode 14) it leaves as they are.
_ICU_OLDER = (
    "\u2c2f\ua7c0\ua7d0\ua7d6\ua7d8\U00010570-\U0001057a\U0001057c-\U0001058a\U0001058c-\U00010592\U00010594-\U00010595"
)
_UNLOWERED = re.compile(f"[{_ICU_OLDER}]")
_LOWERED_RUN = re.compile(f"[^{_ICU_OLDER}]+")


def lower(text: str) -> str:
    """``tf.strings.lower(text, encoding="utf-8")``: which also ends the text
    at its first NUL (ICU reads it as a C string)."""
    text = text.split("\0", 1)[0]
    if _UNLOWERED.search(text) is None:
        return text.lower()
    return _LOWERED_RUN.sub(lambda run: run.group().lower(), text)


def standardize(text: str) -> str:
    """Lower case; ``<br />`` and everything but letters and digits become
    spaces; apostrophes go (``don't`` -> ``dont``)."""
    text = _BR.sub(" ", lower(text))
    text = _APOSTROPHE.sub("", text)
    return _NOT_A_WORD.sub(" ", text)


def words(text: str) -> list[str]:
    """The words the vectorizer reads: `standardize`, split on whitespace."""
    return standardize(text).split()


class Vocabulary:
    """Word -> id, as the model's ``StringLookup``: ``vocabulary[i]`` has id
    ``i``; index 0 is the padding (``""``), 1 the out-of-vocabulary ``[UNK]``."""

    def __init__(self, vocabulary: list[str]):
        self.words = list(vocabulary)
        # A duplicate would shadow the earlier id; StringLookup refuses them, so a saved vocabulary has none.
        self.index = {word: i for i, word in enumerate(self.words) if i > UNK}

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, text: str) -> list[int]:
        """Every word's id, the review's whole length."""
        return [self.index.get(word, UNK) for word in words(text)]


def head_tail(ids: list[int], max_length: int, head: int) -> list[int]:
    """At most ``max_length`` ids: all of a short review; of a longer one the
    first ``head`` and the last ``max_length - head`` (reviews tend to end with
    their verdict)."""
    if len(ids) <= max_length:
        return ids
    tail = max_length - head
    return ids[:head] + ids[len(ids) - tail :]  # not ids[-tail:]: tail may be 0


def pad(rows: list[list[int]]) -> np.ndarray:
    """Right-padded with 0 to the longest row, and at least one column: as
    ``HeadTail`` gives an empty review one (masked) step."""
    width = max([1, *map(len, rows)])
    out = np.zeros((len(rows), width), np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
