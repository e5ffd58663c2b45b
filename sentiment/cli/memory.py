"""``python -m sentiment memory --data PATH``: how far each cell remembers
(`sentiment.experiments.memory`), written to saved_models/lesson/memory.json,
which the app's "Why gates?" tab reads.

1. The textbook task: each cell (Elman, Jordan, LSTM, GRU) trained on a
   polarity token followed by N distractors, for N from 5 to 400, three
   seeds each (``--quick``: a tiny grid, for the tests).
2. A real verdict pushed away: short test reviews each model (the four
   last-state lesson models and the two main ones) gets right with a clear
   verdict, with N words of neutral filler after them and before them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from sentiment.analysis.reader import reader_of
from sentiment.core.files import write_json
from sentiment.experiments import memory
from sentiment.experiments.memory_results import PARTS, RESULTS, MemoryResults
from sentiment.run import Run
from sentiment.training.baselines import refit

FILLER_KEPT = 300  # filler sentences kept in the results, for the app's probe


def load_models(runs: list[Run]) -> dict:
    """{"lstm (last state)": model, "gru (pooled)": ...} of every model of ``runs``."""
    models = {}
    for run in runs:
        for name, model in run.models().items():
            pooling = run.metrics.models[name].model_config.get("pooling")
            models[f"{name} ({'last state' if pooling == 'last' else 'pooled'})"] = model
    return models


def real_text(runs: list[Run], data: str | None, reviews: int, lengths, quick: bool) -> dict:
    """Part 2 for every model of ``runs``; the filler's rule and a sample of it."""
    splits = runs[0].splits(data)
    texts, labels = list(splits.test.texts), np.asarray(splits.test.labels)
    long_ones = [t for t in texts if len(t.split()) > memory.SHORT]  # filler comes from other reviews than those pushed
    candidates = memory.sentences(long_ones or texts, shortest=1 if quick else 5)
    nbsvm = runs[0].metrics.baselines.get("nbsvm")
    scorer = refit("nbsvm", splits.train.texts, splits.train.labels, nbsvm.C if nbsvm else 1.0, splits.seed)
    pool, band = memory.filler_pool(candidates, scorer.predict_proba(candidates)[:, 1])
    print(f"filler: {len(pool):,} of {len(candidates):,} sentences within 0.5 ± {band:.3f} for NBSVM", flush=True)
    models = load_models(runs)
    pool = memory.neutral_for(list(models.values()), pool)
    print(f"filler: {len(pool):,} of them that every model scores within 0.5 ± {memory.MODEL_BAND} alone", flush=True)
    results = {}
    for key, model in models.items():
        start = time.perf_counter()
        results[key] = memory.pushed_away(model, reader_of(model), texts, labels, pool, lengths, reviews)
        print(f"{key}: {results[key]['reviews']} reviews, {time.perf_counter() - start:.0f} s", flush=True)
    rng = np.random.default_rng(0)
    kept = [pool[i] for i in np.sort(rng.choice(len(pool), min(FILLER_KEPT, len(pool)), replace=False))]
    rule = (
        f"sentences of 5-40 words of test reviews longer than {memory.SHORT} words that an NBSVM fitted on the "
        f"training reviews scores within 0.5 ± {band:.3f}, and of a seeded sample of {memory.NEUTRAL_SAMPLE:,} of "
        f"them, those that every model scores within 0.5 ± {memory.MODEL_BAND} on its own"
    )
    filler = {"rule": rule, "sentences": len(pool), "kept": kept}
    return {"models": results, "left_out": [], "filler": filler, "lengths": list(lengths)}


CHRONO_DISTANCES = (100, 400)  # the gated cells started open (chrono), where they fail from the default start


def run_part(part: str, runs: list[Run], data: str | None, reviews: int, quick: bool) -> dict:
    if quick:  # the first ungated and the first gated cell, on a tiny grid
        small = {"distances": memory.QUICK_DISTANCES, "seeds": (0,), "settings": memory.QUICK}
        if part == "textbook":
            return memory.textbook_task((memory.CELLS[0], memory.GATED[0]), **small)
        if part == "chrono":
            return memory.textbook_task(memory.GATED[:1], chrono=True, **small)
        return real_text(runs, data, reviews, memory.QUICK_LENGTHS, quick=True)
    if part == "textbook":
        return memory.textbook_task()
    if part == "chrono":
        return memory.textbook_task(memory.GATED, CHRONO_DISTANCES, chrono=True)
    return real_text(runs, data, reviews, memory.LENGTHS, quick=False)


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models", help="the main models' folder (default: saved_models)")
    p.add_argument("--lesson", default="", help="the last-state models' folder (default: <models>/lesson)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the models were trained on")
    p.add_argument("--reviews", type=int, default=500, help="pushed-away reviews per model, at most (default: 500)")
    p.add_argument("--quick", action="store_true", help="a tiny grid and two lengths: a smoke test")
    p.add_argument(
        "--only", nargs="+", choices=PARTS, help="make these parts again and keep the others from the results file"
    )
    p.add_argument("--out", help=f"where to write the results (default: <lesson>/{RESULTS})")
    args = p.parse_args(argv)
    if args.reviews < 1:
        p.error(f"--reviews must be at least 1 (got {args.reviews})")
    main_run = Run(args.models, args.lesson)
    out = args.out or main_run.memory_path()
    parts = args.only or PARTS
    results = {}
    if args.only:
        try:
            with open(out, encoding="utf-8") as f:
                results = json.load(f)
            MemoryResults.from_json(results)
        except (OSError, ValueError) as err:
            p.error(f"--only keeps the other parts of {out}, which cannot be read ({err}): run without --only")
    # Everything the parts need, checked before the first of them starts (the textbook grid alone takes 16 minutes).
    runs, data = [], None
    if "real" in parts:
        try:
            if main_run.lesson is None:
                raise ValueError(f"No lesson models in {main_run.lesson_folder}: pass --lesson FOLDER.")
            runs = [main_run.lesson.check(), main_run.check()]
            data = main_run.data_source(args.data)
        except ValueError as err:  # MetricsFileError, DataError, a model file that is not there
            print(f"error: {err}", file=sys.stderr)
            return 2
    command = "python -m sentiment memory " + " ".join(argv if argv is not None else sys.argv[2:])
    seconds = results.get("seconds", {}) if isinstance(results.get("seconds"), dict) else {}
    for part in parts:
        start = time.perf_counter()
        try:
            results[part] = run_part(part, runs, data, args.reviews, args.quick)
        except ValueError as err:  # a file that is there but does not read; the parts made so far are kept
            kept = ", ".join(p for p in PARTS if p in results) or "no part"
            print(f"error: {err} ({kept} kept in {out})", file=sys.stderr)
            return 2
        seconds[part] = round(time.perf_counter() - start)
        results = {**{p: results[p] for p in PARTS if p in results}, "command": command.strip(), "seconds": seconds}
        write_json(out, results)  # after each part: an interrupted run keeps what it finished
        print(f"{part}: {seconds[part]} s, written to {out}", flush=True)
    print(f"Wrote {out} ({', '.join(f'{k} {v} s' for k, v in seconds.items())})")
    return 0
