"""Token ids in batches: what training and evaluation feed the classifier.

Texts become token ids once (`token_ids`, through the model's own text ->
ids layers), then `batches` pads each batch only to its own longest review.
A table too large for memory is streamed (`StreamedIds`): its ids are made
again on each pass over the file.

"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

SORT_CHUNK = 32  # training batches sorted by length together, per chunk


def text_batches(texts, batch_size: int = 1024):
    """Lists of up to ``batch_size`` texts, in order: slices of a list, or
    chunks read from the file of a streamed table's texts."""
    if hasattr(texts, "batches"):
        yield from texts.batches(batch_size)
        return
    for start in range(0, len(texts), batch_size):
        yield list(texts[start : start + batch_size])


def adaptable(texts, batch_size: int = 1024):
    """What a TextVectorization's ``adapt`` reads: the texts themselves, or, for
    a streamed table, a tf.data dataset of them batched (read from the file as
    ``adapt`` consumes it)."""
    if hasattr(texts, "dataset"):
        return texts.dataset().batch(batch_size)
    return texts


class StreamedIds:
    """The kept token ids of a streamed table's texts, computed again on each
    pass over the file (never all held): what `token_ids` returns for texts
    that are not a list. `batches` and `evaluation.predictions.predict_token_ids` stream
    them; iterating gives each review's ids, in order."""

    def __init__(self, texts, to_ids, batch_size: int = 1024):
        self.texts, self.to_ids, self.batch_size = texts, to_ids, batch_size

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        for batch in text_batches(self.texts, self.batch_size):
            ids = np.asarray(self.to_ids(tf.constant(batch)))
            for row, n in zip(ids, np.count_nonzero(ids, axis=1)):
                yield row[:n].copy()


def token_ids(texts: list[str], to_ids, batch_size: int = 1024) -> list[np.ndarray] | StreamedIds:
    """Each text's kept token ids (no padding), from a text -> ids model
    (for a streamed table's texts: a `StreamedIds`, computed as it is read)."""
    if not isinstance(texts, (list, tuple)):
        return StreamedIds(texts, to_ids, batch_size)
    out = []
    for start in range(0, len(texts), batch_size):
        ids = np.asarray(to_ids(tf.constant(texts[start : start + batch_size])))
        lengths = np.count_nonzero(ids, axis=1)
        out.extend(row[:n] for row, n in zip(ids, lengths))
    return out


def token_counts(texts: list[str], vectorize, batch_size: int = 1024) -> np.ndarray:
    """Each text's number of tokens before any length limit, from a
    TextVectorization (or any text -> right-padded ids function)."""
    counts = []
    for batch in text_batches(texts, batch_size):
        counts.append(np.count_nonzero(np.asarray(vectorize(tf.constant(batch))), axis=1))
    return np.concatenate(counts) if counts else np.zeros(0, "int64")


def batches(
    ids: list[np.ndarray], labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0
) -> tf.data.Dataset:
    """(ids, label) batches, right-padded with 0 only to their own longest review.

    Evaluation batches (``shuffle=False``) come sorted by length. Training
    batches are "sortish": each epoch shuffles the reviews, sorts them by length
    within chunks of ``SORT_CHUNK`` batches (little padding), and shuffles the
    batches. Every training batch holds exactly ``batch_size`` reviews (the
    last one is topped up with the start of the next shuffle), so the batch size
    is static in the traced training step: on this CPU that makes a step about
    twice as fast as with an unknown batch size (see benchmark.py).

    ``ids`` may be a `StreamedIds` (a table too large for memory): then the
    batches are read from the file as they are used; see `_streamed_batches`.
    """
    if isinstance(ids, StreamedIds):
        return _streamed_batches(ids, labels, batch_size, shuffle, seed)
    lengths = np.array([max(len(x), 1) for x in ids])
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        ids, labels, lengths = [ids[i] for i in order], labels[order], lengths[order]
    flat = np.concatenate([x if len(x) else np.zeros(1, "int64") for x in ids]).astype("int64")
    reviews = tf.RaggedTensor.from_row_lengths(flat, lengths.astype("int64"))
    y = tf.constant(labels.astype("float32"))

    def gather(i):
        return tf.gather(reviews, i).to_tensor(), tf.gather(y, i)

    if not shuffle:
        return tf.data.Dataset.range(len(ids)).batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)

    size = min(batch_size, len(ids))
    steps = -(-len(ids) // size)
    chunk = size * SORT_CHUNK
    review_lengths = tf.constant(lengths)

    def by_length(i):
        return tf.gather(i, tf.argsort(tf.gather(review_lengths, i), stable=True))

    rows = (
        tf.data.Dataset.range(len(ids))
        .shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .take(steps * size)
        .batch(chunk)
        .map(by_length)
        .unbatch()
        .batch(size, drop_remainder=True)
        .shuffle(SORT_CHUNK, seed=seed, reshuffle_each_iteration=True)
    )

    def gather_full(i):
        x, labels = gather(i)
        return tf.ensure_shape(x, [size, None]), labels

    # A known length gives progress bars their total.
    return rows.map(gather_full).apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)


