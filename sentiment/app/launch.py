"""Starting the warm-up (TensorFlow, the models, their compiled passes) in a
thread beside the page, and ``python app.py``: Streamlit's server started at
once, in this process, the warm-up soon after.

A page draws the explore tab's first answer (each model's verdict, in NumPy:
`sentiment.app.first_answer`) before anything imports TensorFlow, then asks
for the warm-up (`warm_up_beside`) and waits for it before the rest.
Importing TensorFlow holds Python's interpreter lock for most of its seconds,
so it would slow whatever runs beside it: the server's start, the first
answer. Under ``python app.py`` it therefore begins when the first page asks
for it, or `GRACE_S` after the start, whichever comes first: a page opened at
once answers first, and a page opened later finds TensorFlow loaded or on its
way. (`streamlit run app.py` runs no app code before a browser connects: its
first page starts the warm-up.)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from sentiment.app.settings import Settings, from_environment

# Under `python app.py`, seconds from the start after which TensorFlow loads though no page has asked for it
# yet: a page opened at once has asked by then (its first answer: about 2 s after the start, on 2 cores).
GRACE_S = 3.0
# What a page has drawn reaches the browser from the server's thread, which TensorFlow's import would hold up
# (by about a second, measured): the first import waits this long after the first answer.
SEND_S = 0.3

# Streamlit's options under `python app.py` (put first on its command line: yours win). No watching of the
# sources for changes, a feature of development (`streamlit run app.py` keeps it): setting it up held the
# first page back by 0.4-0.6 s (docs/benchmark.md#the-first-verdict-before-tensorflow). No full garbage
# collection after every script run of every session: with pages open at once it held Python's lock for
# about a seventh of the server's busy time (docs/benchmark.md), and the app makes no cycles worth a collection
# per run (the models are loaded once and frozen, `warmup.settle_the_heap`); Python's own collections still run.
SERVE_OPTIONS = ["--server.fileWatcherType", "none", "--runner.postScriptGC", "false"]

# One thread runs every warm_up, one after the other: they queue the models' jobs in the same order each time.
_starter = ThreadPoolExecutor(1, thread_name_prefix="sentiment-start")
_asked = threading.Event()  # a page has asked for the warm-up


def warm_up(settings: Settings) -> None:
    """Where compiled programs are kept (before the first compile), and every
    model queued to load and compile: those of the explore tab first."""
    # TensorFlow loads here, in the starter's thread beside the page or the starting server: not at import.
    from sentiment.analysis.passes import keep_compiled_programs
    from sentiment.app import loaders

    if settings.xla_cache != "":
        keep_compiled_programs(settings.xla_cache or None)  # a no-op once a cache is set
    loaders.warmup().start(loaders.model_files(settings.models), loaders.model_files(settings.lesson))


def warm_up_beside(settings: Settings) -> Future:
    """`warm_up` in the starter's thread, the page going on meanwhile: done
    when TensorFlow has loaded and every model is queued (milliseconds after
    the first time). A page waits for it before it makes anything of TensorFlow's."""
    _asked.set()
    return _starter.submit(_warm_up_after_answer, settings)


def _warm_up_after_answer(settings: Settings) -> None:
    if "tensorflow" not in sys.modules:
        time.sleep(SEND_S)  # the first answer to the browser first
    warm_up(settings)


def _when_asked(settings: Settings) -> None:
    if _asked.wait(GRACE_S):
        _warm_up_after_answer(settings)
    else:
        warm_up(settings)


def serve(script: str) -> int:
    """Serves ``script`` (app.py) as ``streamlit run`` would, its options
    taken from the command line, the warm-up to begin as soon as a page asks
    for it or `GRACE_S` from now."""
    _starter.submit(_when_asked, from_environment())
    from streamlit.web import cli  # Streamlit's command line

    sys.argv = ["streamlit", "run", os.path.abspath(script), *SERVE_OPTIONS, *sys.argv[1:]]
    return cli.main()
