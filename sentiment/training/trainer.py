"""The training step: Keras's, with the gradient read before clipping, and
adversarial training on word vectors (the regulariser the defaults use)."""

from __future__ import annotations

import keras
import tensorflow as tf

from sentiment.network.model import EMBEDDING


class LastValue(keras.metrics.Metric):
    """A metric whose result is the last value it was given (a per-step reading)."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        # Under several replicas each holds the same reading: read their mean, not their sum.
        self.value = self.add_variable(shape=(), initializer="zeros", aggregation="mean", name="value")

    def update_state(self, value):
        self.value.assign(tf.cast(value, self.dtype))

    def result(self):
        return tf.identity(self.value)


# Per-step readings that `GradientNorms` turns into per-epoch figures.
STEP_READINGS = ("grad_norm", "grad_norm_largest_weight")


class Trainer(keras.Model):
    """Trains ``classifier`` as Keras would, and reads the gradient at every
    step before the optimizer clips it: its global norm, and the largest norm
    of one weight's gradient (what Keras's ``clipnorm`` compares with the limit,
    weight by weight). `GradientNorms` turns them into per-epoch figures.

    Used for training only; the classifier (and the model that holds it) is
    what gets saved.

    Under a ``tf.distribute`` strategy of several replicas (built and compiled
    in its scope), a step does what one device does with the whole batch:
    Keras divides each replica's mean loss by the number of replicas, so the
    replicas' gradients *sum* to the global batch's; the step sums them
    (``all_reduce``) before it reads their norm, and clips the sum. Keras's
    optimizer would clip each replica's share before it sums them (Keras
    3.15), which is not what ``clipnorm`` means on one device, so `compile`
    takes ``clipnorm`` over from the optimizer under several replicas. The
    optimizer's own sum then adds up equal shares (a second all-reduce of the
    gradients a step: the price of leaving the update to Keras's optimizer).
    Under mixed precision (``LossScaleOptimizer``) the loss is scaled up before
    the gradient, and the readings are of the unscaled gradient.
    """

    def __init__(self, classifier: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.readings = [LastValue(name) for name in STEP_READINGS]
        self.clipnorm = None  # set by compile() under several replicas
        self.logs_as_vectors = False  # set by compile() under several workers
        self.data_spec = None  # the training data's element_spec: see _maybe_symbolic_build
        self.built = True  # nothing of its own to build: the classifier is built

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Under a strategy, Keras (3.15) builds the metrics, loss and
        optimizer from a batch it takes from a first pass over the data; that
        fails under several workers, and the extra pass moves tf.data's
        reshuffling on by an epoch (see `sentiment.network.keras_internals`). Built
        from ``data_spec`` (shapes and types) instead, when it is set."""
        if self._distribute_strategy is None or self.data_spec is None or data_batch is not None:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=self.data_spec)

    def compile(self, optimizer="rmsprop", **kwargs):
        replicas = self.distribute_strategy.num_replicas_in_sync
        self.clipnorm = None
        if replicas > 1 and (getattr(optimizer, "global_clipnorm", None) or getattr(optimizer, "clipvalue", None)):
            raise ValueError("Under several replicas the trainer clips by norm (clipnorm) only.")
        if replicas > 1 and getattr(optimizer, "clipnorm", None):
            self.clipnorm, optimizer.clipnorm = optimizer.clipnorm, None  # clipped in train_step, after the sum
        super().compile(optimizer=optimizer, **kwargs)
        strategy = self.distribute_strategy
        # Several workers: Keras (3.15) averages a step's logs over the
        # replicas along an axis 0, which scalars lack (keras-team/keras#20585).
        self.logs_as_vectors = replicas > 1 and replicas > len(strategy.extended.worker_devices)

    def _logs(self, logs: dict) -> dict:
        """A step's logs, each of shape (1,) where Keras needs an axis 0 to
        average them over workers (it gives back scalars). The epoch's
        figures Keras reads from the metrics, summed over replicas."""
        if not self.logs_as_vectors:
            return logs
        return keras.tree.map_structure(lambda value: tf.reshape(value, [1]), logs)  # (compile metrics: a dict)

    def test_step(self, data):
        return self._logs(super().test_step(data))

    @property
    def replicas(self) -> int:
        return self.distribute_strategy.num_replicas_in_sync

    def _summed(self, grads: list) -> list:
        """The sum of every replica's ``grads`` (unchanged on one device)."""
        if self.replicas == 1:
            return grads
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)

    def _loss_scale(self):
        """The factor mixed precision multiplies the loss by (None: none)."""
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            # What scale_loss multiplies by: the dynamic scale (before the
            # optimizer is built, in tf.function's first trace: the initial one).
            return self.optimizer.scale_loss(tf.constant(1.0))
        return None

    def call(self, x, training=False):
        return self.classifier(x, training=training)

    def _loss_and_gradients(self, x, y):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = self.optimizer.scale_loss(loss)  # mixed precision: times the loss scale; else the loss
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(scaled, self.trainable_weights)]
        return y_pred, loss, grads

    def _gradients(self, x, y):
        """(predictions, loss, gradients, extra metric values by metric)."""
        y_pred, loss, grads = self._loss_and_gradients(x, y)
        return y_pred, loss, grads, {}

    def train_step(self, data):
        x, y = data[:2]
        y_pred, loss, grads, extra = self._gradients(x, y)
        grads = self._summed(grads)  # the global batch's gradient (times the loss scale)
        scale = self._loss_scale()
        read = grads if scale is None else [g / scale for g in grads]
        norms = tf.stack([tf.norm(g) for g in read])
        self.readings[0].update_state(tf.linalg.global_norm(read))
        self.readings[1].update_state(tf.reduce_max(norms))
        if self.replicas > 1:
            if self.clipnorm:  # as Keras clips one weight's gradient, on the sum; scaled as the gradient is
                limit = self.clipnorm if scale is None else self.clipnorm * scale
                grads = [tf.clip_by_norm(g, limit) for g in grads]
            grads = [g / self.replicas for g in grads]  # the optimizer sums the replicas' (now equal) gradients
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        # Each replica's losses are divided by the number of replicas (see above).
        losses = 1 if self.replicas == 1 else self.replicas
        for metric in self.metrics:  # Keras tracks our metrics among them
            if metric in self.readings:
                continue
            if metric in extra:
                metric.update_state(extra[metric] * losses)
            elif metric.name == "loss":
                metric.update_state(loss * losses)
            else:
                metric.update_state(y, y_pred)
        return self._logs({m.name: m.result() for m in self.metrics})


