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
    negated_forms,
    negation_forms_rows,
    negation_rows,
    polarity_words,
    split_sentences,
    unliked,
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


def test_the_negation_forms_rule_negates_the_same_sentences_in_every_form_that_reads_as_english():
    forms, label = negated_forms("The plot was really clever.", POLAR, EVERY)
    assert label == 1 and forms == [
        "The plot wasn't really clever.",
        "The plot was not really clever.",
        "The plot was never really clever.",
        "The plot was hardly really clever.",
        "The plot was far from really clever.",
        "I wouldn't say the plot was really clever.",
    ]
    assert negated_forms("It seems really lame.", POLAR, EVERY) == (
        ["It doesn't seem really lame.", "I wouldn't say it seems really lame."],
        0,
    )
    for sentence in ("The plot was good.", "The plot was not clever.", "Clever."):  # as the negation rule
        assert negated(sentence, POLAR, EVERY) is None and negated_forms(sentence, POLAR, EVERY) is None


@pytest.mark.parametrize(
    "sentence,expected",
    [
        ("I really enjoyed the stepping routines.", "I didn't really enjoy the stepping routines."),
        ("Honestly, I recommend it to anyone.", "Honestly, I don't recommend it to anyone."),
        ("I enjoyed it.", None),  # too short to be more than the verb
        ("I enjoyed the brilliant cast.", None),  # a polarity word: which one decides?
        ("I never enjoyed the second half.", None),  # negated already
        ("I liked the second half a lot.", None),  # "like" is the suite's half
    ],
)
def test_the_negation_forms_rule_negates_the_rules_half_of_the_liking_verbs(sentence, expected):
    assert unliked(sentence, EVERY) == expected


def test_negation_forms_rows_are_pairs_of_a_sentence_and_one_of_its_forms_seeded():
    reviews = ["Saw it twice. The plot was clever. I really enjoyed the stepping routines.", "It seems really lame."]
    rows = negation_forms_rows(reviews, seed=4)
    clever = "The plot was clever."
    assert rows.texts[0] == rows.texts[2] == clever and rows.texts[1] != rows.texts[3]
    assert {rows.texts[1], rows.texts[3]} <= set(negated_forms(clever, POLAR, EVERY)[0])
    enjoyed, lame = "I really enjoyed the stepping routines.", "It seems really lame."
    assert rows.texts[4:6] == [enjoyed, "I didn't really enjoy the stepping routines."]
    assert rows.texts[6:] == [lame, "It doesn't seem really lame.", lame, "I wouldn't say it seems really lame."]
    assert rows.labels.tolist() == [1, 0, 1, 0, 1, 0, 0, 1, 0, 1] and rows.ids[0] == "negation_forms:0"
    assert negation_forms_rows(reviews, seed=4).texts == rows.texts
    assert len(negation_forms_rows(reviews, at_most=1, seed=4)) == 4


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


def test_paired_batches_keep_each_sentence_beside_its_negation():
    from sentiment.data.batches import batches, mixed_batches, paired_batches

    # Pair k: a sentence of k + 2 tokens of id k + 1, and its negation, the same with a 99 ("not") added.
    ids = [x for k in range(24) for x in (np.full(k % 6 + 2, k + 1), np.append(np.full(k % 6 + 2, k + 1), 99))]
    labels = np.array([y for k in range(24) for y in (k % 2, 1 - k % 2)], "int32")
    pairs = paired_batches(ids, labels, 8, seed=3)
    assert int(pairs.cardinality()) == 6
    seen = []
    for x, y, flag in pairs:
        x, y, flag = x.numpy(), y.numpy(), flag.numpy()
        assert x.shape[0] == 8 and flag.tolist() == [1.0] * 8
        for a, b, ya, yb in zip(x[0::2], x[1::2], y[0::2], y[1::2]):
            k = a[0] - 1
            assert a[a > 0].tolist() == [k + 1] * (k % 6 + 2) and 99 in b and b[0] == k + 1  # sentence, negation
            assert (ya, yb) == (k % 2, 1 - k % 2)
            seen.append(k)
    assert sorted(seen) == list(range(24))  # each pair once an epoch

    unpaired = batches(ids, labels, 8, shuffle=True, seed=3)
    flags = {float(f.numpy().max()) for _, y, f in mixed_batches(unpaired, (pairs, 2), seed=0)}
    assert flags == {0.0, 1.0}  # the unpaired source's rows carry the flag too, as 0
    with pytest.raises(ValueError, match="even batch size and whole pairs.*batch_size=7"):
        paired_batches(ids, labels, 7)


