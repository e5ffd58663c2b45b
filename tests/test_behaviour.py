"""Behavioural tests of the committed models (saved_models/*.keras), in the
style of CheckList (Ribeiro et al., 2020) as Made With ML uses them:
minimum functionality (clear reviews classified right), directional
expectations (negating the key phrase lowers P(positive)) and invariance
(a synonym barely moves it). The sentences were written before the models
saw them.

The criteria hold for any model worth committing: a clear review is on the
right side of 0.5; negation lowers P(positive) (any amount); a synonym moves
it by at most SYNONYM_BOUND. Whether a negated positive sentence reads
*negative* is a rate the behavioural suite measures and reports
(`python -m sentiment suite`, docs/flips.md), not a case pinned here: a
better model must not fail this file.
"""

import pytest

from conftest import committed, predict

CELLS = ["lstm", "gru"]

CLEARLY_POSITIVE = [
    "This is one of the best films I have ever seen. The acting is superb, the story is moving, "
    "and I loved every minute of it.",
    "A wonderful, funny and touching movie with a brilliant cast. Highly recommended.",
    "I enjoyed this film from start to finish; the music is beautiful and the ending is perfect.",
]
CLEARLY_NEGATIVE = [
    "This was a terrible movie. The plot made no sense, the acting was wooden, and I was bored from start to finish.",
    "A complete waste of time and money. Awful dialogue, poor direction and no story at all.",
    "I hated this film. It is dull, badly written and far too long; avoid it.",
]
# (original, with its key phrase negated): P(positive) must go down.
NEGATIONS = [
    ("This movie is good.", "This movie is not good."),
    ("I liked the acting.", "I did not like the acting."),
    ("I would recommend this film to my friends.", "I would not recommend this film to my friends."),
    (
        "The story was interesting and the ending was satisfying.",
        "The story was not interesting and the ending was not satisfying.",
    ),
    ("It was worth watching.", "It was not worth watching."),
]
# (sentence, same with one word swapped for a synonym): P(positive) moves by at most SYNONYM_BOUND.
SYNONYM_BOUND = 0.1
SYNONYMS = [
    ("The film was great and the actors were brilliant.", "The movie was great and the actors were brilliant."),
    (
        "The director did an excellent job with a difficult story.",
        "The filmmaker did an excellent job with a difficult story.",
    ),
    ("The acting was terrible and the plot was boring.", "The acting was awful and the plot was boring."),
    (
        "I saw this film with my family last weekend and we all enjoyed it.",
        "I watched this film with my family last weekend and we all enjoyed it.",
    ),
    ("A lovely story with a happy ending.", "A charming story with a happy ending."),
]


@pytest.fixture(scope="module", params=CELLS)
def model_probabilities(request):
    """cell -> {sentence: P(positive)} for every sentence above, from the committed model."""
    from sentiment.network.model import load_model

    path = committed(f"{request.param}.keras")
    texts = [*CLEARLY_POSITIVE, *CLEARLY_NEGATIVE, *(t for pair in NEGATIONS + SYNONYMS for t in pair)]
    return request.param, dict(zip(texts, predict(load_model(path), texts).tolist()))


@pytest.mark.parametrize("index", range(len(CLEARLY_POSITIVE)))
def test_clearly_positive_review_is_positive(model_probabilities, index):
    cell, p = model_probabilities
    text = CLEARLY_POSITIVE[index]
    assert p[text] > 0.5, (cell, text, p[text])


@pytest.mark.parametrize("index", range(len(CLEARLY_NEGATIVE)))
def test_clearly_negative_review_is_negative(model_probabilities, index):
    cell, p = model_probabilities
    text = CLEARLY_NEGATIVE[index]
    assert p[text] < 0.5, (cell, text, p[text])


@pytest.mark.parametrize("index", range(len(NEGATIONS)))
def test_negating_the_key_phrase_lowers_p_positive(model_probabilities, index):
    cell, p = model_probabilities
    original, negated = NEGATIONS[index]
    assert p[negated] < p[original], (cell, original, p[original], negated, p[negated])


@pytest.mark.parametrize("index", range(len(SYNONYMS)))
def test_a_synonym_barely_moves_p_positive(model_probabilities, index):
    cell, p = model_probabilities
    a, b = SYNONYMS[index]
    assert abs(p[a] - p[b]) <= SYNONYM_BOUND, (cell, a, p[a], b, p[b])
