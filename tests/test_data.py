"""The IMDB loader on tiny aclImdb-layout folders and archives the tests write."""

import os
import time

import numpy as np
import pytest

from conftest import make_archive, write_aclimdb
from sentiment.data.batches import batches
from sentiment.data.imdb import load_reviews
from sentiment.data.splits import DataError, limit, train_val_split


def test_reads_folder(tmp_path):
    base = write_aclimdb(tmp_path)
    for source in (base, str(tmp_path)):  # the aclImdb folder or its parent
        d = load_reviews(source)
        assert len(d.train) == len(d.test) == 8
        assert d.train.labels.tolist() == [0] * 4 + [1] * 4
        assert d.train.texts[0] == "Awful. Just awful"  # <br /> cleaned
        assert d.train.groups is not None and d.train.groups[0].endswith("tt0000000/usercomments")


def test_reads_archive_same_as_folder(tmp_path):
    base = write_aclimdb(tmp_path / "src")
    archive = make_archive(base, str(tmp_path / "aclImdb_v1.tar.gz"))
    a, b = load_reviews(archive), load_reviews(base)
    assert a.train.texts == b.train.texts and a.test.texts == b.test.texts
    np.testing.assert_array_equal(a.train.labels, b.train.labels)
    np.testing.assert_array_equal(a.train.groups, b.train.groups)


def test_without_urls_files_there_are_no_groups(tmp_path):
    d = load_reviews(write_aclimdb(tmp_path, urls=False))
    assert d.train.groups is None and any("stratified" in n for n in d.notes)


@pytest.mark.parametrize(
    "breakage,match",
    [
        ("missing-test", r"test/neg"),
        ("empty-class", r"train/pos"),
        ("not-utf8", r"not UTF-8"),
        ("unreadable", r"Cannot read"),
    ],
)
def test_malformed_folder_is_a_clear_error(tmp_path, breakage, match):
    base = write_aclimdb(tmp_path, splits=("train",) if breakage == "missing-test" else ("train", "test"))
    if breakage == "empty-class":
        for name in os.listdir(os.path.join(base, "train", "pos")):
            os.remove(os.path.join(base, "train", "pos", name))
    elif breakage == "not-utf8":
        with open(os.path.join(base, "train", "pos", "0_9.txt"), "wb") as f:
            f.write(b"\xff\xfe bad bytes \xc3")
    elif breakage == "unreadable":
        # a folder where a review file should be (chmod does not stop root)
        os.mkdir(os.path.join(base, "train", "neg", "99_1.txt"))
    with pytest.raises(DataError, match=match):
        load_reviews(base)


def test_bad_paths_and_truncated_archive(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_reviews(tmp_path / "nothing")
    other = tmp_path / "reviews.txt"
    other.write_text("a,b\n")
    with pytest.raises(DataError, match="aclImdb folder .* or a table"):
        load_reviews(other)
    archive = make_archive(write_aclimdb(tmp_path / "src"), str(tmp_path / "a.tar.gz"))
    with open(archive, "rb") as f:
        head = f.read(os.path.getsize(archive) // 2)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(head)
    with pytest.raises(DataError, match="truncated"):
        load_reviews(truncated)


def test_tfds_offline_fails_fast_and_names_data_flag(monkeypatch):
    import socket

    import tensorflow_datasets as tfds

    class Unprepared:
        def is_prepared(self):
            return False

    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(tfds, "builder", lambda name: Unprepared())
    monkeypatch.setattr(socket, "create_connection", unreachable)
    start = time.perf_counter()
    with pytest.raises(DataError, match="--data"):
        load_reviews(None)
    assert time.perf_counter() - start < 10


def test_validation_split_is_grouped_by_movie_and_seeded(tmp_path):
    d = load_reviews(write_aclimdb(tmp_path, per_class=40))
    fit, val = train_val_split(d.train, 0.25, seed=3)
    assert len(fit) + len(val) == 80 and len(val) > 0
    assert not set(fit.groups) & set(val.groups)
    again, _ = train_val_split(d.train, 0.25, seed=3)
    assert again.texts == fit.texts


def test_limit_is_balanced_and_seeded(tmp_path):
    d = load_reviews(write_aclimdb(tmp_path, per_class=40))
    sub = limit(d.train, 20, seed=1)
    assert len(sub) == 20 and sub.labels.sum() == 10
    assert limit(d.train, 20, seed=1).texts == sub.texts


def test_batches_pad_little_and_keep_labels_aligned():
    rng = np.random.default_rng(0)
    # The first id names the review, so that we can tell which ones a batch holds.
    ids = [np.concatenate([[i + 2], rng.integers(2, 50, size=n)]) for i, n in enumerate(rng.integers(1, 300, size=500))]
    labels = np.array([len(x) % 2 for x in ids])  # label recoverable from the ids
    for shuffle in (True, False):
        padding = total = 0
        epochs = []
        dataset = batches(ids, labels, 32, shuffle=shuffle, seed=0)
        for _ in range(2 if shuffle else 1):  # as model.fit reads it: one dataset, new epochs
            names = []
            for x, y in dataset:
                x, y = x.numpy(), y.numpy()
                lengths = np.count_nonzero(x, axis=1)
                np.testing.assert_array_equal(lengths % 2, y)
                padding += x.size - lengths.sum()
                total += x.size
                names.extend(x[:, 0])
            epochs.append(names)
        assert padding / total < 0.15, (shuffle, padding / total)
        for names in epochs:  # every review, every epoch
            assert set(names) == {i + 2 for i in range(len(ids))}
        if shuffle:  # full batches (the last topped up), reshuffled each epoch
            assert len(epochs[0]) == len(epochs[1]) == 16 * 32
            assert epochs[0] != epochs[1]
        else:
            assert len(epochs[0]) == len(ids)
    order = np.argsort([len(x) for x in ids], kind="stable")  # evaluation batches: shortest first
    first = next(iter(batches(ids, labels, 32, shuffle=False)))[0].numpy()
    np.testing.assert_array_equal(first[0][: len(ids[order[0]])], ids[order[0]])


def test_training_batches_have_a_static_batch_size():
    """What keeps the traced training step fast: the batch size is known."""
    ids = [np.arange(2, 2 + n) for n in (3, 5, 7, 9, 11)]
    labels = np.array([0, 1, 0, 1, 0])
    x_spec, y_spec = batches(ids, labels, 4, shuffle=True).element_spec
    assert x_spec.shape.as_list() == [4, None] and y_spec.shape.as_list() == [4]
    # A training set smaller than a batch gives one batch of all of it.
    x_spec, _ = batches(ids, labels, 64, shuffle=True).element_spec
    assert x_spec.shape.as_list() == [5, None]
