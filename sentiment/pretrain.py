"""Pre-training the classifier's reading layers as language models (Dai and
Le 2015, "Semi-supervised Sequence Learning"; the start of Miyato et al. 2017).

Before the classifier learns from labels, its word vectors and its first
recurrent layer learn from the training texts alone to predict each review's
next word (the forward direction) and its previous word (the backward
direction, which reads the review from the end). Fine-tuning on the labels
then starts from weights that already know which words go together.

Only the first recurrent layer: a second layer of a bidirectional stack reads
the first layer's backward states, which have seen the words it would have to
predict. The softmax over the vocabulary is sampled (Jean et al. 2015) in
training, since a full one costs more than the recurrent layer itself on a
CPU; the validation figure is the full softmax's cross-entropy, so it is the
real perplexity. The softmax weights are thrown away afterwards.
"""

from __future__ import annotations

import math
import time

import keras
import tensorflow as tf

from sentiment.fitting import batches_in, cosine_schedule
from sentiment.model import EMBEDDING
from sentiment.recurrent import Recurrent

# Words drawn per batch for the sampled softmax: a 40th of the default
# vocabulary, the order Jean et al. and TensorFlow's examples use.
SAMPLED = 512


def first_recurrent_layer(classifier: keras.Model) -> keras.layers.Layer:
    """The classifier's first `Recurrent` layer (or its `Bidirectional` wrapper)."""
    for layer in classifier.layers:
        if isinstance(getattr(layer, "forward_layer", layer), Recurrent):
            return layer
    raise ValueError(f"Model {classifier.name!r} has no recurrent layer of ours to pre-train.")


class LanguageModel(keras.Model):
    """Next-word (and, for a bidirectional layer, previous-word) prediction
    with the ``classifier``'s own embedding, input dropout and first
    recurrent layer: training it trains them.

    Its readers are new `Recurrent` layers around the classifier's cells
    (the same weights), so that they return every step's state whatever the
    classifier's layer returns (a last-state model returns only the final one).
    """

    def __init__(self, classifier: keras.Model, sampled: int = SAMPLED, seed: int = 1337, **kwargs):
        super().__init__(**kwargs)
        self.embedding = classifier.get_layer(EMBEDDING)
        self.input_dropouts = [
            layer for layer in classifier.layers if layer.name in ("token_dropout", "embedding_dropout")
        ]
        first = first_recurrent_layer(classifier)
        layers = [first.forward_layer, first.backward_layer] if hasattr(first, "forward_layer") else [first]
        self.readers = [
            Recurrent(layer.cell, return_sequences=True, go_backwards=layer.go_backwards) for layer in layers
        ]
        self.vocab_size = self.embedding.input_dim
        self.sampled = min(int(sampled), self.vocab_size - 1)
        self.seed = int(seed)
        units = layers[0].cell.output_size
        self.softmax_kernels = [
            self.add_weight(shape=(self.vocab_size, units), initializer="glorot_uniform", name=f"softmax_kernel_{n}")
            for n in range(len(self.readers))
        ]
        self.softmax_biases = [
            self.add_weight(shape=(self.vocab_size,), initializer="zeros", name=f"softmax_bias_{n}")
            for n in range(len(self.readers))
        ]
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.val_tracker = keras.metrics.Mean(name="cross_entropy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.val_tracker]

    def pairs(self, ids, training: bool):
        """Per reader: (states, target ids), the states that predict each
        target, for the steps where both the word read and the word to
        predict are words (not padding)."""
        ids = tf.cast(ids, "int64")
        mask = tf.not_equal(ids, 0)
        x = self.embedding(ids)
        for dropout in self.input_dropouts:
            x = dropout(x, training=training)
        out = []
        for reader in self.readers:
            states = reader(x, mask=mask, training=training)
            if reader.go_backwards:
                # Back in token order: the state at t has read t..end and predicts t-1.
                states = tf.reverse(states, axis=[1])
                read, target, keep = states[:, 1:], ids[:, :-1], mask[:, 1:] & mask[:, :-1]
            else:
                read, target, keep = states[:, :-1], ids[:, 1:], mask[:, :-1] & mask[:, 1:]
            out.append((tf.boolean_mask(read, keep), tf.boolean_mask(target, keep)))
        return out

    def train_step(self, ids):
        with tf.GradientTape() as tape:
            losses = []
            for n, (read, target) in enumerate(self.pairs(ids, training=True)):
                losses.append(
                    tf.nn.sampled_softmax_loss(
                        self.softmax_kernels[n],
                        self.softmax_biases[n],
                        tf.expand_dims(target, -1),
                        tf.cast(read, "float32"),
                        num_sampled=self.sampled,
                        num_classes=self.vocab_size,
                        seed=self.seed + n,
                    )
                )
            loss = tf.reduce_mean(tf.concat(losses, axis=0))
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, ids):
        """The full softmax's cross-entropy per predicted word (nats)."""
        for n, (read, target) in enumerate(self.pairs(ids, training=False)):
            logits = tf.matmul(tf.cast(read, "float32"), self.softmax_kernels[n], transpose_b=True)
            logits += self.softmax_biases[n]
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
            self.val_tracker.update_state(ce)
        return {"cross_entropy": self.val_tracker.result()}


def pretrain(
    classifier: keras.Model,
    train_ids: tf.data.Dataset,
    val_ids: tf.data.Dataset | None,
    epochs: int,
    learning_rate: float,
    clipnorm: float = 1.0,
    seed: int = 1337,
) -> dict:
    """Trains ``classifier``'s embedding and first recurrent layer as language
    models on the texts of ``train_ids`` (batches of token ids; no labels).

    Args:
        classifier: token ids -> P(positive), as `sentiment.model.build_classifier` makes it.
        train_ids: batches of token ids (batch, time), right-padded with 0.
        val_ids: the same for validation texts, or None.
        epochs: passes over ``train_ids``.
        learning_rate: Adam's, decayed to 5% along a cosine over the epochs.
        clipnorm: gradient clipping by norm (0: off).
        seed: the sampled softmax's draws and the softmax weights' start.

    Returns:
        A dict: ``loss`` (sampled-softmax loss per epoch), ``val_perplexity``
        (per epoch, the full softmax's; empty without ``val_ids``) and ``seconds``.
    """
    if epochs < 1:
        raise ValueError(f"`epochs` must be at least 1. Received: epochs={epochs}")
    keras.utils.set_random_seed(seed)
    lm = LanguageModel(classifier, seed=seed, name="language_model")
    schedule = cosine_schedule(learning_rate, batches_in(train_ids) * epochs)
    lm.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=clipnorm or None))
    start = time.perf_counter()
    history = lm.fit(
        train_ids,
        validation_data=val_ids,
        epochs=epochs,
        shuffle=False,
        verbose=2,
    ).history
    val = history.get("val_cross_entropy", [])
    return {
        "loss": [float(v) for v in history["loss"]],
        "val_perplexity": [float(math.exp(v)) for v in val],
        "seconds": time.perf_counter() - start,
    }


def texts_only(ds: tf.data.Dataset) -> tf.data.Dataset:
    """A dataset of (ids, label[, ...]) batches as batches of ids alone."""
    return ds.map(lambda ids, *rest: ids, num_parallel_calls=tf.data.AUTOTUNE)
