"""The command line: ``python -m sentiment COMMAND [options]``.

Each command is a module here with a ``main(argv, prog)``; only the one asked
for is imported, since most of them load TensorFlow (seconds), and those load
it quietly first (`load_tensorflow`: no CUDA notices on a machine without a
GPU). Training has a script of its own, ``train.py`` at the top of the
repository, which runs `sentiment.cli.train`.
"""

from __future__ import annotations

import importlib
import sys

from sentiment.core.startup import load_tensorflow

# name: (module, what it does, whether it loads TensorFlow)
COMMANDS = {
    # predict runs the models in NumPy, and loads TensorFlow itself where it must.
    "predict": ("sentiment.cli.predict", "P(positive) and the label of many reviews, from every saved model", False),
    "export": ("sentiment.cli.export", "a saved model as a TensorFlow SavedModel, for TensorFlow Serving", True),
    "evaluate": ("sentiment.cli.evaluate", "predict a folder's test set again; add what an older run lacks", True),
    "why-gates": ("sentiment.cli.why_gates", "gradient reach and gate saturation of a folder's models", True),
    "memory": ("sentiment.cli.memory", "how far each cell remembers: the textbook task and verdicts pushed away", True),
    "ablate": ("sentiment.cli.ablate", "switch a gate off: every variant on the memory task, IMDB and the suite", True),
    "suite": ("sentiment.cli.suite", "the behavioural suite: what flips a verdict, by capability, every model", True),
    "units": ("sentiment.cli.units", "the unit atlas of a folder's models: what each unit does across the data", True),
    "check-table": ("sentiment.cli.check_table", "check a table of your own reviews; train nothing", False),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {about}" for name, (_, about, _) in COMMANDS.items())
    return (
        "usage: python -m sentiment COMMAND [options]\n\ncommands:\n"
        f"{rows}\n\n`python -m sentiment COMMAND --help`: a command's options. "
        "`python train.py --help`: training's."
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"python -m sentiment: no command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, _, tensorflow = COMMANDS[name]
    if tensorflow:
        load_tensorflow()
    # The command asked for alone: most import TensorFlow, which must be loaded quietly first.
    return importlib.import_module(module).main(rest, prog=f"python -m sentiment {name}")
