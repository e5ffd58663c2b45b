"""Our cells against Keras's built-in LSTM/GRU layers, side by side, same batches.

    python benchmark.py --data ../shared/data/aclImdb_v1_labeled.tar.gz          # ~8 min
    python benchmark.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --quick  # a smoke run, every section

Measures, in one run on this machine and the same real IMDB batches:
- training throughput (reviews/s, tokens/s) of the same sentiment model built
  with our cells (`sentiment.network.recurrent.Recurrent`) and with `keras.layers.LSTM`
  / `keras.layers.GRU`, and the ratio;
- inference latency for one review, with and without the per-token traces;
- the GFLOP/s the recurrent layer achieves (forward + backward) beside a large
  matmul's GFLOP/s (how close to the machine's limit the loop gets).
- on every device TensorFlow finds (the CPU, each GPU), side by side: training
  reviews/s of our layer and Keras's, in float32, with the step compiled by XLA
  (train.py --jit) and in mixed precision (train.py --mixed-precision). On a
  GPU, Keras's LSTM and GRU run NVIDIA's fused cuDNN kernels and ours cannot
  (our cells are a Python step in Keras's time loop, a tf.while_loop): the
  ratio there is what that costs.
- training steps with the adversarial step train.py uses and without it,
  side by side: what it costs.
Writes benchmark.json and benchmark.md to --out (default benchmarks/).
``--sections devices`` measures the devices section alone and adds it to the
figures already in --out (each section records its own command and machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sentiment.analysis.reading import trace  # noqa: E402
from sentiment.core.files import write_json, write_text  # noqa: E402
from sentiment.data.batches import batches as make_batches  # noqa: E402
from sentiment.data.batches import token_ids  # noqa: E402
from sentiment.data.imdb import load_reviews  # noqa: E402
from sentiment.data.splits import DataError, Split, limit  # noqa: E402
from sentiment.network.cells import CELLS, make_cell  # noqa: E402
from sentiment.network.model import (  # noqa: E402
    ModelConfig,
    build_classifier,
    build_model,
    classifier_of,
    make_vectorizer,
    text_to_ids,
)
from sentiment.network.recurrent import Recurrent  # noqa: E402
from sentiment.training.trainer import Trainer, WordAdversarial  # noqa: E402


def variant_classifier(config: ModelConfig, vocab_size: int, make_rnn) -> keras.Model:
    """The product's classifier with another recurrent layer."""
    return build_classifier(config, vocab_size, recurrent_layer=lambda n, sequences: make_rnn())


def variants(cell: str, units: int) -> dict:
    """Recurrent layers to compare: Keras's own, and ours (in Keras's RNN wrapper, and in ours)."""
    builtin = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    rows = {f"keras.layers.{cell.upper()}": lambda: builtin(units, return_sequences=True)}
    if cell == "gru":  # Keras's default (reset_after=True) is a different, cheaper step
        rows["keras.layers.GRU(reset_after=False), our equations"] = lambda: builtin(
            units, return_sequences=True, reset_after=False
        )
    return {
        **rows,
        "ours in keras.layers.RNN": lambda: keras.layers.RNN(make_cell(cell, units), return_sequences=True),
        "ours, Recurrent (the product)": lambda: Recurrent(make_cell(cell, units), return_sequences=True),
    }


def train_throughput(model: keras.Model, batches: list, repeats: int, xla: bool) -> dict:
    """Median reviews/s and tokens/s over `repeats` passes of `batches`, after a warm-up."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="binary_crossentropy", jit_compile=xla)
    # Warm up: trace (and with XLA compile) for every batch shape, so that the
    # timed passes measure steps, not compilation.
    for x, y in batches if xla else batches[:3]:
        model.train_on_batch(x, y)
    reviews = sum(len(y) for _, y in batches)
    tokens = sum(int(np.count_nonzero(x)) for x, _ in batches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for x, y in batches:
            model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    t = statistics.median(times)
    return {"seconds": t, "reviews_per_s": reviews / t, "tokens_per_s": tokens / t, "params": model.count_params()}


def fit_throughput(model: keras.Model, dataset, reviews: int, epochs: int, xla: bool) -> dict:
    """Reviews/s of `model.fit` over train.py's shuffled, length-sorted tf.data epochs."""
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        jit_compile=xla,
    )
    model.fit(dataset, epochs=1, verbose=0)  # tracing
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0)
    return {"reviews_per_s": reviews * epochs / (time.perf_counter() - start)}


