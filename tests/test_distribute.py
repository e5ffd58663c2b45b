"""Training on several devices with tf.distribute, on this CPU: the CPU split
into two logical devices (MirroredStrategy), and two worker processes on
127.0.0.1 (MultiWorkerMirroredStrategy, TF_CONFIG). Each must give the
one-device run's results.

Not bit for bit: the replicas' gradients are summed across devices, in
another order than one device sums the whole batch's, and float32 sums depend
on their order. Measured: the two runs below differ by at most 6e-8 in a test
probability and 1.2e-7 in a logged figure; TOLERANCE leaves room for that
(a wrong gradient, e.g. one replica's alone, or clipped before the sum, is off
by 1e-3 and more). Dropout is off: each replica draws its own masks for its
part of the batch, a different random draw from one device's. --clipnorm is
small enough that every step clips, to check that the sum is clipped, not each
replica's part.

Every training subprocess has a timeout: a hang (e.g. a worker waiting for a
peer that died) fails the test instead of blocking the run.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import ROOT, TINY_SIZE, run_train, write_aclimdb
from sentiment.core.settings import ConfigError
from sentiment.training.devices import DeviceConfig, is_chief, output_folder, tf_config

TOLERANCE = 1e-5
TIMEOUT_S = 420  # per training subprocess; about a minute each on an idle 2-core machine

SAME_RUN = [
    *TINY_SIZE,
    "--cells",
    "lstm",
    "--no-baseline",
    "--limit",
    "40",
    "--epochs",
    "2",
    "--batch-size",
    "16",
    "--config",
    os.path.join(ROOT, "tests", "configs", "no_dropout.toml"),
    "--clipnorm",
    "0.05",
]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_aclimdb(tmp_path_factory.mktemp("data"), per_class=30)


@pytest.fixture(scope="module")
def one_device(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("one-device")
    result = run_train("--data", tiny_data, "--out", str(out), *SAME_RUN, timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Training on the CPU" in result.stdout
    return out


def _assert_same_run(expected, actual):
    """Test probabilities and every logged figure, within TOLERANCE."""
    p, q = np.load(expected / "test_predictions.npz"), np.load(actual / "test_predictions.npz")
    assert list(p["ids"]) == list(q["ids"])
    np.testing.assert_allclose(q["p_lstm"], p["p_lstm"], rtol=0, atol=TOLERANCE)
    h = json.loads((expected / "metrics.json").read_text())["models"]["lstm"]["history"]
    g = json.loads((actual / "metrics.json").read_text())["models"]["lstm"]["history"]
    assert set(h) == set(g)
    assert h["clipped_share"] == g["clipped_share"] == [1.0, 1.0]  # every step clipped
    for name in h:
        np.testing.assert_allclose(g[name], h[name], rtol=0, atol=TOLERANCE, err_msg=name)


@pytest.mark.slow
def test_two_logical_cpu_devices_give_the_one_device_run(one_device, tiny_data, tmp_path):
    result = run_train(
        "--data",
        tiny_data,
        "--out",
        str(tmp_path),
        *SAME_RUN,
        "--distribute",
        "mirrored",
        "--cpu-devices",
        "2",
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Training on 2 replicas (MirroredStrategy)" in result.stdout
    assert "CPU:1" in result.stdout
    _assert_same_run(one_device, tmp_path)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _stop(procs):
    """No process left behind, whatever happened."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        proc.wait()


