"""A hypothesis search over units, as LSTMVis does it (Strobelt et al. 2018).

Select a span of a review and a threshold: the units that are on (at or
above the threshold) at every word of the span and off (below it) at every
word just around it are the units that may stand for what the span says.
Then look for the other places where those units are on together: the
passages of the atlas's kept test reviews (`sentiment.analysis.atlas`), each
a run of words over which every selected unit stays on.

Hidden states are flat here, (tokens, directions x units), the forward
direction's units first: the layout of the atlas's corpus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AROUND = 3  # words either side of the span where a unit must be off
MATCHES = 20


@dataclass(frozen=True)
class UnitHit:
    unit: int  # flat: direction x units + unit
    inside: float  # the unit's lowest value over the span
    around: float  # its highest value just around the span (-inf: nothing around)

    @property
    def margin(self) -> float:
        return self.inside - max(self.around, -1.0)


@dataclass(frozen=True)
class Match:
    review: int  # index into the atlas's kept reviews
    start: int  # [start, end): the run of words, in that review
    end: int
    strength: float  # the selected units' mean value over the run

    @property
    def length(self) -> int:
        return self.end - self.start


def select_units(hidden: np.ndarray, start: int, end: int, threshold: float, around: int = AROUND) -> list[UnitHit]:
    """The units on at every word of ``[start, end)`` and off at every word
    within ``around`` of it, best separated first.

    Raises:
        ValueError: an empty or out-of-range span.
    """
    if not 0 <= start < end <= len(hidden):
        raise ValueError(f"The span must be within the review's {len(hidden)} words. Received: [{start}, {end})")
    inside = hidden[start:end].min(axis=0)
    outside = np.concatenate([hidden[max(0, start - around) : start], hidden[end : end + around]])
    highest = outside.max(axis=0) if len(outside) else np.full(hidden.shape[1], -np.inf)
    hits = [
        UnitHit(int(u), float(inside[u]), float(highest[u]))
        for u in np.flatnonzero((inside >= threshold) & (highest < threshold))
    ]
    return sorted(hits, key=lambda h: -h.margin)


def find_matches(
    corpus_hidden: np.ndarray, offsets: np.ndarray, units: list[int], threshold: float, limit: int = MATCHES
) -> list[Match]:
    """The passages of the corpus where every one of ``units`` is on: each
    maximal run of words (within one review) over which they all stay at or
    above ``threshold``; the longest first, then the strongest.

    Args:
        corpus_hidden: (tokens, units), int8 as the atlas keeps it (127 is 1.0), or floats.
        offsets: where each review starts in it, and its end.
    """
    offsets = np.asarray(offsets)
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(corpus_hidden):
        raise ValueError(
            f"The offsets must run from 0 to the corpus's {len(corpus_hidden)} words. "
            f"Received: {offsets[:1].tolist()} ... {offsets[-1:].tolist()}"
        )
    if not units:
        return []
    picked = corpus_hidden[:, units]
    values = picked.astype("float32")
    if corpus_hidden.dtype == np.int8:
        values /= 127
    on = (values >= threshold).all(axis=1)
    # Every run at once (a common unit is on in thousands of places, and a
    # loop over them held the page for a tenth of a second): a run starts
    # where a unit turns on or a review begins, and ends where it turns off or
    # the review ends.
    first = np.zeros(len(on), bool)
    last = np.zeros(len(on), bool)
    first[offsets[:-1][offsets[:-1] < len(on)]] = True
    last[offsets[1:][offsets[1:] > 0] - 1] = True
    starts = np.flatnonzero(on & (first | ~np.roll(on, 1)))
    ends = np.flatnonzero(on & (last | ~np.roll(on, -1))) + 1
    # The mean over a run of the selected units' values, from running sums
    # (of the int8 values themselves where the atlas keeps those, so that equal
    # runs tie exactly and keep the corpus's order).
    exact = picked.astype("int64" if picked.dtype == np.int8 else "float64")
    sums = np.concatenate([[0], np.cumsum(exact.sum(axis=1))])
    scale = len(units) * (127 if picked.dtype == np.int8 else 1)
    strength = (sums[ends] - sums[starts]) / ((ends - starts) * scale)
    length = ends - starts
    best = np.lexsort((-strength, -length))[:limit]  # the longest first, then the strongest
    reviews = np.searchsorted(offsets, starts[best], side="right") - 1
    return [
        Match(int(r), int(s - offsets[r]), int(e - offsets[r]), float(v))
        for r, s, e, v in zip(reviews, starts[best], ends[best], strength[best])
    ]
