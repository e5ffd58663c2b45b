"""``python -m sentiment units FOLDER [FOLDER ...] --data PATH``: the unit
atlas of every model in each folder train.py wrote (`sentiment.analysis.atlas`),
written beside each model as ``<model>.atlas.npz`` and read by the app.

The test reviews are a seeded sample of the run's test set (--reviews), the
thresholds and probes are fitted on a seeded sample of its validation split
(the run's own split, remade from its recorded options). Prints, per model,
the sentiment-neuron figures: the best single unit's test accuracy, the probe
on the best 1, 2, 4, 8, 16 and all units, and the model's own accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from sentiment.analysis.atlas import CORPUS, build_atlas
from sentiment.analysis.atlas_file import save_atlas
from sentiment.data.splits import Split
from sentiment.run import Run


def sample(split: Split, n: int, seed: int) -> Split:
    """A seeded sample of ``n`` reviews (all where there are fewer), in the split's order."""
    if n >= len(split):
        return split
    return split.subset(np.sort(np.random.default_rng(seed).choice(len(split), n, replace=False)))


def atlases(run: Run, data: str | None, reviews: int, validation: int, seed: int, corpus: int = CORPUS) -> list[str]:
    """Builds and writes the atlas of every model of ``run``; one line per model."""
    splits = run.splits(data)
    test, val = sample(splits.test, reviews, seed), sample(splits.val, validation, seed)
    lines = []
    for name, model in run.models().items():
        start = time.perf_counter()
        path = run.model_paths()[name]
        texts, labels = list(test.texts), test.labels
        atlas = build_atlas(model, texts, labels, list(val.texts), val.labels, test.ids, seed, corpus)
        atlas.meta.update(seconds=round(time.perf_counter() - start, 1), seed=seed, data=splits.source)
        written = save_atlas(atlas, path)
        best = float(atlas.threshold_accuracy.reshape(-1)[atlas.probe_order[0]])
        probe = ", ".join(f"{k} {100 * v:.1f}%" for k, v in atlas.probe.items())
        lines.append(
            f"{name}: {written} ({os.path.getsize(written) / 1e6:.1f} MB, {atlas.meta['seconds']:.0f} s); "
            f"best single unit {100 * best:.1f}%, probe on the best units: {probe}; "
            f"the model itself {100 * atlas.meta['model_accuracy']:.1f}% on these {len(test):,} test reviews"
        )
        print(lines[-1], flush=True)
    return lines


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", help="folders train.py wrote (metrics.json and the .keras files)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the models were trained on")
    p.add_argument("--reviews", type=int, default=5000, help="test reviews, a seeded sample (default: 5000)")
    p.add_argument("--validation", type=int, default=2000, help="validation reviews, a seeded sample (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="of the samples (default: 0)")
    p.add_argument(
        "--corpus",
        type=int,
        default=CORPUS,
        help=f"test reviews whose hidden states are kept for the hypothesis search (default: {CORPUS}): the bulk "
        "of the file (the committed models' 128 units: about 20 kB a review, compressed)",
    )
    args = p.parse_args(argv)
    for name in ("reviews", "validation"):
        if getattr(args, name) < 20:
            p.error(f"--{name} must be at least 20 (got {getattr(args, name)})")
    if args.corpus < 0:
        p.error(f"--corpus must be at least 0 (got {args.corpus})")
    try:
        runs = [Run(folder).check() for folder in args.folders]  # all of them, before the first atlas's minutes
        sources = [run.data_source(args.data) for run in runs]
        for run, source in zip(runs, sources):
            atlases(run, source, args.reviews, args.validation, args.seed, args.corpus)
    except ValueError as err:  # DataError, MetricsFileError, ModelLoadError, a model the passes do not cover
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
