"""The training rules (sentiment/data/rules.py): which sentences the negation
rule takes and how it negates them, the contrast rule's "X, but Y", the words
kept apart from the suite's, and a run that trains on them."""

import csv

import numpy as np
import pytest

from conftest import TINY_SIZE, run_train
from sentiment.data import lexicon
from sentiment.data.rules import (
    CLAUSE_WORDS,
    contrast_rows,
    negated,
    negation_rows,
    polarity_words,
    split_sentences,
)
from sentiment.data.splits import Split, concatenated

POLAR = polarity_words()
EVERY = set(lexicon.POSITIVE) | set(lexicon.NEGATIVE)


@pytest.mark.parametrize(
    "sentence,expected",
    [
        ("The plot was clever.", ("The plot was not clever.", 1)),
        ("The ending was really awful!", ("The ending was not really awful!", 0)),
        ("It is what it is, and the score was charming.", ("It is what it is, and the score was not charming.", 1)),
        ("Clever.", None),  # too short
        ("The plot was not clever.", None),  # negated already
        ("The plot wasn't clever at all here.", None),
        ("The plot was clever and the cast was awful.", None),  # two polarity words: which one decides?
        ("The plot was good.", None),  # "good" is the suite's half: never taught
        ("I found the plot clever.", None),  # no copula before it
        ("The plot was, in my view, clever.", None),
    ],
)
def test_the_negation_rule_takes_one_polarity_word_after_a_copula(sentence, expected):
    assert negated(sentence, POLAR, EVERY) == expected


def test_the_rules_read_only_the_half_of_every_word_list_the_suite_is_never_scored_on():
    suite_half = set(lexicon.halves(lexicon.POSITIVE)[0] + lexicon.halves(lexicon.NEGATIVE)[0])
    assert POLAR and not suite_half & set(POLAR)
    assert {w for w, y in POLAR.items() if y == 1} <= set(lexicon.POSITIVE)


def test_negation_rows_are_pairs_of_opposite_labels_and_a_seeded_sample():
    reviews = [
        "Saw it twice.<br /><br />The plot was clever. The cast is awful.",
        "The music was beautiful! Nothing else was.",
        "I laughed. It seems really lame.",
    ]
    rows = negation_rows(reviews)
    assert rows.texts == [
        "The plot was clever.",
        "The plot was not clever.",
        "The cast is awful.",
        "The cast is not awful.",
        "The music was beautiful!",
        "The music was not beautiful!",
        "It seems really lame.",
        "It seems not really lame.",
    ]
    assert rows.labels.tolist() == [1, 0, 0, 1, 1, 0, 0, 1] and rows.ids[0] == "negation:0"
    two = negation_rows(reviews, at_most=2, seed=3)
    assert len(two) == 4 and two.texts == negation_rows(reviews, at_most=2, seed=3).texts
    assert set(two.texts) < set(rows.texts)
    assert split_sentences("One.<br />Two! Three?") == ["One.", "Two!", "Three?"]


def test_contrast_rows_join_opposite_verdicts_and_take_the_second_ones_label():
    pool = Split(
        ["The cast is awful.", "It was a joy.", "Dull, but pretty.", "A superb, moving piece of work!", "Bad."],
        np.array([0, 1, 1, 1, 0], "int32"),
    )
    rows = contrast_rows(pool, 40, seed=1)
    assert len(rows) == 40 and rows.labels.tolist() == [0, 1] * 20
    positives = {"It was a joy.", "A superb, moving piece of work!"}
    for text, y in zip(rows.texts, rows.labels):
        first, second = text.split(", but ")
        assert (second[:1].upper() + second[1:] in positives) == bool(y)
        assert first + "." in pool.texts or first + "!" in pool.texts
        assert "Dull" not in text and "Bad" not in text  # a turn of its own; under three words
    assert rows.texts == contrast_rows(pool, 40, seed=1).texts != contrast_rows(pool, 40, seed=2).texts
    long = Split(["word " * CLAUSE_WORDS + "awful.", "It was a joy."], np.array([0, 1], "int32"))
    with pytest.raises(ValueError, match="needs short sentences of both labels; got 0 negative and 1 positive"):
        contrast_rows(long, 4)


