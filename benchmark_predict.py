"""How fast `python -m sentiment predict` starts, in NumPy and in Keras, beside
TensorFlow's import alone: whole processes, from start to exit.

    python benchmark_predict.py                                   # three short built-in reviews
    python benchmark_predict.py --data ../shared/data/aclImdb_v1_labeled.tar.gz --runs 10

Each run predicts three reviews (with --data: three real test reviews) with
every model in --models, CSV out. The three commands run in turn (A B C A B
C ...: a machine whose speed drifts slows all three alike), after one warm-up
each that is not counted (the files it reads are then in the page cache):

    numpy   python -m sentiment predict REVIEWS --out OUT.csv
    keras   python -m sentiment predict REVIEWS --out OUT.csv --engine keras
    import  python -c "import tensorflow, keras"

Prints the median, minimum and maximum wall seconds of each, and CPU seconds
(user + system, the children's own accounting), and each run's ratio to the
import in the same round, with their median. Writes nothing in the repository.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
REVIEWS = [
    "A wonderful film. The cast is superb and the story moved me; I loved every minute.",
    "Awful. A boring plot, wooden acting and a script that never decides what it wants to be.",
    "Not bad at all: the ending dragged a little, but the music and the photography carry it.",
]


def reviews(data: str | None) -> list[str]:
    if data is None:
        return REVIEWS
    sys.path.insert(0, ROOT)
    from sentiment.data.imdb import load_reviews
    from sentiment.data.splits import limit

    return [" ".join(t.split()) for t in limit(load_reviews(data).test, 3, seed=0).texts]  # one a line


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="the IMDB archive or folder: predict three real test reviews")
    p.add_argument("--models", default=os.path.join(ROOT, "saved_models"), help="the models' folder")
    p.add_argument("--runs", type=int, default=7, help="counted runs of each command (default 7)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="predict-startup-") as tmp:
        texts = os.path.join(tmp, "reviews.txt")
        with open(texts, "w", encoding="utf-8") as f:
            f.write("\n".join(reviews(args.data)) + "\n")
        predict = [sys.executable, "-m", "sentiment", "predict", texts, "--out", os.path.join(tmp, "p.csv")]
        commands = {
            "numpy": [*predict, "--models", args.models],
            "keras": [*predict, "--models", args.models, "--engine", "keras"],
            "import": [sys.executable, "-c", "import tensorflow, keras"],
        }
        for command in commands.values():
            timed(command)  # warm-up
        runs = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                runs[name].append(timed(command))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{platform.processor() or platform.machine()}, {cores} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{args.runs} runs each, after one warm-up; three reviews, every model in {args.models}\n")
    print("| command | wall s (median) | min | max | CPU s (median) | wall / import (median of pairs) |")
    print("|---|---|---|---|---|---|")
    for name, values in runs.items():
        wall = [w for w, _ in values]
        ratios = [w / i for (w, _), (i, _) in zip(values, runs["import"])]
        print(
            f"| {name} | {statistics.median(wall):.2f} | {min(wall):.2f} | {max(wall):.2f} "
            f"| {statistics.median(c for _, c in values):.2f} | {statistics.median(ratios):.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
