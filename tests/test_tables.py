"""Your own data: CSV, JSON Lines and Parquet tables as --data, their errors, and the streamed path."""

import csv
import json
import os

import numpy as np
import pytest

from conftest import TINY_REVIEWS, TINY_SIZE, run_train, write_aclimdb
from sentiment.data.batches import StreamedIds, batches, text_batches, token_ids
from sentiment.data.imdb import check_source, load_reviews
from sentiment.data.splits import DataError, clean, limit, train_val_split
from sentiment.data.table_texts import TableTexts
from sentiment.data.tables import TableConfig, load_table

# Twelve films, two reviews each (one of each class); texts repeat, ids do not.
ROWS = [
    {
        "review": TINY_REVIEWS[i % 8][0] + f" (no. {i})",
        "stars": "good" if TINY_REVIEWS[i % 8][1] else "bad",
        "film": i // 2,
    }
    for i in range(24)
]


def write_table(path, rows=ROWS, fmt=None):
    """``rows`` (dicts) as a CSV, JSON Lines or Parquet file, by ``path``'s suffix."""
    path = str(path)
    fmt = fmt or os.path.splitext(path)[1]
    if fmt == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    elif fmt in (".jsonl", ".json"):
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    else:
        import pandas as pd

        pd.DataFrame(rows).to_parquet(path)
    return path


OURS = TableConfig(text_column="review", label_column="stars", test_fraction=0.25)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_every_format_reads_the_same_reviews(tmp_path, suffix):
    d = load_table(write_table(tmp_path / f"reviews{suffix}"), OURS, seed=0)
    assert len(d.train) == 18 and len(d.test) == 6
    assert d.label_map == {"bad": 0, "good": 1}  # the later in sorted order is positive
    rows = {f"reviews{suffix}:{i + (2 if suffix == '.csv' else 1)}": r for i, r in enumerate(ROWS)}
    for split in (d.train, d.test):
        assert len(set(split.ids)) == len(split)
        for text, label, id_ in zip(split.texts, split.labels, split.ids):
            assert text == clean(rows[id_]["review"])  # the id leads back to the row
            assert label == (rows[id_]["stars"] == "good")
    assert d.test.labels.sum() == 3  # stratified
    again = load_table(tmp_path / f"reviews{suffix}", OURS, seed=0)
    assert again.test.ids == d.test.ids
    assert load_table(tmp_path / f"reviews{suffix}", OURS, seed=1).test.ids != d.test.ids


