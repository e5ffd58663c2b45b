"""``python -m sentiment augment RULE --out FILE.csv``: extra training rows by
one of the rules of `sentiment.experiments.augment` (``templates``,
``negation`` or ``cad``), as a table for ``train.py --extra-train FILE.csv``.

``negation`` reads the training split of the run in --models (made again
from its metrics.json: never its validation or test reviews) from --data;
``cad`` reads CAD's pairs from --cad and leaves out those with a text among
that run's validation or test reviews.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

from sentiment.core.files import atomic_path
from sentiment.evaluation.results import load_run_metrics
from sentiment.evaluation.run_data import run_data
from sentiment.experiments import augment, suite

RULES = ("templates", "negation", "cad")


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rule", choices=RULES, help="which rule makes the rows")
    p.add_argument("--out", required=True, help="the table to write (.csv)")
    p.add_argument("--models", default="saved_models", help="the run whose training split is read (negation)")
    p.add_argument("--data", help="the aclImdb folder or .tar.gz the run was trained on (negation)")
    p.add_argument("--cad", help="CAD's sentiment/combined/paired folder (cad)")
    p.add_argument("--at-most", type=int, default=6000, help="pairs of the negation rule, a seeded sample")
    args = p.parse_args(argv)
    if not args.out.endswith(".csv"):
        p.error(f"--out must be a .csv file (got {args.out})")
    try:
        if args.rule == "templates":
            texts, labels = suite.remedy_sentences()
        elif args.rule == "cad":
            if not args.cad:
                p.error("the cad rule needs --cad: CAD's sentiment/combined/paired folder")
            split = run_data(load_run_metrics(os.path.join(args.models, "metrics.json")), args.data)
            texts, labels, dropped = augment.cad_rows(args.cad, [*split.val.texts, *split.test.texts])
            print(f"{dropped} CAD pairs left out: a text among the run's validation or test reviews")
        else:
            metrics = load_run_metrics(os.path.join(args.models, "metrics.json"))
            texts, labels = augment.negation_rows(run_data(metrics, args.data).train.texts, args.at_most)
    except (ValueError, OSError) as err:  # MetricsFileError, DataError, no CAD file
        print(f"error: {err}", file=sys.stderr)
        return 2
    with atomic_path(args.out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels.tolist()))
    print(f"Wrote {args.out}: {len(texts):,} rows ({int(labels.sum()):,} positive) by the {args.rule} rule")
    return 0