def latency_ms(fn, repeats: int) -> float:
    fn()  # warm-up (tracing)
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def recurrent_gflops(cell: str, units: int, features: int, batch: int, steps: int, repeats: int) -> dict:
    """Achieved GFLOP/s of one recurrent layer, forward + backward, ours and Keras's."""
    x = tf.random.normal((batch, steps, features))
    g = len(CELLS[cell].gates)  # weight blocks, each a matmul
    # matmul FLOPs per step and sequence: input projection + recurrent projection;
    # backward is about twice the forward.
    flops = 3 * 2 * batch * steps * g * units * (features + units)
    out = {"flops": flops}
    layers = {
        "ours": Recurrent(make_cell(cell, units), return_sequences=True),
        "keras": {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell](units, return_sequences=True),
    }
    for name, layer in layers.items():
        layer(x)

        @tf.function
        def step(layer=layer):
            with tf.GradientTape() as tape:
                y = tf.reduce_sum(layer(x, training=True))
            return tape.gradient(y, layer.trainable_weights)

        ms = latency_ms(step, repeats)
        out[name] = {"ms": ms, "gflops": flops / (ms / 1000) / 1e9}
    return out


SECTIONS = ("layers", "devices", "adversarial")


def adversarial_section(config: ModelConfig, vocab: list[str], cells, train, repeats: int) -> dict:
    """Training steps with the adversarial step train.py uses (`WordAdversarial`)
    and without it, side by side: the same batches, passes interleaved so that
    a drift of the machine's speed hits both alike. Median reviews/s and the
    ratio to no adversarial step."""
    out = {"repeats": repeats, "cells": {}}
    for cell in cells:
        config.cell = cell
        epsilon = CELLS[cell].default_adversarial
        steps = {
            "none (--adversarial 0)": lambda c: Trainer(c),
            f"--adversarial {epsilon:g} (the default)": lambda c, e=epsilon: WordAdversarial(c, e),
        }
        first = build_model(config, vocab)
        ids = token_ids(train.texts, text_to_ids(first))
        batches = list(make_batches(ids, train.labels, 64, shuffle=True, seed=0))
        trainers = {}
        for name, make in steps.items():
            trainer = make(classifier_of(build_model(config, vocab)))
            trainer.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="binary_crossentropy")
            for x, y in batches[:3]:  # trace
                trainer.train_on_batch(x, y)
            trainers[name] = trainer
        times = {name: [] for name in steps}
        for _ in range(repeats):
            for name, trainer in trainers.items():
                start = time.perf_counter()
                for x, y in batches:
                    trainer.train_on_batch(x, y)
                times[name].append(time.perf_counter() - start)
        reviews = sum(len(y) for _, y in batches)
        rows = {name: {"reviews_per_s": reviews / statistics.median(t), "seconds": t} for name, t in times.items()}
        plain = rows["none (--adversarial 0)"]["reviews_per_s"]
        for row in rows.values():
            row["vs_none"] = row["reviews_per_s"] / plain
        out["cells"][cell] = rows
        print(f"{cell}: adversarial: {json.dumps({n: round(r['reviews_per_s']) for n, r in rows.items()})}", flush=True)
    return out


def adversarial_markdown(a: dict) -> list[str]:
    lines = [
        "",
        "## The adversarial step's cost",
        "",
        f"Training steps (`train_on_batch`) on the same batches, {a['repeats']} passes per variant, interleaved; "
        "median reviews/s:",
        "",
        "| cell | adversarial step | reviews/s | vs none |",
        "|---|---|---|---|",
    ]
    for cell, rows in a["cells"].items():
        for name, row in rows.items():
            lines.append(f"| {cell.upper()} | {name} | {row['reviews_per_s']:.0f} | **{row['vs_none']:.2f}x** |")
    return lines


PRECISIONS = {
    "float32": ("float32", False),
    "float32, XLA (--jit)": ("float32", True),
    "mixed_float16 (--mixed-precision)": ("mixed_float16", False),
}