STREAM_SHUFFLE = 8192  # reviews shuffled together when a table is streamed


def _streamed_batches(ids: StreamedIds, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0):
    """`batches` for a streamed table: the same padding and, for training,
    the same static batch size and topping-up, but evaluation batches come in
    the file's order (not sorted by length), and training shuffles within a
    buffer of ``STREAM_SHUFFLE`` reviews (then sorts by length within chunks of
    ``SORT_CHUNK`` batches) instead of over the whole set, which is never held."""
    labels = np.asarray(labels, "float32")

    def rows():
        for x, y in zip(ids, labels):
            yield x.astype("int64"), y

    spec = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([], tf.float32))
    reviews = tf.data.Dataset.from_generator(rows, output_signature=spec)
    if not shuffle:
        steps = -(-len(ids) // batch_size)
        padded = reviews.padded_batch(batch_size).apply(tf.data.experimental.assert_cardinality(steps))
        return padded.prefetch(tf.data.AUTOTUNE)
    size = min(batch_size, len(ids))
    steps = -(-len(ids) // size)

    def by_length(x, y):
        order = tf.argsort(x.row_lengths(), stable=True)
        return tf.gather(x, order), tf.gather(y, order)

    batched = (
        reviews.shuffle(STREAM_SHUFFLE, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .take(steps * size)
        .ragged_batch(size * SORT_CHUNK)
        .map(by_length)
        .unbatch()
        .ragged_batch(size, drop_remainder=True)
        .map(lambda x, y: (tf.ensure_shape(x.to_tensor(), [size, None]), y))
        .shuffle(SORT_CHUNK, seed=seed, reshuffle_each_iteration=True)
    )
    return batched.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)


def mixed_batches(main: tf.data.Dataset, *others: tuple[tf.data.Dataset, int], seed: int = 0) -> tf.data.Dataset:
    """Every batch of ``main`` and, for each ``(other, steps)``, ``steps``
    batches of ``other``, in a random order that changes each epoch: more
    sources of labelled texts (SST's phrases, the training rules' sentences)
    mixed into IMDB's training with batches of their own.

    Each batch comes whole from one source, so a batch of 7-word phrases is
    never padded to a 230-word review (and each source sorts its texts by length
    as ``batches`` does). Every other source is read as an endless stream: each
    epoch starts a fresh shuffle of it, so with fewer steps than it holds each
    epoch sees another sample. All must give batches of one static size (the
    traced training step knows it); the result has ``main``'s batches plus
    every source's steps in each epoch, so the learning-rate schedule counts them all.
    """
    size = main.element_spec[0].shape[0]
    for other, _ in others:
        if other.element_spec[0].shape[0] != size:
            got = other.element_spec[0].shape[0]
            raise ValueError(
                f"mixed_batches: every source needs batches of one static size; got {size} and {got} "
                "(a source with fewer texts than a batch gives smaller ones)"
            )
    counts = [int(main.cardinality()), *(steps for _, steps in others)]
    choices = np.concatenate([np.full(n, k, "int64") for k, n in enumerate(counts)])
    order = tf.data.Dataset.from_tensor_slices(choices).shuffle(len(choices), seed=seed, reshuffle_each_iteration=True)
    mixed = tf.data.Dataset.choose_from_datasets([main, *(other.repeat() for other, _ in others)], order)
    return mixed.apply(tf.data.experimental.assert_cardinality(len(choices))).prefetch(tf.data.AUTOTUNE)
