"""Fitting one model: optimizer, callbacks, checkpoints, resume."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from sentiment.config import ConfigError, option
from sentiment.files import save_model
from sentiment.model import EMBEDDING, classifier_of


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN)."""


@dataclass
class FitConfig:
    """How a model is fitted: schedule, regularisers, early stopping."""

    epochs: int = option(3, "training epochs (early stopping may end sooner)")
    batch_size: int = option(64, "training reviews per batch")
    learning_rate: float = option(3e-3, "peak learning rate (cosine decay)")
    clipnorm: float = option(1.0, "gradient clipping by norm (0: off)")
    patience: int = option(2, "early stopping patience in epochs")
    seed: int = option(1337, "random seed")
    ema: float = option(0.0, "average the weights with this momentum, e.g. 0.99 (0: off)")
    adversarial: float = option(0.0, "adversarial training: size of the step on word vectors (0: off)")
    adversarial_every: int = option(
        1,
        "the adversarial pass trains on every K-th review of each batch (its word vectors still moved the "
        "way the whole batch's gradient says): it costs 1 + 1/K passes a batch instead of 2 (1: every review)",
    )
    virtual_adversarial: float = option(
        0.0, "virtual adversarial training (no labels needed): size of its step on word vectors (0: off)"
    )
    pretrain_epochs: int = option(
        0,
        "first train the word vectors and first recurrent layer as language models on the training texts "
        "for N epochs (sentiment.pretrain; 0: off)",
    )
    distill: float = option(
        0.0,
        "knowledge distillation: share X in [0, 0.5) of each training target taken from an NBSVM teacher's "
        "out-of-fold P(positive) (sentiment.distill; 0: the labels alone)",
    )

    def validate(self) -> "FitConfig":
        """Raises ``ConfigError`` (a ValueError naming the field) for a setting out of range."""
        for name in ("epochs", "batch_size", "patience", "adversarial_every"):
            if getattr(self, name) < 1:
                raise ConfigError(name, "must be at least 1", getattr(self, name))
        if self.learning_rate <= 0:
            raise ConfigError("learning_rate", "must be > 0", self.learning_rate)
        if self.clipnorm < 0:
            raise ConfigError("clipnorm", "must be >= 0", self.clipnorm)
        if not 0 <= self.ema < 1:
            raise ConfigError("ema", "must be in [0, 1)", self.ema)
        for name in ("adversarial", "virtual_adversarial", "pretrain_epochs"):
            if getattr(self, name) < 0:
                raise ConfigError(name, "must be >= 0", getattr(self, name))
        if not 0 <= self.distill < 0.5:  # the label keeps the majority (sentiment.distill.MAX_WEIGHT)
            raise ConfigError("distill", "must be in [0, 0.5)", self.distill)
        return self


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
        reshuffling on by an epoch (see `sentiment.keras_internals`). Built
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
            else:  # a soft target (--distill) rounds to its label
                metric.update_state(tf.round(y), y_pred)
        return self._logs({m.name: m.result() for m in self.metrics})