def this_device() -> str:
    """The device a process measures on: its GPU, else its CPU (see `devices_section`)."""
    device = (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0].name
    if "GPU" in device:
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return f"{device} ({details.get('device_name', 'GPU')})"
    return f"{device} ({os.cpu_count()} cores)"


class DeviceShape(NamedTuple):
    """The devices section's batches: reviews cut to their first ``length``
    tokens and padded to it, so that every batch has one shape and XLA
    compiles once."""

    batches: int
    passes: int
    size: int  # reviews per batch
    length: int  # tokens per review


def device_shape(quick: bool) -> DeviceShape:
    """What the devices section trains on. Quick: one small batch of short
    reviews, since mixed precision on some CPUs trains a few reviews a second
    (docs/benchmark.md)."""
    return DeviceShape(1, 1, 16, 64) if quick else DeviceShape(8, 3, 64, 256)


def device_rows(config: ModelConfig, vocab_size: int, cells, ids: list, labels, quick: bool, xla: bool) -> dict:
    """Training reviews/s of Keras's layer and ours, per cell and precision, on
    `this_device()`: with ``xla`` the XLA rows, else the others (as train.py
    runs them: XLA without op determinism, the others with it)."""
    n_batches, repeats, size, length = device_shape(quick)
    x = np.zeros((n_batches * size, length), "int64")
    for i, review in enumerate(ids[: len(x)]):
        x[i, : min(len(review), length)] = review[:length]
    y = np.asarray(labels[: len(x)], "float32")
    batches = [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]
    device, by_cell = this_device(), {}
    for cell in cells:
        cell_config = ModelConfig(**{**config.to_dict(), "cell": cell})
        builtin = f"keras.layers.{cell.upper()}"
        layers = {builtin: variants(cell, config.units)[builtin], "ours, Recurrent (the product)": None}
        by_precision = by_cell[cell] = {}
        for precision, (policy, compiled) in PRECISIONS.items():
            if compiled != xla:
                continue
            rows = by_precision[precision] = {}
            for name, make_rnn in layers.items():
                keras.mixed_precision.set_global_policy(policy)
                try:
                    model = build_classifier(
                        cell_config, vocab_size, None if make_rnn is None else lambda n, s, m=make_rnn: m()
                    )
                    rows[name] = train_throughput(model, batches, repeats, compiled)
                except (tf.errors.OpError, ValueError, RuntimeError) as err:  # e.g. an op XLA cannot compile here
                    rows[name] = {"error": f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:300]}"}
                finally:
                    keras.mixed_precision.set_global_policy("float32")
                shown = rows[name].get("reviews_per_s")
                shown = f"{shown:.0f} reviews/s" if shown else rows[name]["error"]
                print(f"{device}: {cell} {precision}: {name}: {shown}", flush=True)
            theirs = rows[builtin].get("reviews_per_s")
            for row in rows.values():
                if theirs and "reviews_per_s" in row:
                    row["vs_keras"] = row["reviews_per_s"] / theirs
    return {"device": device, "cells": by_cell}


SAMPLE = "reviews.json"  # the parent's reviews, handed to a devices-section child


def sample_reviews(args, n: int) -> Split:
    """A seeded sample of ``n`` training reviews; a devices-section child reads
    the one its parent wrote (`SAMPLE`), so the archive is read once."""
    if args.one_device:
        with open(os.path.join(args.out, SAMPLE), encoding="utf-8") as f:
            sample = json.load(f)
        return Split(sample["texts"], np.asarray(sample["labels"], "int32"))
    return limit(load_reviews(args.data).train, n, seed=0)