def test_csv_ids_are_the_line_a_record_starts_on(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('text,label\n"two\nlines",1\n\nplain,0\nmore,1\nless,0\n', encoding="utf-8")
    d = load_table(path, TableConfig(test_fraction=0.5), seed=0)
    ids = dict(zip(d.train.ids + d.test.ids, list(d.train.texts) + list(d.test.texts)))
    assert ids == {"r.csv:2": "two\nlines", "r.csv:5": "plain", "r.csv:6": "more", "r.csv:7": "less"}


def test_labels_zero_one_true_false_and_the_positive_label(tmp_path):
    rows = [{"text": t, "label": y} for t, y in TINY_REVIEWS]
    d = load_table(write_table(tmp_path / "ints.jsonl", rows), TableConfig(test_fraction=0.5))
    assert d.label_map == {"0": 0, "1": 1} and not any("labels" in n for n in d.notes)
    bools = [{"text": t, "label": bool(y)} for t, y in TINY_REVIEWS]
    assert load_table(write_table(tmp_path / "bools.jsonl", bools), TableConfig(test_fraction=0.5)).label_map == {
        "0": 0,
        "1": 1,
    }
    flipped = load_table(tmp_path / "ints.jsonl", TableConfig(test_fraction=0.5, positive_label="0"))
    assert flipped.label_map == {"0": 1, "1": 0} and "labels: '1' -> 0, '0' -> 1" in flipped.notes
    with pytest.raises(DataError, match="--positive-label 'yes' is not a label"):
        load_table(tmp_path / "ints.jsonl", TableConfig(positive_label="yes"))


def test_a_test_file_is_the_test_set_and_must_share_the_labels(tmp_path):
    train = write_table(tmp_path / "train.csv")
    test = write_table(tmp_path / "test.jsonl", [{k: r[k] for k in ("review", "stars")} for r in ROWS[:4]])
    config = TableConfig(text_column="review", label_column="stars", test_data=test, group_column="film")
    d = load_table(train, config)
    assert len(d.train) == 24 and d.test.ids == [f"test.jsonl:{i}" for i in range(1, 5)]
    assert d.test.labels.tolist() == [int(r["stars"] == "good") for r in ROWS[:4]]
    write_table(tmp_path / "other.jsonl", [{**ROWS[0], "stars": "meh"}])
    config.test_data = str(tmp_path / "other.jsonl")
    with pytest.raises(DataError, match=r"other\.jsonl line 1, column 'stars': the label 'meh' is not one of the trai"):
        load_table(train, config)


def test_group_column_keeps_groups_on_one_side_of_both_splits(tmp_path):
    config = TableConfig(text_column="review", label_column="stars", group_column="film", test_fraction=0.25)
    d = load_table(write_table(tmp_path / "r.csv"), config, seed=3)
    assert not set(d.train.groups) & set(d.test.groups)
    assert d.group_name == "column 'film'"
    fit, val = train_val_split(d.train, 0.25, seed=3)
    assert len(val) and not set(fit.groups) & set(val.groups)


def _bad(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "name,content,config,match",
    [
        # missing columns: in a CSV's header, a Parquet schema, a JSON line
        (
            "r.csv",
            b"review,label\nfine,1\n",
            {},
            r"r\.csv: no column 'text' \(--text-column\); its header has 'review'",
        ),
        ("r.parquet", None, {"label_column": "y"}, r"r\.parquet: no column 'y' \(--label-column\); its columns are"),
        ("r.jsonl", b'{"text": "a", "label": 1}\n{"text": "b"}\n', {}, r"r\.jsonl line 2: no 'label' field"),
        ("r.csv", b"text,label\ngood,1\nbad\n", {}, r"r\.csv line 3: 1 field\(s\), the header 2: no value for 'label'"),
        # more than two labels
        ("r.csv", b"text,label\na,pos\nb,neg\nc,neutral\n", {}, r"r\.csv line 4, column 'label': a third label 'neut"),
        # empty texts and labels
        ("r.csv", b"text,label\na,1\n  ,0\n", {}, r"r\.csv line 3, column 'text': empty text"),
        (
            "r.jsonl",
            b'{"text": "a", "label": 1}\n{"text": null, "label": 0}\n',
            {},
            r"line 2, column 'text': empty text",
        ),
        ("r.jsonl", b'{"text": 5, "label": 1}\n', {}, r"r\.jsonl line 1, column 'text': a text must be a string"),
        ("r.csv", b"text,label\na,1\nb,\n", {}, r"r\.csv line 3, column 'label': empty label"),
        ("r.csv", b"text,label,g\na,1,x\nb,0,\n", {"group_column": "g"}, r"line 3, column 'g': empty group"),
        # not UTF-8
        ("r.csv", b'text,label\na,1\n"b \xff",0\n', {}, r"r\.csv line 3, column 'text': not UTF-8 text"),
        (
            "r.jsonl",
            b'{"text": "a", "label": 1}\n{"text": "\xc3", "label": 0}\n',
            {},
            r"line 2, column 'text': not UTF-8",
        ),
        ("r.parquet", b"bytes", {}, r"r\.parquet row 2, column 'text': not UTF-8 text"),
        # a class with no rows
        (
            "r.csv",
            b"text,label\na,1\nb,1\n",
            {},
            r"r\.csv, column 'label': every row \(2\) has the label '1'; the class ",
        ),
        ("r.csv", b"text,label\na,pos\nb,pos\n", {}, r"label 'pos'; the class of a second label has no rows"),
        ("r.csv", b"text,label\na,1\nb,0\nc,0\n", {}, r"the label '1' \(class 1\) has only 1 row"),
        ("r.csv", b"text,label\n", {}, r"r\.csv has no rows"),
        # not a table of reviews at all
        ("r.json", b'[{"text": "a", "label": 1}]\n', {}, r"line 1: not a JSON object .*must be JSON Lines"),
        ("r.csv", b"", {}, r"r\.csv is empty"),
    ],
)
def test_bad_tables_are_clear_errors_naming_file_row_and_column(tmp_path, name, content, config, match):
    if name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp_path / name
        texts = pa.array([b"fine", b"\xff\xfe"], pa.binary()) if content == b"bytes" else pa.array(["a", "b"])
        pq.write_table(pa.table({"text": texts, "label": [1, 0]}), path)
    else:
        path = _bad(tmp_path, name, content)
    with pytest.raises(DataError, match=match):
        load_table(path, TableConfig(**config))


def test_sources_are_told_apart_before_anything_is_read(tmp_path):
    assert check_source(write_table(tmp_path / "r.csv")) == "table"
    assert check_source(write_aclimdb(tmp_path / "imdb")) == "folder"
    assert load_reviews(tmp_path / "r.csv", OURS).label_map == {"bad": 0, "good": 1}
    with pytest.raises(DataError, match="--test-data is for a table"):
        load_reviews(write_aclimdb(tmp_path / "imdb"), TableConfig(test_data="x.csv"))
    with pytest.raises(DataError, match="--test-data .*nothing.csv: no such file"):
        load_table(tmp_path / "r.csv", TableConfig(text_column="review", label_column="stars", test_data="nothing.csv"))


def test_streamed_table_reads_texts_from_the_file_on_each_pass(tmp_path):
    path = write_table(tmp_path / "r.csv")
    held = load_table(path, OURS, seed=0)
    streamed = load_table(path, TableConfig(**{**OURS.__dict__, "stream_above": 0}), seed=0)
    assert isinstance(streamed.train.texts, TableTexts) and any("streamed" in n for n in streamed.notes)
    for a, b in ((held.train, streamed.train), (held.test, streamed.test)):
        assert a.ids == b.ids and list(a.texts) == list(b.texts) == list(b.texts)  # twice: read again
        np.testing.assert_array_equal(a.labels, b.labels)
    # What train.py does with a split works on the streamed one too, in the file's order.
    fit, val = train_val_split(limit(streamed.train, 12, seed=0), 0.25, seed=0)
    fit_held, _ = train_val_split(limit(held.train, 12, seed=0), 0.25, seed=0)
    assert list(fit.texts) == fit_held.texts
    assert [len(b) for b in text_batches(fit.texts, 4)] == [4, 4, 1]
    with pytest.raises(TypeError, match="read in order"):
        fit.texts[0]
    with open(path, "a", encoding="utf-8") as f:
        f.write("a new review,good,99\n")
    with pytest.raises(DataError, match="changed while"):
        list(fit.texts)


def _streamed_and_held_ids(tmp_path):
    import tensorflow as tf

    path = write_table(tmp_path / "r.csv")
    held = load_table(path, OURS).train
    streamed = load_table(path, TableConfig(**{**OURS.__dict__, "stream_above": 0})).train

    def to_ids(texts):
        return (tf.strings.to_hash_bucket_fast(tf.strings.split(texts), 40) + 2).to_tensor()

    return held, token_ids(streamed.texts, to_ids, batch_size=5), token_ids(held.texts, to_ids)


def test_streamed_training_batches_hold_every_review_each_epoch(tmp_path):
    held, ids, expected = _streamed_and_held_ids(tmp_path)
    assert isinstance(ids, StreamedIds) and len(ids) == len(held)
    assert all(np.array_equal(a, b) for a, b in zip(ids, expected))
    labels = held.labels
    train = batches(ids, labels, 4, shuffle=True, seed=0)
    assert train.element_spec[0].shape.as_list() == [4, None] and train.cardinality() == 5
    for _ in range(2):  # every review every epoch, the last batch topped up; labels stay with their review
        seen = []
        for x, y in train:
            for row, label in zip(x.numpy(), y.numpy()):
                i = next(
                    i for i, e in enumerate(expected) if np.array_equal(row[: len(e)], e) and not row[len(e) :].any()
                )
                assert label == labels[i]
                seen.append(i)
        assert len(seen) == 20 and set(seen) == set(range(len(expected)))


@pytest.mark.slow
def test_streamed_predictions_match_the_held_ones(tmp_path):
    import keras

    from sentiment.evaluation.predictions import predict_token_ids

    _, ids, expected = _streamed_and_held_ids(tmp_path)
    model = keras.Sequential(
        [keras.layers.Embedding(42, 3, mask_zero=True), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)]
    )
    np.testing.assert_allclose(predict_token_ids(model, ids, 4), predict_token_ids(model, expected, 4), atol=1e-6)


