"""Fitting one model: the schedule, the training step, callbacks, checkpoints, resume.

    result = fit(model, train_ds, val_ds, FitConfig(epochs=3), workdir, "lstm")
    result.best_epoch, result.history["val_accuracy"]

Errors name the parameter to change (```batch_size```); train.py says them in
command-line terms (``--batch-size``).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from sentiment.core.settings import ConfigError, in_option_terms, option
from sentiment.network.model import classifier_of
from sentiment.training.callbacks import (
    Backup,
    GradientNorms,
    RaiseNotedInterrupt,
    SaveBest,
    best_logged,
    logged_history,
    sigint_noted,
)
from sentiment.training.trainer import Trainer, WordAdversarial

# With `jit`, batches are padded to a multiple of this many tokens: XLA compiles
# the step once per shape, and train.py's batches each have a length of their own.
JIT_LENGTH_MULTIPLE = 64


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN). The message names the
    settings to change as ```name```; `for_option` says it for the command line."""

    def for_option(self) -> str:
        return in_option_terms(str(self))


@dataclass
class FitConfig:
    """Fitting: schedule, regularisers, early stopping."""

    epochs: int = option(3, "training epochs (early stopping may end sooner)")
    batch_size: int = option(64, "training reviews per batch")
    learning_rate: float = option(3e-3, "peak learning rate (cosine decay)")
    clipnorm: float = option(1.0, "gradient clipping by norm (0: off)")
    patience: int = option(2, "early stopping patience in epochs")
    seed: int = option(1337, "random seed")
    adversarial: float = option(0.0, "adversarial training: size of the step on word vectors (0: off)")

    def validate(self) -> "FitConfig":
        """Raises ``ConfigError`` (a ValueError naming the field) for a setting out of range."""
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ConfigError(name, "must be at least 1", getattr(self, name))
        if self.learning_rate <= 0:
            raise ConfigError("learning_rate", "must be > 0", self.learning_rate)
        for name in ("clipnorm", "adversarial"):
            if getattr(self, name) < 0:
                raise ConfigError(name, "must be >= 0", getattr(self, name))
        return self


@dataclass
class FitResult:
    """What one fit did. ``history`` has a list per logged figure (loss,
    val_accuracy, grad_norm_median, ...), one value an epoch, and "epoch"
    (0-based), the epochs before a resume included."""

    history: dict[str, list[float]]
    seconds: float  # this run's training time (not the epochs before a resume)
    epochs_run: int  # every epoch, those before a resume included
    epochs_this_run: int
    best_epoch: int | None  # 1-based: whose weights the model now has; None if no epoch improved
    best_checkpoint: str  # the best full model so far, as a .keras file
    steps_per_epoch: int

    def val_accuracy_at_best(self) -> float:
        """Validation accuracy of the epoch whose weights were kept (the last epoch's if none was)."""
        best = (self.best_epoch or self.epochs_run) - 1
        epochs = self.history["epoch"]
        return self.history["val_accuracy"][epochs.index(best) if best in epochs else -1]


def batches_in(ds) -> int:
    """How many batches ``ds`` yields (counted when its cardinality is unknown)."""
    steps = int(ds.cardinality())
    return steps if steps >= 0 else sum(1 for _ in ds)


def cosine_schedule(learning_rate: float, steps: int):
    """``learning_rate`` decayed along a cosine to 5% of it over ``steps`` steps."""
    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps), alpha=0.05)


def for_devices(ds, jit: bool, replicas: int):
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


def make_trainer(classifier: keras.Model, cfg: FitConfig, steps: int, jit: bool, data_spec) -> Trainer:
    """The compiled training model of ``classifier``: Adam on a cosine
    schedule, clipping, and the adversarial step where ``cfg`` asks for it."""
    trainee = WordAdversarial(classifier, cfg.adversarial) if cfg.adversarial else Trainer(classifier)
    replicas = trainee.distribute_strategy.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise TrainingError(
            f"`batch_size` {cfg.batch_size} is the global batch, split among {replicas} replicas: "
            f"make it a multiple of {replicas}."
        )
    trainee.data_spec = data_spec
    trainee.compile(
        optimizer=keras.optimizers.Adam(
            cosine_schedule(cfg.learning_rate, steps * cfg.epochs), clipnorm=cfg.clipnorm or None
        ),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        **({"jit_compile": True} if jit else {}),  # else Keras's default
    )
    if jit and not trainee.jit_compile:  # Keras warns and goes on without XLA
        raise TrainingError(
            "`jit`: Keras will not compile this model with XLA (it does not under TensorFlow's op determinism, "
            "nor with a layer that does not support XLA); train without it."
        )
    return trainee