def devices_section(args, quick: bool, train: Split) -> dict:
    """`device_rows` on every device: the CPU and each GPU, each in a process of
    its own that sees only that device (Keras's LSTM and GRU pick cuDNN when
    the machine has a GPU, whatever device scope they are built in)."""
    import subprocess
    import tempfile

    gpus = len(tf.config.list_physical_devices("GPU"))
    load = [os.getloadavg()[0]]  # above the number of cores: other processes shared them
    parts = []
    # One folder for every child: the sample written once; each child's figures read before the next one runs.
    with tempfile.TemporaryDirectory() as tmp:
        write_json(os.path.join(tmp, SAMPLE), {"texts": list(train.texts), "labels": train.labels.tolist()})
        cmd = [sys.executable, os.path.abspath(__file__), "--data", args.data, "--out", tmp]
        for visible in ["-1", *map(str, range(gpus))]:  # -1: no GPU, the CPU
            part = None
            for xla in (False, True):  # op determinism on, then off (a process-wide setting)
                result = subprocess.run(
                    [*cmd, "--cells", *args.cells, "--one-device", *(["--quick"] if quick else [])]
                    + (["--xla"] if xla else []),
                    env={**os.environ, "CUDA_VISIBLE_DEVICES": visible},
                    timeout=3600,
                )
                if result.returncode != 0:
                    raise RuntimeError(f"the devices section failed on CUDA_VISIBLE_DEVICES={visible}")
                with open(os.path.join(tmp, "one_device.json")) as f:
                    measured = json.load(f)
                if part is None:
                    part = measured
                else:
                    for cell, by_precision in measured["cells"].items():
                        # In PRECISIONS' order.
                        part["cells"][cell] = {p: {**part["cells"][cell], **by_precision}[p] for p in PRECISIONS}
            parts.append(part)
    n_batches, repeats, size, length = device_shape(quick)
    return {
        "command": "python " + " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, {gpus} GPU(s), TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}"
        ),
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "reviews": n_batches * size,
        "batch_size": size,
        "tokens_per_review": length,
        "repeats": repeats,
        "by_device": parts,
        "gpu": "measured" if gpus else "not measured: no GPU in this session",
        "load_average": [*load, os.getloadavg()[0]],
    }


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    fn = tf.function(lambda: tf.matmul(a, b))
    ms = latency_ms(lambda: fn().numpy(), repeats)
    return 2 * n**3 / (ms / 1000) / 1e9


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="aclImdb folder or .tar.gz")
    p.add_argument("--out", default="benchmarks")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: small batches, one pass (under 2 minutes for one cell on 2 cores)",
    )
    p.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru"])
    p.add_argument("--xla", action="store_true", help="layers section: compile every training step with XLA")
    p.add_argument(
        "--sections",
        nargs="+",
        default=list(SECTIONS),
        choices=list(SECTIONS),
        help="layers: ours vs Keras's on the default device (throughput, model.fit, latency, GFLOP/s); devices: "
        "ours vs Keras's on every device, float32, XLA and mixed precision; adversarial: training steps with "
        "with and without the adversarial step. A section left out keeps the figures already "
        "in --out",
    )
    p.add_argument("--one-device", action="store_true", help=argparse.SUPPRESS)  # a devices-section child
    args = p.parse_args(argv)
    quick = args.quick
    n_reviews, repeats = (128, 1) if quick else (2048, 3)

    keras.utils.set_random_seed(0)
    if not args.xla:
        # As in train.py: deterministic ops, which also keeps Keras from
        # compiling the training step with XLA, for every variant alike.
        tf.config.experimental.enable_op_determinism()
    try:
        train = sample_reviews(args, n_reviews)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    config = ModelConfig(vocab_size=20000)
    vectorizer = make_vectorizer(config.vocab_size)
    vectorizer.adapt(train.texts)
    vocab = [str(t) for t in vectorizer.get_vocabulary()]
    results = {
        "command": "python " + " ".join([os.path.basename(sys.argv[0]), *(argv or sys.argv[1:])]),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras {keras.__version__}"
        ),
        "device": this_device(),
        "reviews": len(train),
        "xla": args.xla,
        "batch_size": 64,
        "config": config.to_dict(),
        "training": {},
        "fit": {},
        "latency_ms": {},
        "recurrent_layer": {},
    }
    if args.one_device:
        ids = token_ids(train.texts, text_to_ids(build_model(config, vocab)))
        rows = device_rows(config, len(vocab), args.cells, ids, train.labels, quick, args.xla)
        write_json(os.path.join(args.out, "one_device.json"), rows)
        return 0
    path = os.path.join(args.out, "benchmark.json")
    if "layers" not in args.sections:  # keep the figures measured before
        with open(path) as f:
            results = json.load(f)
    if "devices" in args.sections:
        results["devices"] = devices_section(args, quick, train)
    long_review = " ".join(train.texts)[:20000]  # well over 1,000 tokens
    short_review = train.texts[0]
    for cell in args.cells if "layers" in args.sections else []:
        config.cell = cell
        ours = build_model(config, vocab)
        ids = token_ids(train.texts, text_to_ids(ours))
        batches = list(make_batches(ids, train.labels, 64, shuffle=True, seed=0))
        rows = {}
        for name, make_rnn in variants(cell, config.units).items():
            model = (
                classifier_of(ours)
                if name.endswith("(the product)")
                else variant_classifier(config, len(vocab), make_rnn)
            )
            rows[name] = train_throughput(model, batches, repeats, args.xla)
            print(f"{cell}: {name}: {rows[name]['reviews_per_s']:.0f} reviews/s", flush=True)
        keras_rate = rows[f"keras.layers.{cell.upper()}"]["reviews_per_s"]
        for row in rows.values():
            row["vs_keras"] = row["reviews_per_s"] / keras_rate
        results["training"][cell] = rows

        dataset = make_batches(ids, train.labels, 64, shuffle=True, seed=0)
        builtin_name = f"keras.layers.{cell.upper()}"
        fits = {
            builtin_name: fit_throughput(
                variant_classifier(config, len(vocab), variants(cell, config.units)[builtin_name]),
                dataset,
                len(train),
                repeats,
                args.xla,
            ),
            "ours, Recurrent (the product)": fit_throughput(
                classifier_of(build_model(config, vocab)), dataset, len(train), repeats, args.xla
            ),
        }
        for row in fits.values():
            row["vs_keras"] = row["reviews_per_s"] / fits[builtin_name]["reviews_per_s"]
        results["fit"][cell] = fits
        print(f"{cell}: model.fit: {json.dumps(fits)}", flush=True)

        predict_fn = tf.function(lambda t, m=ours: m(t, training=False))
        lat = {}
        for label, text in (("review", short_review), ("1000+ token review", long_review)):
            lat[label] = {
                "predict_ms": latency_ms(lambda f=predict_fn, t=text: f(tf.constant([t])).numpy(), 5 if quick else 20),
                "trace_ms": latency_ms(lambda m=ours, t=text: trace(m, t), 5 if quick else 20),
            }
        results["latency_ms"][cell] = lat
        print(f"{cell}: latency {json.dumps(lat)}", flush=True)

        results["recurrent_layer"][cell] = recurrent_gflops(
            cell, config.units, config.embedding_dim, 64, 128 if quick else 256, 3 if quick else 10
        )
    if "adversarial" in args.sections:
        results["adversarial"] = adversarial_section(config, vocab, args.cells, train, 2 if quick else 5)
    if "layers" in args.sections:
        results["matmul_gflops"] = matmul_gflops(1024 if quick else 2048)
        print(f"matmul: {results['matmul_gflops']:.1f} GFLOP/s")

    os.makedirs(args.out, exist_ok=True)
    write_json(path, results)
    write_text(os.path.join(args.out, "benchmark.md"), markdown(results))
    print(markdown(results))
    return 0