class WordAdversarial(Trainer):
    """Trains ``classifier`` on every batch twice: as it is, and with the vectors
    of the batch's words each moved by ``epsilon`` in the direction that most
    increases the loss. Adversarial training on word embeddings (Miyato et al.,
    2017, "Adversarial Training Methods for Semi-Supervised Text
    Classification"), here one step per word of the batch rather than per
    token. A regulariser: the classifier must not hang on exact word vectors.
    The gradient read (and clipped) is the sum of the passes'.
    """

    def __init__(self, classifier: keras.Model, epsilon: float, **kwargs):
        super().__init__(classifier, **kwargs)
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be > 0. Received: epsilon={epsilon}")
        self.epsilon = float(epsilon)
        self.embeddings = classifier.get_layer(EMBEDDING).embeddings
        self.adversarial_loss = keras.metrics.Mean(name="adversarial_loss")

    def _moved(self, step, loss_of):
        """(loss, gradients) of ``loss_of()`` with the word vectors moved by
        ``step``; the vectors are put back exactly, not by subtracting it."""
        original = tf.identity(self.embeddings)
        self.embeddings.assign_add(step)
        with tf.GradientTape() as tape:
            loss = loss_of()
            scaled = self.optimizer.scale_loss(loss)
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(scaled, self.trainable_weights)]
        self.embeddings.assign(original)
        return loss, grads

    def _direction(self, grads):
        """Per word vector, the unit direction of the global batch's gradient
        (the same on every replica). Rows of words not in the batch have a
        zero gradient and stay put."""
        i = next(n for n, w in enumerate(self.trainable_weights) if w is self.embeddings)
        return tf.math.l2_normalize(self._summed([grads[i]])[0], axis=-1)

    def _gradients(self, x, y):
        y_pred, loss, total = self._loss_and_gradients(x, y)
        step = self.epsilon * self._direction(total)
        adv_loss, adv_grads = self._moved(step, lambda: self.compute_loss(x=x, y=y, y_pred=self(x, training=True)))
        total = [a + b for a, b in zip(total, adv_grads)]
        return y_pred, loss, total, {self.adversarial_loss: adv_loss}