@pytest.mark.slow
def test_train_py_on_a_streamed_csv_with_a_jsonl_test_file(tmp_path):
    """The streamed path end to end: adapt, training epochs and evaluation read the file."""
    from sentiment.evaluation.predictions import load_test_predictions
    from sentiment.evaluation.results import load_run_metrics

    train = write_table(tmp_path / "train.csv", ROWS * 2)
    test = write_table(tmp_path / "test.jsonl", ROWS[:6])
    out = tmp_path / "out"
    (tmp_path / "stream.toml").write_text("stream_above = 0.0\n")  # a setting of config files only
    result = run_train(
        "--data", train, "--test-data", test, "--text-column", "review", "--label-column", "stars",
        "--group-column", "film", "--config", str(tmp_path / "stream.toml"), "--epochs", "1", *TINY_SIZE,
        "--cells", "gru", "--batch-size", "8", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "labels: 'bad' -> 0, 'good' -> 1" in result.stdout and "train.csv streamed" in result.stdout
    metrics = load_run_metrics(out / "metrics.json")
    assert metrics.data.label_map == {"bad": 0, "good": 1}
    assert metrics.data.test == 6 and metrics.data.val_split == "grouped by column 'film'"
    assert metrics.options["stream_above"] == 0 and metrics.options["test_data"] == test
    assert load_test_predictions(out / "test_predictions.npz")["ids"] == [f"test.jsonl:{i}" for i in range(1, 7)]


@pytest.mark.slow
def test_train_py_refuses_a_bad_table_before_training(tmp_path):
    path = _bad(tmp_path, "r.csv", b"text,label\na,pos\nb,neg\nc,neutral\n")
    result = run_train("--data", str(path), "--out", str(tmp_path / "out"), timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "r.csv line 4, column 'label': a third label 'neutral'" in result.stderr
    assert not (tmp_path / "out" / "lstm.keras").exists()
