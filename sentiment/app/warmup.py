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

import gc
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import keras

from sentiment.analysis.passes import Program, passes_of
from sentiment.analysis.reader import reader_of
from sentiment.app.cache import modified
from sentiment.network.model import load_model

_shared: Warmup | None = None
_shared_lock = threading.Lock()

# The programs the explore tab runs (a trace and explanation in one pass, and
# the integrated gradients' extra steps), and those of the "Why gates?" tab.
EXPLORE = (Program.EXPLAIN, Program.PATH)
WHY_GATES = (Program.REACH, Program.TRACE)


class Warmup:
    """One worker thread, and what it has done or been asked to do: one job
    per (what, model file), for the file as it is now (a model retrained on
    disk replaces its old jobs, which are forgotten)."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sentiment-warm-up")
        self._lock = threading.Lock()
        self._jobs: dict[tuple, tuple[float, Future]] = {}  # (what, path): (the file's mtime, the job)

    def _job(self, what: tuple, path: str, fn) -> Future:
        """``fn`` queued once for ``what`` of the file at ``path`` as it is now (the queue runs in order)."""
        stamp = modified(path)
        with self._lock:
            job = self._jobs.get((what, path))
            if job is None or job[0] != stamp:
                job = self._jobs[what, path] = (stamp, self._pool.submit(fn))
            return job[1]

    def load(self, path: str) -> Future:
        """The model in ``path`` (its current file), loaded by the worker."""
        return self._job(("load",), path, lambda: load_model(path))

    def verdicts(self, path: str) -> Future:
        """Done when the model's verdict function is made (a traced function:
        a verdict is then milliseconds)."""
        loading = self.load(path)
        return self._job(("verdicts",), path, lambda: reader_of(loading.result()).warm_verdicts())

    def programs(self, path: str, programs: tuple[Program, ...]) -> Future:
        """Done when the model's compiled passes ``programs`` are ready (at
        once for a model the passes do not cover: the uncompiled functions
        read it)."""
        loading = self.load(path)

        def compile_them():
            passes = passes_of(loading.result())
            if passes is not None:
                passes.warm(*programs)

        return self._job(("programs", *programs), path, compile_them)

    def start(self, explore: list[str], lesson: list[str]) -> None:
        """Queues everything the app will want, most urgent first: the explore
        tab's models and their verdicts, their passes, then the lesson models'."""
        for path in explore:  # each model's verdicts as soon as it is loaded
            self.verdicts(path)
        for path in explore:
            self.programs(path, EXPLORE)
        for path in lesson:
            self.programs(path, WHY_GATES)
        self._pool.submit(settle_the_heap)

    def model(self, path: str) -> keras.Model:
        """The model, loaded (waiting for the worker if it is not yet).

        Raises:
            ModelLoadError: the file is missing, unreadable or not one of ours.
        """
        return self.load(path).result()

    def ready(self, path: str, programs: tuple[Program, ...]) -> bool:
        return self.programs(path, programs).done()


def settle_the_heap() -> None:
    """Moves what is loaded by now (TensorFlow, the models, their traced
    functions: over half a million objects) out of the garbage collector's
    reach. A full collection walks every object it tracks; with the models
    loaded that took about 260 ms, once every page run or so, with every
    session's thread stopped; after this, about 1 ms (docs/benchmark.md).
    The cost: a model replaced on disk while the server runs stays in memory."""
    gc.collect()
    gc.freeze()


def keep_the_session() -> None:
    """Makes ``keras.backend.clear_session`` a no-op in this process (the
    server's; `keras.utils.clear_session` stays as it is).

    After every script run, of every session, Streamlit calls
    ``keras.backend.clear_session()`` where Keras is imported (its script
    runner's ``_clean_problem_modules``, Streamlit 1.67), for apps that build
    a model on each run. Ours loads its models once for the server's life and
    shares them; clearing TensorFlow's kernel cache made each model's next
    call set its functions up again on every page run, costing far more than
    the call itself (docs/benchmark.md has the figures)."""
    keras.backend.clear_session = _session_kept


def _session_kept(free_memory: bool = True) -> None:
    """What ``keras.backend.clear_session`` does in the app's server: nothing (see `keep_the_session`)."""


def shared() -> Warmup:
    """The process's one `Warmup`: every session of the server shares it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            keep_the_session()
            _shared = Warmup()
        return _shared
