"""The words and sentences the behavioural suite (`sentiment.experiments.suite`)
fills its templates with, written for it before any model was scored on them.

Every list is split in two by `halves`: the suite is scored on the first half
(even positions) only; the second half (odd positions) is kept for anything
trained on template sentences, so that a model is never scored on a word it
was trained on in that slot (the training rules of `sentiment.data.rules`
read the second half).
"""

from __future__ import annotations

POSITIVE = (
    "good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "amazing", "fantastic", "superb",
    "beautiful", "funny", "moving", "impressive", "delightful", "terrific", "charming", "gripping", "clever",
    "outstanding", "memorable",
)  # fmt: skip
NEGATIVE = (
    "bad", "terrible", "boring", "awful", "dull", "horrible", "poor", "stupid", "disappointing", "weak",
    "pointless", "painful", "tedious", "dreadful", "mediocre", "lame", "predictable", "annoying", "unwatchable",
    "forgettable",
)  # fmt: skip
# What "The {noun} was {adjective}." is said of.
NOUNS = (
    "movie", "film", "story", "acting", "script", "plot", "cast", "ending", "direction", "dialogue",
    "soundtrack", "performance",
)  # fmt: skip
FILMS = ("movie", "film", "picture", "show", "comedy", "drama", "thriller", "sequel")
BEST = ("best", "finest", "greatest", "funniest", "most touching", "smartest")
WORST = ("worst", "dullest", "weakest", "silliest", "most boring", "laziest")
LIKE = ("like", "enjoy", "love", "recommend", "appreciate", "admire")
DISLIKE = ("hate", "dislike", "regret watching", "mind", "resent", "despise")
INTENSIFIERS = ("very", "really", "extremely", "truly", "incredibly", "absolutely", "remarkably", "so")
DIMINISHERS = ("somewhat", "slightly", "fairly", "a bit", "kind of", "rather", "mildly", "sort of")
FIRST_NAMES = (
    "John", "Mary", "David", "Sarah", "Michael", "Emma", "James", "Laura", "Robert", "Anna", "Peter", "Julia",
    "Daniel", "Grace", "Thomas", "Nora",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Clark", "Lewis", "Walker",
    "Hall", "Young", "King", "Wright", "Scott",
)  # fmt: skip
TITLES = (
    "The Long Night", "Blue River", "Silent Harbor", "Winter Road", "The Last Train", "Paper Moon Rising",
    "A Quiet Street", "The Glass House", "Northern Lights", "Broken Compass", "The Red Door", "Summer Fields",
)  # fmt: skip
# Sentences with no verdict in them: "a neutral sentence added" must not change one.
NEUTRAL = (
    "I watched it on a Sunday afternoon.",
    "The film runs for about two hours.",
    "I saw it with my brother.",
    "It came out in the spring.",
    "The story takes place in a small town.",
    "I rented it last week.",
    "Most of it was shot in Canada.",
    "I watched it on television.",
    "It is based on a novel.",
    "The director also wrote the script.",
    "There are three main characters.",
    "I saw it at a festival last year.",
)
CLEARLY_POSITIVE = (
    "I loved every minute of it.",
    "Highly recommended.",
    "It is one of the best films of the year.",
    "I would happily watch it again.",
    "The whole cast is excellent.",
    "A wonderful film from start to finish.",
    "I was moved to tears.",
    "It is a real gem.",
    "Everyone should see it.",
    "I enjoyed it enormously.",
)
CLEARLY_NEGATIVE = (
    "I hated every minute of it.",
    "A complete waste of time.",
    "It is one of the worst films of the year.",
    "I want those two hours back.",
    "The whole cast is hopeless.",
    "Avoid it at all costs.",
    "I nearly walked out.",
    "It is a total mess.",
    "Nobody should see it.",
    "I was bored to death.",
)


def halves(words: tuple) -> tuple[tuple, tuple]:
    """(the suite's half, the remedies' half) of a list: even and odd positions."""
    return words[0::2], words[1::2]
