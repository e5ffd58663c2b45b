"""``python -m sentiment check-table FILE``: checks a table of your own
reviews as train.py would read it, and trains nothing."""

from __future__ import annotations

import argparse
import sys

from sentiment.core.settings import ConfigError, add_options, from_args, parse_with_config
from sentiment.data.splits import DataError
from sentiment.data.tables import TableConfig, load_table


def main(argv=None, prog: str | None = None) -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    p.add_argument("data", help="a CSV, TSV, JSON Lines or Parquet file")
    p.add_argument("--seed", type=int, default=1337, help="the seed of the held-out test split (default: 1337)")
    add_options(p, TableConfig)
    args = parse_with_config(p, argv, TableConfig)
    try:
        d = load_table(args.data, from_args(TableConfig, args).validate(), args.seed)
    except ConfigError as err:
        p.error(err.for_option())
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{d.source}: {len(d.train):,} training, {len(d.test):,} test reviews; labels {d.label_map}")
    for note in d.notes:
        print(f"- {note}")
    return 0
