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
import os
import sys
import time

import numpy as np

from sentiment.analysis.reader import reader_of
from sentiment.core.files import write_json
from sentiment.evaluation.results import load_run_metrics
from sentiment.evaluation.run_data import run_data
from sentiment.experiments import memory
from sentiment.network.model import ModelLoadError, load_model
from sentiment.training.baselines import refit

RESULTS = memory.RESULTS
FILLER_KEPT = 300  # filler sentences kept in the results, for the app's probe


def load_models(folders: list[str], log=print) -> tuple[dict, list[str]]:
    """{"lstm (last state)": model, ...} of every model of ``folders``, and notes on those left out."""
    models, left_out = {}, []
    for folder in folders:
        kind = "last state" if "lesson" in folder else "pooled"
        for name, result in load_run_metrics(os.path.join(folder, "metrics.json")).models.items():
            key = f"{name} ({kind})"
            try:
                models[key] = load_model(os.path.join(folder, result.file))
            except ModelLoadError as err:  # a model that is absent is left out, with a note
                left_out.append(f"{key}: {err}")
                log(f"note: {key} left out: {err}")
    return models, left_out


def real_text(folders: list[str], data: str | None, reviews: int, lengths, quick: bool, log=print) -> dict:
    """Part 2 for every model of ``folders``; the filler's rule and a sample of it."""
    metrics = load_run_metrics(os.path.join(folders[0], "metrics.json"))
    splits = run_data(metrics, data)
    texts, labels = list(splits.test.texts), np.asarray(splits.test.labels)
    long_ones = [t for t in texts if len(t.split()) > memory.SHORT]  # filler comes from other reviews than those pushed
    candidates = memory.sentences(long_ones or texts, shortest=1 if quick else 5)
    nbsvm = metrics.baselines.get("nbsvm")
    scorer = refit("nbsvm", splits.train.texts, splits.train.labels, nbsvm.C if nbsvm else 1.0, splits.seed)
    pool, band = memory.filler_pool(candidates, scorer.predict_proba(candidates)[:, 1])
    log(f"filler: {len(pool):,} of {len(candidates):,} sentences within 0.5 ± {band:.3f} for NBSVM")
    models, left_out = load_models(folders, log)
    pool = memory.neutral_for(list(models.values()), pool)
    log(f"filler: {len(pool):,} of them that every model scores within 0.5 ± {memory.MODEL_BAND} alone")
    results = {}
    for key, model in models.items():
        start = time.perf_counter()
        results[key] = memory.pushed_away(model, reader_of(model), texts, labels, pool, lengths, reviews)
        log(f"{key}: {results[key]['reviews']} reviews, {time.perf_counter() - start:.0f} s")
    rng = np.random.default_rng(0)
    kept = [pool[i] for i in np.sort(rng.choice(len(pool), min(FILLER_KEPT, len(pool)), replace=False))]
    rule = (
        f"sentences of 5-40 words of test reviews longer than {memory.SHORT} words that an NBSVM fitted on the "
        f"training reviews scores within 0.5 ± {band:.3f}, and of a seeded sample of {memory.NEUTRAL_SAMPLE:,} of "
        f"them, those that every model scores within 0.5 ± {memory.MODEL_BAND} on its own"
    )
    filler = {"rule": rule, "sentences": len(pool), "kept": kept}
    return {"models": results, "left_out": left_out, "filler": filler, "lengths": list(lengths)}


PARTS = ("textbook", "chrono", "real")
CHRONO_DISTANCES = (100, 400)  # the gated cells started open (chrono), where they fail from the default start


def run_part(part: str, args) -> dict:
    folders = [args.lesson, args.models]
    if args.quick:
        small = {"distances": memory.QUICK_DISTANCES, "seeds": (0,), "settings": memory.QUICK}
        if part == "textbook":
            return memory.textbook_task(("elman", "lstm"), **small)
        if part == "chrono":
            return memory.textbook_task(("lstm",), chrono=True, **small)
        return real_text(folders, args.data, args.reviews, memory.QUICK_LENGTHS, quick=True)
    if part == "textbook":
        return memory.textbook_task()
    if part == "chrono":
        return memory.textbook_task(("lstm", "gru"), CHRONO_DISTANCES, chrono=True)
    return real_text(folders, args.data, args.reviews, memory.LENGTHS, quick=False)


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models", help="the main models' folder (default: saved_models)")
    p.add_argument("--lesson", default=os.path.join("saved_models", "lesson"), help="the last-state models' folder")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the models were trained on")
    p.add_argument("--reviews", type=int, default=500, help="pushed-away reviews per model, at most (default: 500)")
    p.add_argument("--quick", action="store_true", help="a tiny grid and two lengths: a smoke test")
    p.add_argument(
        "--only", nargs="+", choices=PARTS, help="make these parts again and keep the others from the results file"
    )
    p.add_argument("--out", help=f"where to write the results (default: <lesson>/{RESULTS})")
    args = p.parse_args(argv)
    out = args.out or os.path.join(args.lesson, RESULTS)
    results = {}
    if args.only:
        try:
            with open(out, encoding="utf-8") as f:
                results = json.load(f)
        except (OSError, ValueError) as err:
            p.error(f"--only keeps the other parts of {out}, which cannot be read ({err}): run without --only")
    seconds = results.get("seconds", {}) if isinstance(results.get("seconds"), dict) else {}
    try:
        for part in args.only or PARTS:
            start = time.perf_counter()
            results[part] = run_part(part, args)
            seconds[part] = round(time.perf_counter() - start)
            print(f"{part}: {seconds[part]} s", flush=True)
    except ValueError as err:  # DataError, MetricsFileError
        print(f"error: {err}", file=sys.stderr)
        return 2
    command = "python -m sentiment memory " + " ".join(argv if argv is not None else sys.argv[2:])
    results.update(command=command.strip(), seconds=seconds)
    write_json(out, results)
    print(f"Wrote {out} ({', '.join(f'{k} {v} s' for k, v in seconds.items())})")
    return 0