class WordAdversarial(Trainer):
    """Trains ``classifier`` on every batch twice: as it is, and with the vectors
    of the batch's words each moved by ``epsilon`` in the direction that most
    increases the loss. Adversarial training on word embeddings (Miyato et al.,
    2017, "Adversarial Training Methods for Semi-Supervised Text
    Classification"), here one step per word of the batch rather than per
    token. A regulariser: the classifier must not hang on exact word vectors.
    The gradient read (and clipped) is the sum of the passes'.

    ``every`` > 1 makes the step cheaper: the adversarial pass reads only every
    ``every``-th review of the batch (a stride, not the first ones: a batch is
    sorted by length), with the word vectors moved as the whole batch's gradient
    says. The clean pass, which finds that direction, reads them all.

    ``virtual`` > 0 adds the paper's *virtual* adversarial loss (its section
    3): the KL divergence between the prediction and the prediction with the
    word vectors moved by ``virtual`` in the direction that changes it most,
    found by one power iteration from a random direction. It needs no label,
    only the text: a smoothness penalty around each review. It costs two more
    passes a batch (four in all with ``epsilon``; three without).
    """

    # The power iteration's finite-difference step, as a share of ``virtual``:
    # small enough to measure the local curvature, large enough to stay above
    # float32 rounding of the KL divergence (Miyato et al. use 0.1 against a
    # step of 5 on whole normalised sequences; this is per word vector).
    PROBE = 0.1

    def __init__(
        self,
        classifier: keras.Model,
        epsilon: float,
        virtual: float = 0.0,
        seed: int = 1337,
        every: int = 1,
        **kwargs,
    ):
        super().__init__(classifier, **kwargs)
        if epsilon < 0 or virtual < 0 or not (epsilon or virtual):
            raise ValueError(
                "`epsilon` and `virtual` must be >= 0 and one of them > 0. "
                f"Received: epsilon={epsilon}, virtual={virtual}"
            )
        if int(every) != every or every < 1:
            raise ValueError(f"`every` must be a whole number >= 1. Received: every={every}")
        self.every = int(every)
        self.epsilon = float(epsilon)
        self.virtual = float(virtual)
        self.embeddings = classifier.get_layer(EMBEDDING).embeddings
        self.adversarial_loss = keras.metrics.Mean(name="adversarial_loss") if epsilon else None
        self.virtual_loss = keras.metrics.Mean(name="virtual_adversarial_loss") if virtual else None
        self.seed_generator = keras.random.SeedGenerator(seed)

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

    @staticmethod
    def _kl(p, q):
        """KL(Bernoulli(p) || Bernoulli(q)), averaged over the batch."""
        p, q = tf.cast(p, "float32"), tf.clip_by_value(tf.cast(q, "float32"), 1e-7, 1 - 1e-7)
        pc = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
        kl = p * tf.math.log(pc / q) + (1 - p) * tf.math.log((1 - pc) / (1 - q))
        return tf.reduce_mean(kl)

    def _gradients(self, x, y):
        y_pred, loss, total = self._loss_and_gradients(x, y)
        extra = {}
        if self.epsilon:
            step = self.epsilon * self._direction(total)
            xa, ya = x[:: self.every], y[:: self.every]  # every=1: the whole batch
            adv_loss, adv_grads = self._moved(
                step, lambda: self.compute_loss(x=xa, y=ya, y_pred=self(xa, training=True))
            )
            total = [a + b for a, b in zip(total, adv_grads)]
            extra[self.adversarial_loss] = adv_loss
        if self.virtual:
            target = tf.stop_gradient(y_pred)
            kl = lambda: self._kl(target, self(x, training=True)) / self.replicas  # noqa: E731 (as Keras scales a loss)
            probe = keras.random.normal(tf.shape(self.embeddings), seed=self.seed_generator)
            _, probe_grads = self._moved(self.PROBE * self.virtual * tf.math.l2_normalize(probe, axis=-1), kl)
            vat_loss, vat_grads = self._moved(self.virtual * self._direction(probe_grads), kl)
            total = [a + b for a, b in zip(total, vat_grads)]
            extra[self.virtual_loss] = vat_loss
        return y_pred, loss, total, extra


class GradientNorms(keras.callbacks.Callback):
    """Per epoch, from the per-step readings of `Trainer`: the median and the
    largest global gradient norm before clipping, and the share of steps in
    which ``clipnorm`` clipped some weight's gradient. They replace the
    per-step readings in the epoch's logs, so the CSV log and the history
    keep them (`grad_norm_median`, `grad_norm_max`, `clipped_share`)."""

    def __init__(self, clipnorm: float):
        super().__init__()
        self.clipnorm = clipnorm
        self.norms, self.largest = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.norms, self.largest = [], []

    def on_train_batch_end(self, batch, logs=None):
        if logs and "grad_norm" in logs:
            norm, largest = float(np.squeeze(logs["grad_norm"])), float(np.squeeze(logs["grad_norm_largest_weight"]))
            # A gradient that is not finite: a step that mixed precision's loss scaling skips (and rescales).
            if math.isfinite(norm) and math.isfinite(largest):
                self.norms.append(norm)
                self.largest.append(largest)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        # Keras's evaluation reports every metric, these among them (stale, or
        # zero): they are measured in training only. (Reporting them keeps the
        # names of its logs those of the model's metrics, so that Keras reads
        # the final figures from the metrics, summed over replicas, rather
        # than averaging each replica's.)
        training_only = (*STEP_READINGS, "adversarial_loss", "virtual_adversarial_loss")
        for name in (*STEP_READINGS, *(f"val_{n}" for n in training_only)):
            logs.pop(name, None)
        if self.norms:
            logs["grad_norm_median"] = float(np.median(self.norms))
            logs["grad_norm_max"] = float(np.max(self.norms))
            clipped = np.asarray(self.largest) > self.clipnorm if self.clipnorm else np.zeros(len(self.largest), bool)
            logs["clipped_share"] = float(np.mean(clipped))


def _logged_history(csv_path: str) -> dict[str, list[float]]:
    """Every epoch's logs from the CSV log, the last row of each epoch winning."""
    with open(csv_path, newline="") as f:
        rows = {int(row["epoch"]): row for row in csv.DictReader(f)}
    keys = [k for k in next(iter(rows.values())) if k != "epoch"] if rows else []
    history = {k: [float(rows[e][k]) for e in sorted(rows)] for k in keys}
    history["epoch"] = sorted(rows)  # 0-based, as Keras logs them
    return history


