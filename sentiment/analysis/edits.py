"""A review and its edit, side by side: the two token sequences aligned
word by word, and a model's gates on both as a difference on the aligned tokens.

The alignment is difflib's longest matching blocks (Ratcliff and Obershelp),
the words a model reads on each side (its own tokens, after lower-casing and
dropping punctuation). A replaced block is paired position by position, the
rest of a longer block left as a deletion or an insertion: so "was bad" ->
"was not bad" is `was`=`was`, `not` inserted, `bad`=`bad`, and the gates of
`bad` can be compared across the two reviews.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from sentiment.analysis.traces import LayerTrace, Trace

OPS = ("equal", "replace", "delete", "insert")


@dataclass(frozen=True)
class Column:
    """One place of the alignment: a token of the review (``a``), of its edit (``b``), or both."""

    a: int | None  # index into the review's tokens; None: inserted by the edit
    b: int | None  # index into the edit's tokens; None: deleted by it
    op: str  # one of OPS

    def label(self, a_tokens: list[str], b_tokens: list[str]) -> str:
        """How the column reads on an axis: `bad`, `good→bad`, `+not`, `−really`."""
        if self.op == "equal":
            return a_tokens[self.a]
        if self.op == "replace":
            return f"{a_tokens[self.a]}→{b_tokens[self.b]}"
        return f"+{b_tokens[self.b]}" if self.op == "insert" else f"−{a_tokens[self.a]}"


def align(a: list[str], b: list[str]) -> list[Column]:
    """``a`` and ``b`` aligned token by token, in reading order."""
    columns = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            columns += [Column(i, j, "equal") for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        columns += [Column(i1 + k, j1 + k, "replace") for k in range(paired)]
        columns += [Column(i, None, "delete") for i in range(i1 + paired, i2)]
        columns += [Column(None, j, "insert") for j in range(j1 + paired, j2)]
    return columns


def changed(columns: list[Column]) -> tuple[set[int], set[int]]:
    """The indices of the review's tokens the edit changed or deleted, and of the edit's it changed or inserted."""
    return (
        {c.a for c in columns if c.op != "equal" and c.a is not None},
        {c.b for c in columns if c.op != "equal" and c.b is not None},
    )


def nothing_to_compare(a: str, b: str) -> str | None:
    """Why two texts cannot be compared (said to the reader), or None where they can."""
    empty = [which for which, t in (("the review", a), ("its edit", b)) if not t.strip()]
    if empty:
        return f"Nothing to compare: {' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty."
    if a == b:
        return "The two texts are the same: change a word in the second one to see what the edit does."
    return None


@dataclass
class GateDifference:
    """One quantity of one layer and direction, on the edit minus on the review, at each aligned column."""

    name: str  # the gate or state
    labels: list[str]  # the columns' labels
    values: np.ndarray  # (units, columns): edit - review; NaN where a column has a token on one side only

    @property
    def order(self) -> np.ndarray:
        """The units, the most changed first (the sum of |difference| over the columns)."""
        return np.argsort(-np.nansum(np.abs(self.values), axis=1), kind="stable")

    def window(self, columns: slice) -> GateDifference:
        """The same difference on some of the columns only."""
        return GateDifference(self.name, self.labels[columns], self.values[:, columns])


def gate_difference(review: LayerTrace, edit: LayerTrace, name: str, columns, a_tokens, b_tokens) -> GateDifference:
    """``name`` on the edit minus on the review, on the aligned tokens (the
    layer and direction must be the same model's, on the two texts)."""
    if (review.layer, review.direction) != (edit.layer, edit.direction):
        raise ValueError(f"Compare a layer with itself: got {review.label} and {edit.label}")
    va, vb = review.values[name], edit.values[name]
    values = np.full((va.shape[1], len(columns)), np.nan, "float32")
    for k, c in enumerate(columns):
        if c.a is not None and c.b is not None and c.a < len(va) and c.b < len(vb):
            values[:, k] = vb[c.b] - va[c.a]
    return GateDifference(name, [c.label(a_tokens, b_tokens) for c in columns], values)


def matching_layers(review: Trace, edit: Trace) -> list[tuple[LayerTrace, LayerTrace]]:
    """The (review, edit) traces of each layer and direction."""
    by_label = {layer.label: layer for layer in edit.layers}
    return [(layer, by_label[layer.label]) for layer in review.layers if layer.label in by_label]
