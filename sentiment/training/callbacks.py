"""What a fit does at the end of each step and epoch: gradient-norm figures,
the best checkpoint, a backup to resume from, and Ctrl-C handled so that no
file is left half-written."""

from __future__ import annotations

import contextlib
import csv
import math
import signal
import threading

import keras
import numpy as np

from sentiment.network.model import save_model
from sentiment.training.trainer import STEP_READINGS


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
        training_only = (*STEP_READINGS, "adversarial_loss")
        for name in (*STEP_READINGS, *(f"val_{n}" for n in training_only)):
            logs.pop(name, None)
        if self.norms:
            logs["grad_norm_median"] = float(np.median(self.norms))
            logs["grad_norm_max"] = float(np.max(self.norms))
            clipped = np.asarray(self.largest) > self.clipnorm if self.clipnorm else np.zeros(len(self.largest), bool)
            logs["clipped_share"] = float(np.mean(clipped))


def logged_history(csv_path: str) -> dict[str, list[float]]:
    """Every epoch's logs from the CSV log, the last row of each epoch winning."""
    with open(csv_path, newline="") as f:
        rows = {int(row["epoch"]): row for row in csv.DictReader(f)}
    keys = [k for k in next(iter(rows.values())) if k != "epoch"] if rows else []
    history = {k: [float(rows[e][k]) for e in sorted(rows)] for k in keys}
    history["epoch"] = sorted(rows)  # 0-based, as Keras logs them
    return history


def best_logged(csv_path: str, monitor: str = "val_loss") -> float:
    """The best ``monitor`` value in an earlier run's CSV log (inf if none)."""
    try:
        return min(logged_history(csv_path)[monitor])
    except (OSError, KeyError, ValueError):
        return math.inf


@contextlib.contextmanager
def sigint_deferred():
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
def sigint_noted():
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
        with sigint_deferred():
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
            # Deferred as Backup's: a Ctrl-C landing in TensorFlow's bare `except:` while the model
            # is rebuilt for saving came out as a TypeError (exit 1, seen in CI), not an interrupt.
            with sigint_deferred():
                save_model(self.full_model, self.path)
