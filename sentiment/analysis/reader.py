"""What every analysis reads of one saved model, made once per model.

A trace, an explanation and a gradient reach all read the same parts of a
model: the token ids it reads for a text, its embedding table, its recurrent
layers and their directions, and the head (everything after the last
recurrent layer: the pooling and the Dense layer, as a sub-model of the saved
model itself). `reader_of(model)` builds them once per model, with the
compiled passes (`sentiment.analysis.passes`) and the traced functions the
uncompiled references run (the compiled passes are kept in it too:
`sentiment.analysis.passes.passes_of`), and shares them between threads: the app serves
several sessions at once. Nothing is set on the Keras model.
"""

from __future__ import annotations

import functools
import threading
import weakref

import keras
import numpy as np
import tensorflow as tf

from sentiment.analysis.verdict import NoWordsError, Verdict
from sentiment.network.model import EMBEDDING, HEAD_TAIL, VECTORIZER, classifier_of, vocabulary_of
from sentiment.network.recurrent import Recurrent


def logit(p):
    """log(p / (1 - p)): what the classifier's sigmoid turned into P(positive)."""
    return tf.math.log(p) - tf.math.log1p(-p)


def recurrent_layers(model: keras.Model) -> list[tuple[keras.layers.Layer, list[tuple[str, Recurrent]]]]:
    """Each recurrent layer of the classifier, in order, with its directions."""
    found = []
    for layer in classifier_of(model).layers:
        if isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, Recurrent):
            if layer.merge_mode != "concat":
                raise ValueError(f"Reading a model needs merge_mode='concat'. Received: {layer.merge_mode!r}")
            found.append((layer, [("forward", layer.forward_layer), ("backward", layer.backward_layer)]))
        elif isinstance(layer, Recurrent):
            found.append((layer, [("forward", layer)]))
    if not found:
        raise ValueError(f"Model {model.name!r} has no recurrent layer of ours.")
    return found


def _masks(layer: keras.layers.Layer) -> list:
    """The inputs a layer was called with after its first (Keras lists the mask there)."""
    return keras.tree.flatten(layer.input)[1:]