def test_the_pair_term_asks_a_negation_to_move_p_the_other_way():
    import tensorflow as tf

    from sentiment.training.trainer import pair_term

    y = tf.constant([1.0, 0.0, 0.0, 1.0])
    both_read_the_same = tf.constant([0.9, 0.9, 0.3, 0.3])
    assert float(pair_term(y, both_read_the_same, tf.ones(4))) == pytest.approx(np.log(2), rel=1e-5)
    apart = tf.constant([0.9, 0.1, 0.2, 0.8])
    z = np.log(np.array([0.9, 0.1, 0.2, 0.8]) / np.array([0.1, 0.9, 0.8, 0.2]))
    expected = np.mean([np.log1p(np.exp(-(z[0] - z[1]))), np.log1p(np.exp(z[2] - z[3]))])
    assert float(pair_term(y, apart, tf.ones(4))) == pytest.approx(expected, rel=1e-5)
    assert float(pair_term(y, both_read_the_same, tf.zeros(4))) == 0.0  # no pairs in the batch
    assert float(pair_term(y, both_read_the_same, tf.constant([0.0, 0.0, 1.0, 1.0]))) == pytest.approx(np.log(2))
    p = tf.Variable([0.9, 0.9])
    with tf.GradientTape() as tape:
        term = pair_term(tf.constant([1.0, 0.0]), p, tf.ones(2))
    grad = tape.gradient(term, p).numpy()
    assert grad[0] < 0 < grad[1]  # descent raises the sentence's P and lowers its negation's


@pytest.mark.parametrize(
    "settings,message",
    [
        ('rules = ["negation", "sarcasm"]\nrule_weight = 0.5', "rules (set in --config) has no rule 'sarcasm'"),
        (
            'rules = ["contrast"]\nrule_weight = 0.5\npair_weight = 1.0',
            "pair_weight (set in --config) needs the negation rule",
        ),
        ('rules = ["negation"]\nrule_weight = 0.5\npair_weight = -1.0', "pair_weight (set in --config) must be >= 0"),
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
@pytest.mark.parametrize("pair_weight", [0.0, 1.0])
def test_a_run_trains_on_the_rules_sentences_and_says_how_many(pair_weight, tmp_path):
    from sentiment.evaluation.results import load_run_metrics

    table = _reviews_with_rule_sentences(tmp_path / "reviews.csv")
    recipe = f'rules = ["negation", "contrast"]\nrule_weight = 0.5\npair_weight = {pair_weight}\n'
    (tmp_path / "rules.toml").write_text(recipe)
    out = tmp_path / "out"
    common = ["--data", table, "--epochs", "1", *TINY_SIZE, "--batch-size", "8", "--cells", "gru", "--no-baseline"]
    result = run_train(*common, "--config", str(tmp_path / "rules.toml"), "--out", str(out))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    notes = load_run_metrics(out / "metrics.json").data.notes
    assert any(n.startswith("Rules: ") and "negation" in n and "contrast" in n for n in notes), notes
    assert any("pairs side by side" in n for n in notes) == bool(pair_weight), notes
    history = (out / "runs" / "gru.csv").read_text().splitlines()[0].split(",")
    assert ("pair_loss" in history) == bool(pair_weight), history
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
