"""The app's models, loaded and made ready in the background, once per server.

Reading a review with a model is quick once its passes are compiled (a few
hundred ms), but compiling them takes seconds a model. So, from the first
page the server serves (Streamlit runs no app code before a browser
connects), one worker thread does, in this order: load every model, make
each one's verdict function, compile the passes the explore tab reads, then
those of the "Why gates?" tab's lesson models. A page asks for what it needs
(`model`, `verdicts_ready`, `ready`) and waits only for that.

All of TensorFlow's tracing and compiling happens in this one thread, in the
same order at every start. That is what lets XLA's persistent cache find
the programs an earlier start kept (`keep_compiled_programs`): TensorFlow
numbers the functions it traces, and the numbers are part of a kept
program's key. It also means a session never compiles for another: every
session of the server shares the one `Warmup`, its models and their passes.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import keras

from sentiment.analysis.passes import passes_of
from sentiment.analysis.reader import reader_of
from sentiment.network.model import load_model

_shared: Warmup | None = None
_shared_lock = threading.Lock()

# The programs the explore tab runs (a trace and explanation in one pass, and
# the integrated gradients' extra steps), and those of the "Why gates?" tab.
EXPLORE = ("explain", "path")
WHY_GATES = ("reach", "trace")


def modified(path: str) -> float:
    """The file's modification time (-1 for a missing file): part of every key,
    so that a model retrained on disk is a new model."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return -1.0


class Warmup:
    """One worker thread, and what it has done or been asked to do, by (path, mtime)."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sentiment-warm-up")
        self._lock = threading.Lock()
        self._jobs: dict[tuple, Future] = {}

    def _job(self, key: tuple, fn) -> Future:
        """``fn`` queued once for ``key`` (the queue runs in order)."""
        with self._lock:
            if key not in self._jobs:
                self._jobs[key] = self._pool.submit(fn)
            return self._jobs[key]

    def load(self, path: str) -> Future:
        """The model in ``path`` (its current file), loaded by the worker."""
        key = (path, modified(path))
        return self._job(("load", *key), lambda: load_model(path))

    def verdicts(self, path: str) -> Future:
        """Done when the model's verdict function is made (a traced function:
        a verdict is then milliseconds)."""
        key = (path, modified(path))
        loading = self.load(path)
        return self._job(("verdicts", *key), lambda: reader_of(loading.result()).warm_verdicts())

    def programs(self, path: str, programs: tuple[str, ...]) -> Future:
        """Done when the model's compiled passes ``programs`` are ready (at
        once for a model the passes do not cover: the uncompiled functions
        read it)."""
        key = (path, modified(path))
        loading = self.load(path)

        def compile_them():
            passes = passes_of(loading.result())
            if passes is not None:
                passes.warm(*programs)

        return self._job(("programs", *key, programs), compile_them)

    def start(self, explore: list[str], lesson: list[str]) -> None:
        """Queues everything the app will want, most urgent first: the explore
        tab's models and their verdicts, their passes, then the lesson models'."""
        for path in explore:  # each model's verdicts as soon as it is loaded
            self.verdicts(path)
        for path in explore:
            self.programs(path, EXPLORE)
        for path in lesson:
            self.programs(path, WHY_GATES)

    def model(self, path: str) -> keras.Model:
        """The model, loaded (waiting for the worker if it is not yet).

        Raises:
            ModelLoadError: the file is missing, unreadable or not one of ours.
        """
        return self.load(path).result()

    def ready(self, path: str, programs: tuple[str, ...]) -> bool:
        return self.programs(path, programs).done()


def shared() -> Warmup:
    """The process's one `Warmup`: every session of the server shares it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Warmup()
        return _shared
