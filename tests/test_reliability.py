"""Bad input, broken files and interrupted training: a clear message, never a crash."""

import contextlib
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, TINY_REVIEWS, TINY_SIZE, predict, run_train, write_aclimdb
from sentiment.analysis.reading import trace
from sentiment.network.model import ModelConfig, ModelLoadError, build_model, load_model

NASTY = {
    "empty": "",
    "whitespace": " \t\n\r  \u3000",
    "html": "<html><body><script>alert('x')</script><b>great</b> movie<br /></body></html>",
    "emoji": "😀😀 loved it 🎬🍿 👍",
    "non-latin": "映画は素晴らしかった。Фильм ужасный. الفيلم رائع",
    "control": "bad\x00movie\x85\x1b[31m awful\u200b\ufeff",
    "unknown words": "zzxq qwxv plorth vendibulous",
    "megabyte": "a great movie " * 80_000,  # ~1.1 MB
}


@pytest.mark.parametrize("name", list(NASTY))
def test_nasty_text_gets_a_prediction_or_a_clear_message(tiny_model, name):
    text = NASTY[name]
    p = predict(tiny_model, [text])
    assert p.shape == (1,) and 0 <= p[0] <= 1
    try:
        t = trace(tiny_model, text)
    except ValueError as err:
        assert "no words" in str(err)
        assert name in ("empty", "whitespace")
    else:
        assert abs(t.probability - p[0]) < 1e-5
        assert len(t.tokens) <= t.max_length


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
@pytest.mark.slow
def test_fuzz_text_to_prediction_to_trace(tiny_vocab, text):
    model = _fuzz_model(tiny_vocab)
    p = predict(model, [text])
    assert np.isfinite(p).all()
    try:
        t = trace(model, text)
    except ValueError as err:
        assert "no words" in str(err)
    else:
        assert abs(t.probability - p[0]) < 1e-5
        for layer in t.layers:
            for v in layer.values.values():
                assert v.shape[0] == len(t.tokens) and np.isfinite(v).all()


_FUZZ = {}


def _fuzz_model(vocab):
    if "model" not in _FUZZ:
        _FUZZ["model"] = build_model(ModelConfig(cell="gru", vocab_size=200, units=3, embedding_dim=3), vocab)
    return _FUZZ["model"]


@pytest.mark.filterwarnings("ignore:Skipping nested container:UserWarning")  # Keras, on the mixed file
def test_weights_from_another_configuration_are_a_clear_error(tiny_vocab, tmp_path):
    small = build_model(ModelConfig(units=4, embedding_dim=4, vocab_size=200), tiny_vocab)
    big = build_model(ModelConfig(units=8, embedding_dim=4, vocab_size=200), tiny_vocab)
    small.save(tmp_path / "small.keras")
    big.save(tmp_path / "big.keras")
    mixed = tmp_path / "mixed.keras"
    with (
        zipfile.ZipFile(tmp_path / "small.keras") as a,
        zipfile.ZipFile(tmp_path / "big.keras") as b,
        zipfile.ZipFile(mixed, "w") as out,
    ):
        for item in a.namelist():
            out.writestr(item, b.read(item) if item.endswith(".h5") else a.read(item))
    with pytest.raises(ModelLoadError, match="mixed.keras"):
        load_model(mixed)


def test_safe_mode_refuses_code_in_a_model_file(tiny_vocab, tmp_path):
    """A file that is one of our models in every other way, plus a Lambda
    layer (code): only safe mode stands between it and running that code."""
    from sentiment.network.model import HEAD_TAIL, HeadTail, build_classifier, make_vectorizer

    config = ModelConfig(units=3, embedding_dim=3, vocab_size=200, max_length=12, head=4)
    text = keras.Input(shape=(), dtype="string", name="review")
    ids = HeadTail(config.max_length, config.head, name=HEAD_TAIL)(make_vectorizer(200, tiny_vocab)(text))
    prob = build_classifier(config, len(tiny_vocab))(ids)
    model = keras.Model(text, keras.layers.Lambda(lambda p: p * 1.0, name="code")(prob))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ModelLoadError, match=r"lambda\.keras.*safe_mode"):
        load_model(tmp_path / "lambda.keras")