def markdown(r: dict) -> str:
    lines = [
        "# Benchmark: our cells vs Keras's built-in layers",
        "",
        f"Command: `{r['command']}`  ",
        f"Machine: {r['machine']}"
        + (f", on {r['device']}" if "device" in r else "")
        + f"; {r['reviews']:,} real IMDB training reviews, batches of {r['batch_size']} "
        "sorted by length within chunks, as train.py makes them; "
        f"model: embedding {r['config']['embedding_dim']}, bidirectional, "
        f"{r['config']['units']} units, max {r['config']['max_length']} tokens; "
        + (
            "every training step compiled with XLA."
            if r.get("xla")
            else "no XLA, deterministic ops, as train.py trains."
        ),
        "",
        "Training steps (`train_on_batch`) on the same batches, passes repeated (shapes seen before):",
        "",
        "| cell | recurrent layer | reviews/s | tokens/s | vs Keras's layer |",
        "|---|---|---|---|---|",
    ]
    for cell, rows in r["training"].items():
        for name, t in rows.items():
            lines.append(
                f"| {cell.upper()} | {name} | {t['reviews_per_s']:.0f} | {t['tokens_per_s']:.0f} "
                f"| **{t['vs_keras']:.2f}x** |"
            )
    lines += [
        "",
        "End to end: `model.fit` over train.py's tf.data epochs (reshuffled each epoch, a new",
        "batch length at almost every step):",
        "",
        "| cell | recurrent layer | reviews/s | vs Keras's layer |",
        "|---|---|---|---|",
    ]
    for cell, rows in r.get("fit", {}).items():
        for name, t in rows.items():
            lines.append(f"| {cell.upper()} | {name} | {t['reviews_per_s']:.0f} | **{t['vs_keras']:.2f}x** |")
    lines += ["", "| cell | review | predict (ms) | predict + traces (ms) |", "|---|---|---|---|"]
    for cell, lat in r["latency_ms"].items():
        for label, v in lat.items():
            lines.append(f"| {cell.upper()} | {label} | {v['predict_ms']:.1f} | {v['trace_ms']:.1f} |")
    lines += [
        "",
        f"Recurrent layer alone, forward + backward (matmul FLOPs), against a large matmul's "
        f"{r['matmul_gflops']:.1f} GFLOP/s:",
        "",
        "| cell | ours GFLOP/s | Keras GFLOP/s | ours share of matmul peak |",
        "|---|---|---|---|",
    ]
    for cell, v in r["recurrent_layer"].items():
        lines.append(
            f"| {cell.upper()} | {v['ours']['gflops']:.1f} | {v['keras']['gflops']:.1f} | "
            f"{100 * v['ours']['gflops'] / r['matmul_gflops']:.0f}% |"
        )
    if "devices" in r:
        lines += devices_markdown(r["devices"])
    if "adversarial" in r:
        lines += adversarial_markdown(r["adversarial"])
    return "\n".join(lines) + "\n"


