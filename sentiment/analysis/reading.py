"""One way into reading a model on a review: `trace`, `explain` and
`gradient_reach` (and `trace_and_explain`, the explore tab's two in one).

A model our compiled passes cover (`sentiment.analysis.passes`) is read
through them: one XLA program per reading, milliseconds warm. Any other is
read through the reference functions, Keras's own time loop, uncompiled
(`trace_through_keras`, `explain_through_keras`, `reach_of_ids`), which the
tests hold the passes to. The choice is made here, once per model
(`reading_of`), and nowhere else.
"""

from __future__ import annotations

import keras
import numpy as np

from sentiment.analysis.explain import (
    COMPLETENESS_TOLERANCE,
    IG_STEPS,
    Attribution,
    Explanation,
    Occlusion,
    explain_through_keras,
    rankings,
    spans_of,
    trapezoid,
)
from sentiment.analysis.gradients import Reach, reach_of_ids
from sentiment.analysis.passes import OCCLUSION_VARIANTS, PATH_POINTS, Passes, passes_of
from sentiment.analysis.reader import NoWordsError, reader_of
from sentiment.analysis.traces import Trace, trace_of, trace_through_keras


class Compiled:
    """A model read through its compiled passes."""

    def __init__(self, passes: Passes):
        self.passes, self.reader = passes, passes.reader

    def _ids(self, text: str) -> tuple[np.ndarray, int]:
        ids, total = self.reader.read(text)
        if len(ids) == 0:
            raise NoWordsError()
        return ids, total

    def trace(self, text: str) -> Trace:
        ids, total = self._ids(text)
        out = self.passes.trace(ids)
        return trace_of(self.reader, self.reader.tokens(ids), out["probability"], out["values"], total)

    def trace_and_explain(self, text: str) -> tuple[Trace, Explanation]:
        """The review itself, the integrated-gradients path's first points and
        the occlusion variants as one batch; where the path's shares miss
        completeness by more than `COMPLETENESS_TOLERANCE`, the steps double
        (up to 256) and only the new midpoints are computed (the trapezoid rule
        of 2k steps is half that of k steps plus the midpoints'), in passes of
        `PATH_POINTS` points."""
        passes, reader = self.passes, self.reader
        ids, total = self._ids(text)
        n, tokens = len(ids), reader.tokens(ids)
        spans = spans_of(n, OCCLUSION_VARIANTS)
        variants = [np.concatenate([np.arange(start), np.arange(end, n)]) for start, end in spans]
        steps = IG_STEPS[0]
        alphas, weights = trapezoid(steps)
        # The review itself (alpha 1) first: the pass traces and ranks the units of its first row.
        out = passes.explain(ids, alphas[::-1], weights[::-1], variants)
        probability, baseline = (float(p) for p in out["probabilities"][[0, -1]])
        table = np.asarray(reader.table)
        difference = table[ids] - table[0]  # the word vectors less the baseline's (the padding vector)
        grad_sum = out["gradient_sum"]
        attribution = Attribution(tokens, (difference * grad_sum).sum(-1), probability, baseline, steps)
        for steps in IG_STEPS[1:]:
            if attribution.gap <= COMPLETENESS_TOLERANCE:
                break
            middle = (np.arange(steps // 2, dtype="float32") + 0.5) / (steps // 2)
            grad_sum = grad_sum / 2
            for start in range(0, len(middle), PATH_POINTS):
                chunk = middle[start : start + PATH_POINTS]
                grad_sum = (
                    grad_sum + passes.explain(ids, chunk, np.full(len(chunk), 1 / steps, "float32"))["gradient_sum"]
                )
            attribution = Attribution(attribution.tokens, (difference * grad_sum).sum(-1), probability, baseline, steps)
        explanation = Explanation(
            attribution,
            Occlusion(spans, probability - out["variants"]),
            rankings(reader, out["units"]),
            out["logit"],
            out["logit_at_zero"],
        )
        return trace_of(reader, tokens, probability, out["values"], total), explanation

    def reach(self, text: str) -> Reach:
        ids = self.reader.review_ids(text)
        embedding, recurrence = self.passes.reach(ids)
        return Reach(self.reader.tokens(ids), embedding, recurrence)


class Reference:
    """A model the passes do not cover, read through Keras's own loop."""

    def __init__(self, model: keras.Model):
        self.model, self.reader = model, reader_of(model)

    def trace(self, text: str) -> Trace:
        return trace_through_keras(self.model, text)

    def trace_and_explain(self, text: str) -> tuple[Trace, Explanation]:
        return trace_through_keras(self.model, text), explain_through_keras(self.model, text)

    def reach(self, text: str) -> Reach:
        ids = self.reader.review_ids(text)
        embedding, recurrence = (curve[0] for curve in reach_of_ids(self.model, ids[None]))
        return Reach(self.reader.tokens(ids), embedding, recurrence)


def reading_of(model: keras.Model) -> Compiled | Reference:
    """How ``model`` is read: its compiled passes where they cover it, else the reference (made once per model)."""
    reader = reader_of(model)
    return reader.memo("reading", lambda: Compiled(passes) if (passes := passes_of(model)) else Reference(model))


def trace(model: keras.Model, text: str) -> Trace:
    """Every gate and state of every recurrent layer, token by token, for ``text``.

    Returns:
        The tokens the model reads, P(positive) and, per recurrent layer and
        direction, a (tokens, units) array for each gate and state.

    Raises:
        NoWordsError: the review has no token the model reads.
    """
    return reading_of(model).trace(text)


def trace_and_explain(model: keras.Model, text: str) -> tuple[Trace, Explanation]:
    """`trace` and `explain` of one review, from one compiled pass where the model allows.

    Raises:
        NoWordsError: the review has no token the model reads.
    """
    return reading_of(model).trace_and_explain(text)


def explain(model: keras.Model, text: str) -> Explanation:
    """Integrated gradients, occlusion and unit ranking for one review
    (`sentiment.analysis.explain`), from one compiled pass where the model allows."""
    return trace_and_explain(model, text)[1]


def gradient_reach(model: keras.Model, text: str) -> Reach:
    """Gradient norms by token for ``text`` (`sentiment.analysis.gradients`):
    through everything, and through the last layer's forward recurrence alone."""
    return reading_of(model).reach(text)