def _best_logged(csv_path: str, monitor: str = "val_loss") -> float:
    """The best ``monitor`` value in an earlier run's CSV log (inf if none)."""
    try:
        return min(_logged_history(csv_path)[monitor])
    except (OSError, KeyError, ValueError):
        return math.inf


@contextlib.contextmanager
def _sigint_deferred():
    """Ctrl-C inside the block takes effect when the block is done: then the
    handler that was in place runs (Python's raises KeyboardInterrupt). An
    ignored SIGINT (a job started with `&` from a script inherits it so) stays
    ignored."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous in (signal.SIG_IGN, None):
        yield  # None: a handler not set from Python, which could not be put back
        return
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        if callable(previous):
            previous(signal.SIGINT, caught[0])
        else:  # SIG_DFL: the default action (the process ends), now
            signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def _sigint_noted():
    """Yields a list that gets an entry at every Ctrl-C in the block (when
    Python's own handler is in place; it still raises KeyboardInterrupt)."""
    noted = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is not signal.default_int_handler:
        yield noted
        return

    def note(signum, frame):
        noted.append(signum)
        previous(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


class RaiseNotedInterrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt again after a Ctrl-C that Keras swallowed (Keras
    3.15: bare ``except:`` blocks in keras.src.utils.python_utils.pythonify_logs,
    run at every callback, and in saving_lib._save_model_to_fileobj catch it
    when it lands there, and training went on)."""

    def __init__(self, noted: list):
        super().__init__()
        self.noted = noted

    def _raise_if_noted(self, *args, **kwargs):
        if self.noted:
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_end = on_train_end = _raise_if_noted


class Backup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore, but Ctrl-C never cuts a backup half-written
    (Keras writes it in place, and --resume could not load a cut one)."""

    def on_epoch_end(self, epoch, logs=None):
        with _sigint_deferred():
            super().on_epoch_end(epoch, logs)


class SaveBest(keras.callbacks.Callback):
    """Saves the whole text -> probability model whenever validation loss improves
    (atomically: the checkpoint on disk is always a complete model)."""

    def __init__(self, full_model: keras.Model, path: str, monitor: str = "val_loss"):
        super().__init__()
        self.full_model, self.path, self.monitor = full_model, path, monitor
        self.best = math.inf
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.best_epoch = value, epoch + 1
            save_model(self.full_model, self.path)


# With --jit, batches are padded to a multiple of this many tokens: XLA compiles
# the step once per shape, and train.py's batches each have a length of their own.
JIT_LENGTH_MULTIPLE = 64


def batches_in(ds) -> int:
    """How many batches ``ds`` yields (counted when its cardinality is unknown)."""
    steps = int(ds.cardinality())
    return steps if steps >= 0 else sum(1 for _ in ds)


def cosine_schedule(learning_rate: float, steps: int):
    """``learning_rate`` decayed along a cosine to 5% of it over ``steps`` steps."""
    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps), alpha=0.05)


def _for_devices(ds, jit: bool, replicas: int):
    """``ds`` as the training step wants it: under several workers, sharded by
    element (each global batch split among the replicas; our datasets are
    built in memory, not read from files); with XLA, fewer batch lengths."""
    if replicas > 1:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        ds = ds.with_options(options)
    if jit:
        m = JIT_LENGTH_MULTIPLE

        def pad(x, y):
            return tf.pad(x, [[0, 0], [0, (m - tf.shape(x)[1] % m) % m]]), y

        ds = ds.map(pad)
    return ds