def devices_markdown(d: dict) -> list[str]:
    load = ""
    if "load_average" in d:
        shared = max(d["load_average"]) > os.cpu_count()
        load = f" Load average {d['load_average'][0]:.1f} at the start, {d['load_average'][1]:.1f} at the end" + (
            " (more than the cores: other processes shared them)." if shared else "."
        )
    lines = [
        "",
        "## On each device: float32, XLA, mixed precision",
        "",
        f"Command: `{d['command']}` ({d['measured']})  ",
        f"Machine: {d['machine']}; GPU: {d['gpu']}. The same {d['reviews']} real reviews for every row, cut to their "
        f"first {d['tokens_per_review']} tokens and padded to {d['tokens_per_review']} (one shape: XLA compiles "
        f"once), in batches of {d.get('batch_size', 64)}; `train_on_batch`, passes repeated "
        f"{d['repeats']}x after a warm-up pass. Each device measured in a process that sees only it.{load}",
        "",
        "| device | cell | precision | Keras's layer, reviews/s | ours, reviews/s | ours vs Keras's |",
        "|---|---|---|---|---|---|",
    ]

    def rate(row):
        return f"{row['reviews_per_s']:.0f}" if "reviews_per_s" in row else f"failed: {row['error']}"

    for part in d["by_device"]:
        for cell, by_precision in part["cells"].items():
            for precision, rows in by_precision.items():
                theirs, ours = rows[f"keras.layers.{cell.upper()}"], rows["ours, Recurrent (the product)"]
                ratio = f"**{ours['vs_keras']:.2f}x**" if "vs_keras" in ours else "n/a"
                lines.append(
                    f"| {part['device']} | {cell.upper()} | {precision} | {rate(theirs)} | {rate(ours)} | {ratio} |"
                )
    lines += ["", "Same layer, other precision, vs float32 on the same device:", ""]
    lines += ["| device | cell | layer | XLA vs float32 | mixed_float16 vs float32 |", "|---|---|---|---|---|"]
    for part in d["by_device"]:
        for cell, by_precision in part["cells"].items():
            plain = by_precision["float32"]
            for layer, row in plain.items():
                ratios = []
                for precision in list(by_precision)[1:]:
                    other = by_precision[precision][layer]
                    ok = "reviews_per_s" in other and "reviews_per_s" in row
                    ratios.append(f"{other['reviews_per_s'] / row['reviews_per_s']:.2f}x" if ok else "n/a")
                lines.append(f"| {part['device']} | {cell.upper()} | {layer} | " + " | ".join(ratios) + " |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