def test_splits_concatenate_in_order():
    a = Split(["x", "y"], np.array([1, 0], "int32"), ids=["a:0", "a:1"])
    b = Split(["z"], np.array([1], "int32"))
    both = concatenated(a, b)
    assert both.texts == ["x", "y", "z"] and both.labels.tolist() == [1, 0, 1] and both.ids == ["a:0", "a:1", ""]


def test_mixed_batches_take_any_number_of_sources():
    from sentiment.data.batches import batches, mixed_batches

    sources = [[np.full(40, 5)] * 32, [np.full(4, 6)] * 32, [np.full(9, 7)] * 32]
    main, *others = (batches(ids, np.full(32, k, "int32"), 8, shuffle=True, seed=k) for k, ids in enumerate(sources))
    mixed = mixed_batches(main, (others[0], 2), (others[1], 3), seed=0)
    seen = [int(y[0]) for _, y in mixed]
    assert sorted(seen) == [0] * 4 + [1] * 2 + [2] * 3


@pytest.mark.parametrize(
    "settings,message",
    [
        ('rules = ["negation", "sarcasm"]\nrule_weight = 0.5', "rules (set in --config) has no rule 'sarcasm'"),
        ('rules = ["negation"]', "rule_weight (set in --config) and rules go together"),
        ("rule_weight = 0.5", "rule_weight (set in --config) and rules go together"),
        ('rules = ["contrast"]\nrule_weight = -1.0', "rule_weight (set in --config) must be >= 0"),
    ],
)
def test_rule_settings_out_of_range_are_refused(settings, message, tmp_path, capsys):
    from sentiment.cli.train import parse_args

    (tmp_path / "run.toml").write_text(settings + "\n")
    with pytest.raises(SystemExit):
        parse_args(["--config", str(tmp_path / "run.toml")])
    assert message in capsys.readouterr().err


def _reviews_with_rule_sentences(path, n=80):
    """A table of reviews, each with a sentence both rules can use."""
    pos, neg = sorted(w for w, y in POLAR.items() if y), sorted(w for w, y in POLAR.items() if not y)
    nouns = lexicon.NOUNS
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(n):
            label = i % 2
            word = (pos if label else neg)[i % len(pos)]
            w.writerow([f"I saw it on a Sunday. The {nouns[i % len(nouns)]} was {word}.", label])
    return str(path)


@pytest.mark.slow
def test_a_run_trains_on_the_rules_sentences_and_says_how_many(tmp_path):
    from sentiment.evaluation.results import load_run_metrics

    table = _reviews_with_rule_sentences(tmp_path / "reviews.csv")
    (tmp_path / "rules.toml").write_text('rules = ["negation", "contrast"]\nrule_weight = 0.5\n')
    out = tmp_path / "out"
    common = ["--data", table, "--epochs", "1", *TINY_SIZE, "--batch-size", "8", "--cells", "gru", "--no-baseline"]
    result = run_train(*common, "--config", str(tmp_path / "rules.toml"), "--out", str(out))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    notes = load_run_metrics(out / "metrics.json").data.notes
    assert any(n.startswith("Rules: ") and "negation" in n and "contrast" in n for n in notes), notes
    assert load_run_metrics(out / "metrics.json").options["rules"] == ["negation", "contrast"]


@pytest.mark.slow
def test_a_run_whose_reviews_give_the_rules_too_little_stops_before_writing(tmp_path):
    from conftest import write_aclimdb

    data = write_aclimdb(tmp_path / "data", per_class=20)  # no sentence the negation rule takes
    (tmp_path / "rules.toml").write_text('rules = ["negation"]\nrule_weight = 0.5\n')
    out = tmp_path / "out"
    args = ["--data", data, "--epochs", "1", *TINY_SIZE, "--batch-size", "8", "--cells", "gru", "--no-baseline"]
    result = run_train(*args, "--config", str(tmp_path / "rules.toml"), "--out", str(out))
    assert result.returncode == 2 and "rules negation: 0 sentences" in result.stderr, result.stderr[-2000:]
    assert not (out / "metrics.json").exists()