def fit(
    full_model: keras.Model,
    train_ds,
    val_ds,
    cfg: FitConfig,
    workdir: str,
    name: str,
    resume: bool = False,
    jit: bool = False,
) -> FitResult:
    """Trains the classifier part of ``full_model`` and restores its best weights.

    ``workdir`` receives ``{name}.best.keras`` (the best model so far),
    ``{name}.csv`` (one row an epoch), ``tensorboard/{name}`` and, while the
    run is under way, ``backup/{name}`` (what ``resume`` continues from).

    Under a ``tf.distribute`` strategy, call it in the strategy's scope, with
    ``full_model`` built there; ``train_ds`` yields global batches. ``jit``
    compiles the training step with XLA.

    Raises:
        ConfigError: ``cfg`` out of range.
        TrainingError: training cannot go on; the message names the setting to change.
        KeyboardInterrupt: after Ctrl-C, with the best checkpoint on disk.
    """
    cfg.validate()
    classifier = classifier_of(full_model)
    steps = batches_in(train_ds)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    train_ds, val_ds = for_devices(train_ds, jit, replicas), for_devices(val_ds, jit, replicas)
    trainee = make_trainer(classifier, cfg, steps, jit, train_ds.element_spec)
    paths = _RunFiles(workdir, name)
    if not resume and os.path.isdir(paths.backup):
        shutil.rmtree(paths.backup)
    save_best = SaveBest(full_model, paths.best)
    if resume and os.path.exists(paths.best):
        save_best.best = best_logged(paths.csv)  # do not overwrite a better checkpoint
    start = time.perf_counter()
    losses = _run_epochs(trainee, train_ds, val_ds, cfg, paths, save_best, resume, jit, name)
    seconds = time.perf_counter() - start
    if not losses or not np.all(np.isfinite(losses)):
        raise TrainingError(
            f"{name}: the training loss became NaN/Inf (epoch losses: {losses}). "
            "Lower `learning_rate` or `clipnorm` and train again."
        )
    if save_best.best_epoch is not None:
        # EarlyStopping restores the best weights it saw, but not those of an
        # epoch before a resume, which only the checkpoint holds.
        best = keras.saving.load_model(paths.best, compile=False, safe_mode=True)
        classifier.set_weights(classifier_of(best).get_weights())
    history = logged_history(paths.csv)  # includes epochs before a resume
    return FitResult(history, seconds, len(history["epoch"]), len(losses), save_best.best_epoch, paths.best, steps)


@dataclass
class _RunFiles:
    workdir: str
    name: str

    @property
    def best(self) -> str:
        return os.path.join(self.workdir, f"{self.name}.best.keras")

    @property
    def csv(self) -> str:
        return os.path.join(self.workdir, f"{self.name}.csv")

    @property
    def backup(self) -> str:
        return os.path.join(self.workdir, "backup", self.name)

    @property
    def tensorboard(self) -> str:
        return os.path.join(self.workdir, "tensorboard", self.name)


def _run_epochs(trainee, train_ds, val_ds, cfg, paths: _RunFiles, save_best, resume, jit, name) -> list[float]:
    """Keras's fit with our callbacks; the epochs' training losses."""
    # Order matters at an epoch's end: the CSV row and the best checkpoint are
    # written before the backup marks the epoch done, so a run interrupted in
    # between repeats that epoch on resume rather than losing its log row.
    callbacks = [
        GradientNorms(cfg.clipnorm),  # first: the epoch's logs then carry its figures
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(paths.csv, append=resume),
        save_best,
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(paths.tensorboard, write_graph=False),
        Backup(paths.backup),
    ]
    try:
        with sigint_noted() as interrupted:
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
            f"{name}: `jit`: XLA could not compile the training step on this device ({first[:500]}). Train without it."
        ) from err
    except KeyboardInterrupt:
        where = paths.best if os.path.exists(paths.best) else "nowhere yet (no epoch finished)"
        print(f"\nInterrupted. Best checkpoint of {name}: {where}. Run again with --resume to continue.")
        raise
    return history.history.get("loss", [])