@pytest.mark.slow
def test_nan_loss_stops_training_with_a_clear_message(tiny_vocab, tmp_path):
    from sentiment.network.model import text_to_ids
    from sentiment.training.fit import FitConfig, TrainingError, fit

    model = build_model(ModelConfig(units=3, embedding_dim=3, vocab_size=200), tiny_vocab)
    ids = text_to_ids(model)(tf.constant([t for t, _ in TINY_REVIEWS]))
    labels = np.full(len(TINY_REVIEWS), np.nan, "float32")
    ds = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(4)
    with pytest.raises(TrainingError, match="NaN"):
        fit(model, ds, ds, FitConfig(epochs=3), str(tmp_path), "lstm", resume=False)


def _csv_epochs(path):
    with open(path, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


# Interrupted training. train.py runs in a subprocess with the SIGINT
# disposition that the test means, whatever this pytest process has (a process
# started with `&` from a script inherits an ignored SIGINT). Its output goes to
# a file in the test's tmp_path, which pytest keeps; a failure names it. Each
# wait is for an event (a file on disk, the process's exit), bounded generously
# so that a loaded machine is slow but not red.

WAIT_S = 600


@contextlib.contextmanager
def _training(args, log, sigint):
    """train.py with ``args``, its output in ``log``, SIGINT's disposition set to ``sigint``."""

    def child_setup():
        signal.signal(signal.SIGINT, sigint)  # SIG_DFL: Python installs its KeyboardInterrupt handler
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from the SIGABRT below

    # PYTHONFAULTHANDLER: on SIGABRT every thread's Python stack goes into the log.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "train.py"), *args],
            cwd=ROOT,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            preexec_fn=child_setup,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:  # the test failed: stacks into the log, and no process left behind
            proc.send_signal(signal.SIGABRT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for(what, done, proc, log):
    deadline = time.monotonic() + WAIT_S
    while not done():
        if proc.poll() is not None:
            pytest.fail(f"train.py exited ({proc.returncode}) before {what}; its output: {log}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_S} s; train.py's output (and its stacks): {log}")
        time.sleep(0.2)


def _exit_code(proc, log):
    try:
        return proc.wait(WAIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"train.py still running {WAIT_S} s later; its output (and its stacks): {log}")


TINY_TRAINING = [
    "--cells",
    "lstm",
    "--no-baseline",
    *TINY_SIZE,
    "--patience",
    "1000",
]


@pytest.mark.slow
def test_ctrl_c_keeps_the_best_checkpoint_and_resume_continues(tmp_path):
    data = write_aclimdb(tmp_path / "data", per_class=40)
    out, log = tmp_path / "out", tmp_path / "train.log"
    args = ["--data", data, "--out", str(out), *TINY_TRAINING]
    best, csv_log = out / "runs" / "lstm.best.keras", out / "runs" / "lstm.csv"
    with _training([*args, "--epochs", "100000"], log, sigint=signal.SIG_DFL) as proc:  # as from a terminal
        _wait_for(
            "best checkpoint and 3 logged epochs",
            lambda: best.exists() and csv_log.exists() and len(_csv_epochs(csv_log)) >= 3,
            proc,
            log,
        )
        proc.send_signal(signal.SIGINT)
        code = _exit_code(proc, log)
    output = log.read_text()
    assert code == 130, f"exit {code}; train.py's output: {log}"
    assert f"Best checkpoint of lstm: {best}" in output, log
    assert "Traceback" not in output, log
    assert not (out / "lstm.keras").exists()  # no final model from a cut run
    load_model(best)  # the checkpoint is a whole model
    assert not [p for p in os.listdir(out / "runs") if p.startswith(".tmp-")]
    done = _csv_epochs(csv_log)

    result = run_train(*args, "--epochs", str(max(done) + 3), "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    epochs = _csv_epochs(csv_log)
    resumed = epochs[len(done) :]
    assert resumed and resumed[0] >= max(done) - 1 and resumed[-1] == max(done) + 2, (done, epochs)
    load_model(out / "lstm.keras")


@pytest.mark.slow
def test_ctrl_c_is_ignored_when_sigint_was_ignored_at_start(tmp_path):
    """`python train.py ... &` from a script: the shell has the job ignore SIGINT
    so that a Ctrl-C meant for the foreground does not reach it. train.py keeps
    it ignored, also where it defers Ctrl-C (while writing a backup)."""
    data = write_aclimdb(tmp_path / "data", per_class=40)
    out, log = tmp_path / "out", tmp_path / "train.log"
    csv_log = out / "runs" / "lstm.csv"
    with _training(
        ["--data", data, "--out", str(out), *TINY_TRAINING, "--epochs", "5"], log, sigint=signal.SIG_IGN
    ) as proc:
        _wait_for("first logged epoch", lambda: csv_log.exists() and len(_csv_epochs(csv_log)) >= 1, proc, log)
        deadline = time.monotonic() + WAIT_S
        while proc.poll() is None and time.monotonic() < deadline:  # Ctrl-C, again and again, to the end
            proc.send_signal(signal.SIGINT)
            time.sleep(0.02)
        code = _exit_code(proc, log)
    assert code == 0, f"exit {code}; train.py's output: {log}"
    assert _csv_epochs(csv_log) == [0, 1, 2, 3, 4]
    assert (out / "lstm.keras").exists()


@pytest.mark.slow
def test_same_seed_same_metrics(tmp_path):
    data = write_aclimdb(tmp_path / "data", per_class=30)
    runs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        result = run_train(
            "--data",
            data,
            "--out",
            str(out),
            "--cells",
            "gru",
            *TINY_SIZE,
            "--epochs",
            "2",
            "--seed",
            "7",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        metrics = json.loads((out / "metrics.json").read_text())
        gru = metrics["models"]["gru"]
        runs.append((gru["history"], gru["test"], metrics["baselines"]["tfidf"]["test"]["accuracy"]))
    assert runs[0] == runs[1]


def test_ctrl_c_during_a_backup_waits_until_it_is_written():
    from sentiment.training.callbacks import sigint_deferred

    # Python's own handler, as in a process started from a terminal (not so
    # when this one was started with SIGINT ignored).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        finished = []
        with pytest.raises(KeyboardInterrupt):
            with sigint_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)  # the signal arrives here, mid-"write"
                finished.append(True)
        assert finished == [True]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the usual handler is back
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("disposition", [signal.SIG_IGN, "handler"], ids=["ignored", "handler"])
def test_deferred_ctrl_c_does_what_the_handler_before_it_does(disposition):
    """Ignored stays ignored (no KeyboardInterrupt made up); another handler is called."""
    from sentiment.training.callbacks import sigint_deferred

    calls = []
    handler = (lambda signum, frame: calls.append(signum)) if disposition == "handler" else disposition
    before = signal.signal(signal.SIGINT, handler)
    try:
        with sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
            assert calls == []
        assert calls == ([signal.SIGINT] if disposition == "handler" else [])
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_ctrl_c_that_keras_swallows_still_stops_training():
    """Keras catches a KeyboardInterrupt in places with a bare `except:` (e.g.
    pythonify_logs, at every callback); fit() notes each Ctrl-C and raises it again."""
    from sentiment.training.callbacks import RaiseNotedInterrupt, sigint_noted

    class Swallows(keras.callbacks.Callback):  # as Keras's own code does
        def on_train_batch_end(self, batch, logs=None):
            self.batches = getattr(self, "batches", 0) + 1
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)  # the KeyboardInterrupt is raised here
            except:  # noqa: E722
                pass

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        swallows = Swallows()
        model.fit(x, y, batch_size=4, epochs=2, callbacks=[swallows], verbose=0)
        assert swallows.batches == 4  # every Ctrl-C lost
        swallows = Swallows()
        with pytest.raises(KeyboardInterrupt):
            with sigint_noted() as noted:
                model.fit(x, y, batch_size=4, epochs=2, callbacks=[swallows, RaiseNotedInterrupt(noted)], verbose=0)
        assert swallows.batches == 1
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)