def fit(
    full_model: keras.Model,
    train_ds,
    val_ds,
    cfg: FitConfig,
    workdir: str,
    name: str,
    resume: bool,
    jit: bool = False,
) -> dict:
    """Trains the classifier part of ``full_model`` and restores its best weights.

    ``workdir`` receives ``{name}.best.keras`` (the best model so far),
    ``{name}.csv`` (one row an epoch), ``tensorboard/{name}`` and, while the
    run is under way, ``backup/{name}`` (what ``resume`` continues from).

    Under a ``tf.distribute`` strategy, call it in the strategy's scope, with
    ``full_model`` built there; ``train_ds`` yields global batches. ``jit``
    compiles the training step with XLA.
    """
    cfg.validate()
    classifier = classifier_of(full_model)
    if cfg.adversarial or cfg.virtual_adversarial:
        trainee = WordAdversarial(
            classifier, cfg.adversarial, virtual=cfg.virtual_adversarial, seed=cfg.seed, every=cfg.adversarial_every
        )
    else:
        trainee = Trainer(classifier)
    steps = batches_in(train_ds)
    schedule = cosine_schedule(cfg.learning_rate, steps * cfg.epochs)
    replicas = trainee.distribute_strategy.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise TrainingError(
            f"--batch-size {cfg.batch_size} is the global batch, split among {replicas} replicas: "
            f"make it a multiple of {replicas}."
        )
    backup = os.path.join(workdir, "backup", name)
    pretraining = None
    if cfg.pretrain_epochs and not (resume and os.path.isdir(backup)):  # a backup holds the pre-trained weights
        if replicas > 1:
            raise TrainingError(f"{name}: --pretrain-epochs runs on one device; train without --distribute.")
        from sentiment.pretrain import pretrain, texts_only  # only for --pretrain-epochs

        print(f"Pre-training {name}'s word vectors and first recurrent layer as language models")
        pretraining = pretrain(
            classifier, texts_only(train_ds), texts_only(val_ds), cfg.pretrain_epochs, cfg.learning_rate,
            cfg.clipnorm, cfg.seed,
        )  # fmt: skip
    train_ds, val_ds = _for_devices(train_ds, jit, replicas), _for_devices(val_ds, jit, replicas)
    trainee.data_spec = train_ds.element_spec
    trainee.compile(
        optimizer=keras.optimizers.Adam(
            schedule, clipnorm=cfg.clipnorm or None, use_ema=cfg.ema > 0, ema_momentum=cfg.ema or 0.99
        ),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        **({"jit_compile": True} if jit else {}),  # else Keras's default, as before --jit
    )
    if jit and not trainee.jit_compile:  # Keras warns and goes on without XLA
        raise TrainingError(
            f"{name}: --jit: Keras will not compile this model with XLA (it does not under TensorFlow's op "
            "determinism, nor with a layer that does not support XLA); train without --jit."
        )
    if not resume and os.path.isdir(backup):
        shutil.rmtree(backup)
    best_path = os.path.join(workdir, f"{name}.best.keras")
    csv_path = os.path.join(workdir, f"{name}.csv")
    save_best = SaveBest(full_model, best_path)
    if resume and os.path.exists(best_path):
        save_best.best = _best_logged(csv_path)  # do not overwrite a better checkpoint
    # Order matters at an epoch's end: the CSV row and the best checkpoint are
    # written before the backup marks the epoch done, so a run interrupted in
    # between repeats that epoch on --resume rather than losing its log row.
    callbacks = [
        GradientNorms(cfg.clipnorm),  # first: the epoch's logs then carry its figures
        keras.callbacks.TerminateOnNaN(),
        # Validation, checkpoints and the end of training see the averaged weights.
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if cfg.ema else []),
        keras.callbacks.CSVLogger(csv_path, append=resume),
        save_best,
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(os.path.join(workdir, "tensorboard", name), write_graph=False),
        Backup(backup),
    ]
    start = time.perf_counter()
    try:
        with _sigint_noted() as interrupted:
            history = trainee.fit(
                train_ds,
                validation_data=val_ds,
                epochs=cfg.epochs,
                callbacks=[*callbacks, RaiseNotedInterrupt(interrupted)],  # last: after the backup
                shuffle=False,  # the dataset shuffles itself
                verbose=1 if sys.stdout.isatty() else 2,  # one line an epoch in logs
            )
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as err:
        if not jit:
            raise
        # XLA refuses a graph with an op it has no kernel for on this device, naming it.
        first = next((line for line in str(err.message).splitlines() if line.strip()), type(err).__name__)
        raise TrainingError(
            f"{name}: --jit: XLA could not compile the training step on this device ({first[:500]}). "
            "Train without --jit."
        ) from err
    except KeyboardInterrupt:
        where = best_path if os.path.exists(best_path) else "nowhere yet (no epoch finished)"
        print(f"\nInterrupted. Best checkpoint of {name}: {where}. Run again with --resume to continue.")
        raise
    seconds = time.perf_counter() - start
    losses = history.history.get("loss", [])
    if not losses or not np.all(np.isfinite(losses)):
        raise TrainingError(
            f"{name}: the training loss became NaN/Inf (epoch losses: {losses}). "
            "Lower --learning-rate or --clipnorm and train again."
        )
    if save_best.best_epoch is not None:
        # EarlyStopping restores the best weights it saw, but not those of an
        # epoch before a --resume, which only the checkpoint holds.
        best = keras.saving.load_model(best_path, compile=False, safe_mode=True)
        classifier.set_weights(classifier_of(best).get_weights())
    full_history = _logged_history(csv_path)  # includes epochs before a --resume
    return {
        "history": full_history,
        "seconds": seconds,
        "epochs_run": len(full_history["epoch"]),
        "epochs_this_run": len(losses),
        "best_epoch": save_best.best_epoch,
        "best_checkpoint": best_path,
        "steps_per_epoch": steps,
        "pretraining": pretraining,  # sentiment.pretrain.pretrain's figures, or None
    }
