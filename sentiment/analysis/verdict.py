"""A model's verdict on a review: P(positive), and how much of the review it read.

A `Verdict` is the same whoever computes it: the Keras model
(`sentiment.analysis.reader.ModelReader.verdict`) or the model's weights in
NumPy (`numpy_verdict`). No TensorFlow here: the app draws the NumPy verdicts
while TensorFlow is still loading (`sentiment.app.first_answer`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sentiment.numpy_cells import NumpyModel


class NoWordsError(ValueError):
    """A review with no token the model reads."""

    def __init__(self):
        super().__init__("The review has no words the model can read (only spaces, punctuation or symbols).")


@dataclass(frozen=True)
class Verdict:
    """What a model says of a review, and how much of it the model read."""

    probability: float  # P(positive)
    tokens: int  # the tokens the model reads
    total_tokens: int  # the review's tokens before the model's length limit
    head: int  # of a review cut to `tokens`, the model reads the first `head` and the last `tokens - head`

    @property
    def positive(self) -> bool:
        return self.probability >= 0.5

    @property
    def truncated(self) -> bool:
        return self.total_tokens > self.tokens


def numpy_verdict(model: NumpyModel, text: str) -> Verdict:
    """``model``'s verdict on ``text``, as the Keras model gives it (P within 1e-5, the counts the same).

    Raises:
        NoWordsError: the review has no token the model reads.
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
    total = len(model.vocabulary.ids(text))  # unknown words count: the model reads them as [UNK]
    tokens = min(total, model.saved.max_length)
    if tokens == 0:
        raise NoWordsError()
    return Verdict(float(model.predict([text])[0]), tokens, total, model.saved.head)
