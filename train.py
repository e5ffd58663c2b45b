"""Train the sentiment models: `python train.py --help`, and `sentiment.cli.train`.

Before TensorFlow loads (seconds), a wrong --data or --sst is reported at once, and
TensorFlow is loaded without the start-up notices it prints on a machine
without a GPU (--verbose keeps them).
"""

from __future__ import annotations

import argparse
import os
import sys

from sentiment.core.startup import load_tensorflow
from sentiment.data.imdb import check_source
from sentiment.data.splits import DataError
from sentiment.data.sst import check_sst


class _Lenient(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def early_options(argv: list[str]) -> argparse.Namespace:
    """--data, --sst, --verbose and --help, read before TensorFlow loads.
    Lenient: what it cannot read, the full parser reports."""
    p = _Lenient(add_help=False, allow_abbrev=False)
    p.add_argument("--data")
    p.add_argument("--sst")
    p.add_argument("--verbose", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("-h", "--help", action="store_true")
    try:
        return p.parse_known_args(argv)[0]
    except ValueError:
        return argparse.Namespace(data=None, sst=None, verbose=False, help=False)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    early = early_options(argv)
    if (early.data or early.sst) and not early.help:
        try:
            if early.data:
                check_source(early.data)
            if early.sst:
                check_sst(early.sst)
        except DataError as err:
            print(f"{os.path.basename(sys.argv[0])}: error: {err}", file=sys.stderr)
            return 2
    load_tensorflow(verbose=early.verbose)
    from sentiment.cli import train  # imports TensorFlow: only once it is loaded quietly

    return train.main(argv)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Interrupted: every file written so far is complete (written to a temporary file, then renamed).")
        sys.exit(130)