@pytest.mark.slow
def test_two_workers_give_the_one_device_run(one_device, tiny_data, tmp_path):
    """Two train.py processes, as on two machines: each with its own TF_CONFIG
    and its own --out. Only the chief (worker 0) writes results."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    outs = [tmp_path / "chief", tmp_path / "worker1"]
    logs = [tmp_path / "chief.log", tmp_path / "worker1.log"]
    procs = []
    try:
        for index in (0, 1):
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_CONFIG": tf_config(workers, index)}
            with open(logs[index], "w") as log:
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            os.path.join(ROOT, "train.py"),
                            "--data",
                            tiny_data,
                            "--out",
                            str(outs[index]),
                            *SAME_RUN,
                            "--distribute",
                            "multi-worker",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + TIMEOUT_S
        for proc, log in zip(procs, logs):
            try:
                code = proc.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker still ran {TIMEOUT_S} s later; its output: {log}")
            assert code == 0, f"a worker exited with {code}; its output: {log}\n{log.read_text()[-3000:]}"
    finally:
        _stop(procs)
    chief, worker = (log.read_text() for log in logs)
    assert "Training on 2 replicas (MultiWorkerMirroredStrategy) on 2 workers; this one: worker 0" in chief
    assert "this one: worker 1" in worker and "the chief wrote the results" in worker
    assert (outs[0] / "metrics.json").is_file() and (outs[0] / "lstm.keras").is_file()
    # The other worker's files (checkpoints, backup, its copy of the model) went to a folder it removed.
    assert not [p for p in outs[1].rglob("*") if p.is_file()], list(outs[1].rglob("*"))
    _assert_same_run(one_device, outs[0])


def _csv_epochs(path) -> list[int]:
    import csv

    with open(path, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


@pytest.mark.slow
def test_ctrl_c_and_resume_on_two_devices(tiny_data, tmp_path):
    """Interrupted after some epochs on two logical devices, --resume continues
    from the backup (Keras's BackupAndRestore) with the epoch after the last
    one finished."""
    args = [
        sys.executable,
        os.path.join(ROOT, "train.py"),
        "--data",
        tiny_data,
        "--out",
        str(tmp_path),
        *TINY_SIZE,
        "--cells",
        "lstm",
        "--no-baseline",
        "--limit",
        "40",
        "--batch-size",
        "16",
        "--patience",
        "1000",
        "--distribute",
        "mirrored",
        "--cpu-devices",
        "2",
    ]
    csv_log, log = tmp_path / "runs" / "lstm.csv", tmp_path / "train.log"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [*args, "--epochs", "100000"],
            cwd=ROOT,
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (csv_log.exists() and len(_csv_epochs(csv_log)) >= 2):
            if proc.poll() is not None:
                pytest.fail(f"train.py exited ({proc.returncode}) before 2 epochs; its output: {log}")
            if time.monotonic() > deadline:
                pytest.fail(f"no 2 epochs within {TIMEOUT_S} s; train.py's output: {log}")
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT_S) == 130, log.read_text()[-3000:]
    finally:
        _stop([proc])
    assert "Run again with --resume" in log.read_text()
    assert os.listdir(tmp_path / "runs" / "backup" / "lstm")  # the backup the resumed run reads
    done = _csv_epochs(csv_log)

    result = subprocess.run(
        [*args, "--epochs", str(max(done) + 3), "--resume"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    epochs = _csv_epochs(csv_log)
    resumed = epochs[len(done) :]
    # It goes on from the last finished epoch (one may be repeated: the CSV row can precede the backup).
    assert resumed and resumed[0] >= max(done) - 1 and resumed[-1] == max(done) + 2, (done, epochs)
    assert (tmp_path / "lstm.keras").is_file()


def test_device_options_are_checked():
    with pytest.raises(ConfigError, match="must be one of none, mirrored, multi-worker"):
        DeviceConfig(distribute="horovod").validate()
    with pytest.raises(ConfigError, match="at least 1"):
        DeviceConfig(cpu_devices=0).validate()


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="TF_CONFIG") as err:
        DeviceConfig(distribute="multi-worker").validate()
    assert err.value.for_option().startswith("--distribute needs the TF_CONFIG environment variable")
    monkeypatch.setenv("TF_CONFIG", tf_config(["a:1", "b:2"], 1))
    DeviceConfig(distribute="multi-worker").validate()


def _cluster(task_type, task_id, cluster):
    spec = SimpleNamespace(as_dict=lambda: cluster)
    return SimpleNamespace(
        cluster_resolver=SimpleNamespace(task_type=task_type, task_id=task_id, cluster_spec=lambda: spec)
    )


def test_only_the_chief_writes_where_asked():
    workers = {"worker": ["a:1", "b:2"]}
    assert is_chief(SimpleNamespace()) and output_folder("out", SimpleNamespace()) == "out"  # one machine
    assert is_chief(_cluster("worker", 0, workers))
    assert not is_chief(_cluster("worker", 1, workers))
    assert output_folder("out", _cluster("worker", 1, workers)) == os.path.join("out", "workertemp_worker_1")
    with_chief = {"chief": ["c:0"], **workers}
    assert is_chief(_cluster("chief", 0, with_chief)) and not is_chief(_cluster("worker", 0, with_chief))
    assert json.loads(tf_config(["a:1", "b:2"], 1)) == {
        "cluster": {"worker": ["a:1", "b:2"]},
        "task": {"type": "worker", "index": 1},
    }
