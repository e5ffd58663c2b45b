"""``python -m sentiment why-gates FOLDER --data PATH``: gradient reach
(median and band over test reviews) and gate saturation for every model in a
folder train.py wrote, trained and, for the reach, as the same architecture
at initialisation (the run's seed, untrained). Writes FOLDER/why_gates.json,
which the app's "Why gates?" tab reads."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from sentiment.analysis.gradients import DISTANCES, reach_of_reviews, reach_profile, saturation
from sentiment.analysis.reading import trace
from sentiment.analysis.why_gates_results import RESULTS, WhyGatesResults
from sentiment.core.files import write_json
from sentiment.data.imdb import load_reviews
from sentiment.data.tables import TableConfig
from sentiment.network.model import ModelConfig, build_model, vocabulary_of
from sentiment.run import Run


def analyse(run: Run, data: str | None, reviews: int = 500, seed: int = 0) -> dict:
    """What the module's docstring says, over ``reviews`` test reviews drawn with ``seed``.

    Returns:
        What it writes to the run's why_gates.json.
    """
    options = run.metrics.options
    test = load_reviews(data, TableConfig.from_options(options), int(options.get("seed", 1337))).test
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(test), size=min(reviews, len(test)), replace=False))
    texts = [test.texts[i] for i in sample]
    out = {"reviews": len(texts), "review_ids": [test.ids[i] for i in sample], "distances": list(DISTANCES)}
    out["models"] = {}
    for name, trained in run.models().items():
        start = time.perf_counter()
        config = ModelConfig(**run.metrics.models[name].model_config)
        untrained = build_model(config, [str(t) for t in vocabulary_of(trained)])  # seeded as the run was
        entry = {state: {"reach": reach_profile(reach_of_reviews(model, texts))} for state, model in
                 (("trained", trained), ("initial", untrained))}  # fmt: skip
        sat = saturation([trace(trained, t) for t in texts])
        entry["trained"]["saturation"] = {
            label: {g: a.tolist() for g, a in gates.items()} for label, gates in sat.items()
        }
        out["models"][name] = entry
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    WhyGatesResults.from_json(out)  # what the app reads back, or a ValueError naming the key, before writing
    write_json(run.path(RESULTS), out)
    return out


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("folder", help="a folder train.py wrote (metrics.json and the .keras files)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz (default: the one the run was trained on)")
    p.add_argument("--reviews", type=int, default=500, help="test reviews to average over (default: 500)")
    p.add_argument("--seed", type=int, default=0, help="which reviews: the seed of the sample (default: 0)")
    args = p.parse_args(argv)
    if args.reviews < 1:
        p.error(f"--reviews must be at least 1 (got {args.reviews})")
    run = Run(args.folder)
    try:
        data = run.check().data_source(args.data)  # before minutes of work: a bad argument writes nothing
        analyse(run, data, args.reviews, args.seed)
    except ValueError as err:  # DataError, MetricsFileError, ModelLoadError
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Wrote {run.path(RESULTS)}")
    return 0