class ModelReader:
    """The parts of one full sentiment model that the analyses read.

    Attributes:
        model, classifier: the full model (text in) and its classifier (ids in).
        layers: `recurrent_layers(model)`.
        table: the embedding table (a variable: row 0 is the padding vector).
        vocabulary: the token of each id, as an array.
        head: a sub-model from what the last recurrent layer gives (and its
            mask, where it gives every step) to P(positive).
        per_step: whether the last recurrent layer gives every step's state
            (max-and-mean pooling) or its final state only (pooling "last").
        max_length, head_tokens: the model's length limit and how many of
            the tokens it keeps come from a long review's start.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.classifier = classifier_of(model)
        self.embedding = self.classifier.get_layer(EMBEDDING)
        self.table = self.embedding.embeddings
        self.vocabulary = np.asarray(vocabulary_of(model))
        self.layers = recurrent_layers(model)
        last = self.last_layer = self.layers[-1][0]
        self.per_step = len(last.output.shape) == 3
        head_masks = _masks(last) if self.per_step else []
        self.head = keras.Model([last.output, *head_masks], self.classifier.output)
        self.head_masks = len(head_masks)
        head_tail = model.get_layer(HEAD_TAIL)
        self.max_length, self.head_tokens = head_tail.max_length, head_tail.head
        self._ids = keras.Model(model.input, {"all": model.get_layer(VECTORIZER).output, "kept": head_tail.output})
        self._lock = threading.RLock()
        self._memo: dict = {}

    # -- shared, built once -------------------------------------------------------------------------

    def memo(self, key, build):
        """``build()``, once per reader and ``key``, whichever thread asks first."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def function(self, fn, *bound, **kw):
        """``fn`` with ``bound`` first, traced once for this model (a
        tf.function given a model as an argument retraces for every model)."""
        key = (fn, *(id(b) for b in bound), *sorted(kw.items()))
        return self.memo(key, lambda: tf.function(functools.partial(fn, *bound, **kw), reduce_retracing=True))

    # -- reading a review ---------------------------------------------------------------------------

    def read(self, text: str) -> tuple[np.ndarray, int]:
        """The token ids the model reads for ``text`` (unpadded; none for a
        review without a word it knows), and the review's length in tokens
        before the model's length limit."""
        if not isinstance(text, str):
            raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
        ids, total = self.memo("read", self._build_read)(tf.constant(text))
        ids = ids.numpy()
        return ids[: np.count_nonzero(ids)], int(total)

    def _build_read(self):
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def run(text):
            out = self._ids(tf.reshape(text, [1]), training=False)
            return out["kept"][0], tf.math.count_nonzero(out["all"][0], dtype=tf.int32)

        return run

    def review_ids(self, text: str) -> np.ndarray:
        """The token ids the model reads for ``text``, unpadded.

        Raises:
            NoWordsError: the review has no token the model reads.
        """
        ids, _ = self.read(text)
        if len(ids) == 0:
            raise NoWordsError()
        return ids

    def tokens(self, ids) -> list[str]:
        return [str(t) for t in self.vocabulary[np.asarray(ids)]]

    def verdict(self, text: str) -> Verdict:
        """P(positive) of ``text`` from the whole saved model, and what of the review it read.

        Raises:
            NoWordsError: the review has no token the model reads.
        """
        if not isinstance(text, str):
            raise ValueError(f"`text` must be a string. Received: {type(text).__name__}")
        out = self._verdict_function()(tf.constant([text]))
        tokens = int(np.count_nonzero(out["kept"][0]))
        if tokens == 0:
            raise NoWordsError()
        total = int(np.count_nonzero(out["all"][0]))
        return Verdict(float(out["probability"][0, 0]), tokens, total, self.head_tokens)

    def _verdict_function(self):
        """One traced function: the probability and the token ids, from one pass of the saved model."""

        def build():
            model = self.model
            reading = keras.Model(
                model.input,
                {
                    "probability": model.output,
                    "all": model.get_layer(VECTORIZER).output,
                    "kept": model.get_layer(HEAD_TAIL).output,
                },
            )

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
            def run(texts):
                return reading(texts, training=False)

            return run

        return self.memo("verdict", build)

    def warm_verdicts(self) -> None:
        """Traces what `verdict` and `read` run, so that each is then milliseconds."""
        self._verdict_function()(tf.constant([""]))
        self.read("")

    # -- sub-models the uncompiled references read (Keras's own layers and loop) ----------------------

    @property
    def from_vectors(self) -> keras.Model:
        """Word vectors (and their mask: all True for a review's own tokens) -> P(positive)."""
        return self.memo(
            "from_vectors",
            lambda: keras.Model([self.embedding.output, *_masks(self.layers[0][0])], self.classifier.output),
        )

    @property
    def vector_masks(self) -> int:
        return len(_masks(self.layers[0][0]))

    @property
    def sequences(self) -> keras.Model:
        """Token ids -> what the last recurrent layer gives."""
        return self.memo("sequences", lambda: keras.Model(self.classifier.input, self.last_layer.output))

    @property
    def last_input(self) -> keras.Model:
        """Token ids -> what the last recurrent layer reads."""
        return self.memo(
            "last_input", lambda: keras.Model(self.classifier.input, keras.tree.flatten(self.last_layer.input)[0])
        )

    @property
    def directions(self) -> list[str]:
        """The last recurrent layer's directions, in the order Bidirectional concatenates them."""
        return [d for d, _ in self.layers[-1][1]]


_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader_of(model: keras.Model) -> ModelReader:
    """The model's `ModelReader`, built once and shared (kept while the model lives)."""
    with _readers_lock:
        reader = _readers.get(model)
        if reader is None:
            reader = _readers[model] = ModelReader(model)
        return reader
