"""Where training runs: one device, several (tf.distribute), XLA, mixed precision.

    devices = DeviceConfig(distribute="mirrored")
    strategy = start(devices)        # before TensorFlow runs any op
    print(describe(strategy))        # "2 replicas (MirroredStrategy): /CPU:0, /CPU:1"
    # build and compile the model under `strategy` (train.py makes it the default)

The engines are TensorFlow's and Keras's own: ``tf.distribute.MirroredStrategy``
(every local GPU, or the CPU split into ``--cpu-devices`` logical devices),
``tf.distribute.MultiWorkerMirroredStrategy`` (workers and their addresses
from the ``TF_CONFIG`` environment variable), XLA through Keras's
``compile(jit_compile=True)``, and Keras's ``mixed_float16`` policy with its
loss-scaling optimizer. What our own training step adds under several
replicas is in `sentiment.training.trainer.Trainer`.

``--batch-size`` is the *global* batch: the reviews of one step over all
replicas, split evenly among them by ``tf.distribute`` (so it must be a
multiple of the number of replicas). Same batch, same learning rate: a run on
two devices follows the one-device run (up to the order of floating-point
sums). To keep every device as busy as one was, multiply ``--batch-size`` by
the number of replicas, and then the learning rate (see docs/devices.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import keras
import tensorflow as tf

from sentiment.core.settings import ConfigError, option

DISTRIBUTE = ("none", "mirrored", "multi-worker")


@dataclass
class DeviceConfig:
    """Where and how the training step runs: devices, XLA, precision."""

    distribute: str = option(
        "none",
        "none: one device (a GPU if there is one); mirrored: every local GPU, or the CPU split into "
        "--cpu-devices logical devices (tf.distribute.MirroredStrategy); multi-worker: several machines, each "
        "running this command with its own TF_CONFIG (tf.distribute.MultiWorkerMirroredStrategy). "
        "--batch-size is the global batch, split among the replicas",
    )
    cpu_devices: int = option(
        1,
        "split the CPU into N logical devices before TensorFlow starts, to run --distribute mirrored on a machine "
        "without GPUs (the tests do; no faster: the devices share the cores)",
    )
    jit: bool = option(
        False,
        "compile the training step with XLA (jit_compile=True; batches padded to a multiple of 64 tokens; "
        "without TensorFlow's op determinism, which Keras does not combine with XLA)",
    )
    mixed_precision: bool = option(
        False,
        "mixed_float16: float16 compute, float32 weights and output, dynamic loss scaling (for GPUs with tensor "
        "cores; no faster on a CPU)",
    )

    def validate(self) -> "DeviceConfig":
        if self.distribute not in DISTRIBUTE:
            raise ConfigError("distribute", f"must be one of {', '.join(DISTRIBUTE)}", self.distribute)
        if self.cpu_devices < 1:
            raise ConfigError("cpu_devices", "must be at least 1", self.cpu_devices)
        if self.distribute == "multi-worker" and "TF_CONFIG" not in os.environ:
            raise ConfigError(
                "distribute",
                "needs the TF_CONFIG environment variable: the cluster and this worker's place in it (docs/devices.md)",
                self.distribute,
            )
        return self


class DeviceError(RuntimeError):
    """The devices asked for cannot be set up (e.g. TensorFlow already started)."""


def start(config: DeviceConfig):
    """Sets TensorFlow's devices and precision up as ``config`` says and
    returns the ``tf.distribute.Strategy`` to build and train under (the
    default strategy: one device). Call it before TensorFlow runs any op."""
    config.validate()
    if config.cpu_devices > 1:
        (cpu,) = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * config.cpu_devices
            )
        except RuntimeError as err:  # "Virtual devices cannot be modified after being initialized"
            raise DeviceError(f"--cpu-devices must be set before TensorFlow starts: {err}") from err
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if config.distribute == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        # Every GPU; without any, every (logical) CPU device.
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if config.distribute == "multi-worker":
        # Collectives over gRPC between the workers named in TF_CONFIG (NCCL between GPUs where there are some).
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def replicas(strategy) -> int:
    return strategy.num_replicas_in_sync


def is_chief(strategy) -> bool:
    """Whether this process writes the run's results: always, but on a
    multi-worker cluster only the chief (task ``chief``, or ``worker`` 0 of a
    cluster without one), as in Keras's multi-worker guide."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def output_folder(out: str, strategy) -> str:
    """Where this process writes: ``out`` on the chief; on another worker, a
    folder of its own inside it (``workertemp_<task>``, the name Keras's
    multi-worker guide uses), so that workers sharing a file system never write
    the same file. A worker's checkpoints and backup (what ``--resume``
    continues from) live there; train.py removes it when the run is done."""
    if is_chief(strategy):
        return out
    resolver = strategy.cluster_resolver
    return os.path.join(out, f"workertemp_{resolver.task_type}_{resolver.task_id}")


def describe(strategy) -> str:
    """One line: what the training step runs on."""
    gpus = tf.config.list_physical_devices("GPU")
    if replicas(strategy) == 1 and not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return f"one GPU ({details.get('device_name', gpus[0].name)}; {len(gpus)} on this machine)"
        return f"the CPU ({os.cpu_count()} cores)"
    local = list(strategy.extended.worker_devices)
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    # (MultiWorkerMirroredStrategy's class is named CollectiveAllReduceStrategy.)
    kind = "MultiWorkerMirroredStrategy" if multi_worker else type(strategy).__name__
    where = f"{replicas(strategy)} replicas ({kind})"
    if multi_worker:
        resolver = strategy.cluster_resolver
        workers = sum(len(v) for v in resolver.cluster_spec().as_dict().values())
        where += f" on {workers} workers; this one: {resolver.task_type} {resolver.task_id}"
    return f"{where}; devices here: {', '.join(local)}"


def tf_config(workers: list[str], index: int) -> str:
    """The TF_CONFIG of worker ``index`` of ``workers`` ("host:port" each; worker 0 is the chief)."""
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}})
