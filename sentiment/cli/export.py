"""A servable export: a saved model as a TensorFlow SavedModel for TensorFlow Serving.

    python -m sentiment export saved_models/lstm.keras exports/sentiment/1

writes OUT_DIR as a SavedModel whose serving signature (``serving_default``,
also ``serve``) takes a batch of raw review strings and gives P(positive):

    inputs:  review      tf.string  [None]
    outputs: p_positive  tf.float32 [None]
             label       tf.int32   [None]   (1 where p_positive >= 0.5)

Everything the model does is in the graph, the text preprocessing included
(lower-casing, our ``standardize``, the vocabulary, the head-and-tail cut), so
it loads with ``tf.saved_model.load`` (or TensorFlow Serving) without this
project's code or Keras. TensorFlow Serving wants a numbered version folder
under the model's base path: export to ``.../<model name>/1``, then e.g.

    docker run -p 8501:8501 -v "$PWD/exports/sentiment:/models/sentiment" \\
        -e MODEL_NAME=sentiment tensorflow/serving
    curl -d '{"instances": ["a wonderful film"]}' localhost:8501/v1/models/sentiment:predict

After writing, the export is loaded back and its P(positive) compared with the
``.keras`` model's on a few reviews (within ``TOLERANCE``); the folder is
written beside OUT_DIR and renamed into place only then, so OUT_DIR is never
half-written. An OUT_DIR that holds something other than an earlier export is
refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from sentiment.network.model import ModelLoadError, load_model

INPUT = "review"
TOLERANCE = 1e-5
# Reviews the export is checked on: short, long, empty, odd characters.
PROBES = [
    "A wonderful film, I loved every minute of it.",
    "Terrible acting and a boring plot: a waste of time.",
    "",
    "dull\x85 predictable<br /><br />but the music is superb " * 40,
    "Ça m'a plu ! 10/10 — DON'T miss it",
]


class ExportError(ValueError):
    """The model cannot be exported, or its export does not predict as it does."""


def export_model(model, out_dir: str | os.PathLike, check: bool = True) -> float | None:
    """Writes ``model`` (raw strings -> P(positive)) as a SavedModel in ``out_dir``.

    Returns:
        The largest difference from the model's P(positive) on `PROBES`
        (None when ``check`` is False).
    """
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not _replaceable(out_dir):
        raise ExportError(f"{out_dir} exists and is not an earlier export: choose an empty or new folder.")
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-export-")
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)  # the usual permissions for a folder, not mkdtemp's 0700
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)  # the vectorizer's lookup table is a resource, not a variable

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT)])
        def serve(review):
            p = model(review, training=False)[:, 0]
            return {"p_positive": p, "label": tf.cast(p >= 0.5, tf.int32)}

        archive.add_endpoint("serve", serve)
        archive.write_out(tmp, verbose=False)
        worst = None
        if check:
            expected = np.asarray(model.predict_on_batch(tf.constant(PROBES)))[:, 0]
            got = tf.saved_model.load(tmp).signatures["serving_default"](**{INPUT: tf.constant(PROBES)})
            worst = float(np.max(np.abs(got["p_positive"].numpy() - expected)))
            if not worst <= TOLERANCE:
                raise ExportError(f"The export's P(positive) differs from the model's by {worst:.2g} (> {TOLERANCE}).")
        _move_into_place(tmp, out_dir)
        return worst
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def _replaceable(path: str) -> bool:
    """An empty folder, or one an earlier export wrote."""
    return os.path.isdir(path) and (not os.listdir(path) or os.path.isfile(os.path.join(path, "saved_model.pb")))


def _move_into_place(tmp: str, out_dir: str) -> None:
    """``tmp`` renamed to ``out_dir``; an earlier export there is moved aside first, then removed."""
    old = None
    if os.path.exists(out_dir):
        old = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(out_dir)), prefix=".old-export-")
        os.rmdir(old)
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if old:
            os.rename(old, out_dir)
        raise
    if old:
        shutil.rmtree(old, ignore_errors=True)


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(
        prog=prog or "python -m sentiment export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="a model file train.py saved (.keras)")
    p.add_argument("out_dir", help="the SavedModel folder to write (for TensorFlow Serving: <base>/<name>/<version>)")
    p.add_argument("--no-check", action="store_true", help="skip loading the export back to compare its predictions")
    args = p.parse_args(argv)
    try:
        model = load_model(args.model)
        worst = export_model(model, args.out_dir, check=not args.no_check)
    except (ModelLoadError, ExportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    checked = "" if worst is None else f"; loaded back, its P(positive) differs from the model's by {worst:.1g} at most"
    print(
        f"Wrote {args.out_dir}: a SavedModel, signature serving_default: {INPUT} (string [None]) -> p_positive "
        f"(float [None]), label (int [None]){checked}."
    )
    return 0
