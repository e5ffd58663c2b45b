"""What the app loads and computes, cached: models, metrics, test predictions
and reviews, and each model's reading of a review.

The models come from the server's one `Warmup` (`warmup()`), which loads them
and compiles their passes in the background; a page waits only for what it shows.
Every other cache is keyed by the file and its modification time, so a model
retrained on disk is loaded again on the next run of the page, with no
restart; a review's verdict, trace and explanation are kept per (model file,
review), so changing a view option recomputes nothing.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from sentiment.analysis import explain
from sentiment.analysis.explain import Explanation
from sentiment.analysis.gradients import Reach, gradient_reach
from sentiment.analysis.reader import Verdict, reader_of
from sentiment.analysis.traces import Trace, trace
from sentiment.app.warmup import EXPLORE, WHY_GATES, modified
from sentiment.app.warmup import shared as warmup
from sentiment.data.imdb import load_reviews
from sentiment.data.tables import TableConfig
from sentiment.evaluation.predictions import load_test_predictions
from sentiment.evaluation.results import MetricsFileError, RunMetrics, load_run_metrics
from sentiment.experiments.suite import RESULTS, SuiteFileError, SuiteResults, load_suite, stale_files
from sentiment.network.model import ModelLoadError

KNOWN_ORDER = ["lstm.keras", "gru.keras", "elman.keras"]  # then any other file, by name


def model_files(folder: str) -> list[str]:
    """The .keras files in ``folder``: LSTM, GRU, Elman first, then the rest by name."""
    if not os.path.isdir(folder):
        return []
    names = [n for n in os.listdir(folder) if n.endswith(".keras") and not n.startswith(".")]
    order = sorted(names, key=lambda n: (KNOWN_ORDER.index(n) if n in KNOWN_ORDER else len(KNOWN_ORDER), n))
    return [os.path.join(folder, n) for n in order]


def load_models(folder: str) -> tuple[dict, dict[str, str]]:
    """({name: (path, model)}, {file: error}) for every .keras file in ``folder``."""
    models, errors = {}, {}
    for path in model_files(folder):
        name = os.path.basename(path)[: -len(".keras")]
        try:
            models[name] = (path, warmup().model(path))
        except ModelLoadError as err:
            errors[os.path.basename(path)] = str(err)
    return models, errors


@st.cache_data(show_spinner=False, max_entries=4)
def _read_metrics(path: str, stamp: float) -> tuple[RunMetrics | None, str | None]:
    del stamp  # part of the cache key only: a rewritten file is a new entry
    try:
        return load_run_metrics(path), None
    except MetricsFileError as err:  # missing, unreadable, an older version, malformed: it says which
        return None, str(err)


def load_metrics(folder: str) -> tuple[RunMetrics | None, str | None]:
    """(metrics or None, problem or None) from ``folder``/metrics.json."""
    path = os.path.join(folder, "metrics.json")
    return _read_metrics(path, modified(path))


def load_run(folder: str) -> tuple[dict, RunMetrics | None, str | None]:
    """The models and metrics of a folder train.py wrote; a file that does not
    load is named on the page, and the others still work."""
    models, errors = load_models(folder)
    metrics, problem = load_metrics(folder)
    for file, message in errors.items():
        st.error(f"**{file}** could not be loaded: {message}")
    return models, metrics, problem


@st.cache_data(show_spinner=False, max_entries=4)
def _read_predictions(path: str, stamp: float) -> dict | None:
    del stamp  # part of the cache key only: a rewritten file is a new entry
    return load_test_predictions(path) if os.path.isfile(path) else None


def test_predictions(path: str) -> dict | None:
    """test_predictions.npz, or None where there is none."""
    return _read_predictions(path, modified(path))


@st.cache_data(show_spinner=False, max_entries=4)
def _read_json(path: str, stamp: float) -> dict | None:
    del stamp  # part of the cache key only: a rewritten file is a new entry
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def json_file(path: str) -> dict | None:
    """A JSON file beside the models (why_gates.json), or None where it is missing or unreadable."""
    return _read_json(path, modified(path))


@st.cache_resource(show_spinner=False, max_entries=2)
def _read_suite(path: str, stamp: float, folder: str) -> tuple[SuiteResults | None, str | None]:
    del stamp  # part of the cache key only: a rewritten file is a new entry
    try:
        results = load_suite(path)
    except SuiteFileError as err:
        return None, str(err)
    stale = stale_files(results, folder)
    note = (
        f"Measured on other versions of {', '.join(stale)}: run `python -m sentiment suite` again." if stale else None
    )
    return results, note


def suite_results(folder: str) -> tuple[SuiteResults | None, str | None]:
    """(the behavioural suite's results, None), or (None, why there are none and
    what makes them), or (results, a note that they are from other model files)."""
    path = os.path.join(folder, RESULTS)
    models = model_files(folder) + model_files(os.path.join(folder, "lesson"))
    return _read_suite(path, modified(path) + sum(map(modified, models)), folder)


@st.cache_resource(show_spinner="Reading the test reviews ...", max_entries=2)
def test_reviews(source: str, options: str = "{}") -> dict[str, str]:
    """{review id: text} of the test split at ``source`` (an aclImdb folder or
    archive, or a table read as the run's ``options``, as JSON, say: its
    columns and held-out split)."""
    run = json.loads(options)
    test = load_reviews(source, TableConfig.from_options(run), int(run.get("seed", 1337))).test
    return dict(zip(test.ids, test.texts))


def data_source(metrics: RunMetrics, data: str | None) -> str | None:
    """Where the test reviews are: ``data`` ($SENTIMENT_DATA), else the --data of the run, if it is here."""
    source = data or metrics.options.get("data")
    return source if source and os.path.exists(source) else None


def open_test_review(review_id: str, source: str, options: str, tab: str) -> None:
    """Puts a test review into the explore tab's text box and opens that tab (a button's callback)."""
    st.session_state.review = st.session_state.the_review = test_reviews(source, options)[review_id]
    st.session_state.example = "(your own)"
    st.session_state.tab = tab


# -- a model's reading of a review, once per (model file, review) ------------------------------------


@st.cache_data(show_spinner=False, max_entries=256)
def verdict(path: str, stamp: float, text: str) -> Verdict:
    """What the model in ``path`` says of ``text``: milliseconds, once its verdict function is made."""
    warmup().verdicts(path).result()
    return reader_of(warmup().model(path)).verdict(text)


@st.cache_data(show_spinner=False, max_entries=64)
def read_review(path: str, stamp: float, text: str) -> tuple[Trace, Explanation]:
    """Every gate of the model in ``path`` on ``text``, and what decided its
    verdict (word attributions, occlusion, unit ranking), from one compiled
    pass: waits for the pass to be compiled, never compiles it here."""
    warmup().programs(path, EXPLORE).result()
    return explain.trace_and_explain(warmup().model(path), text)


@st.cache_data(show_spinner=False, max_entries=64)
def trace_review(path: str, stamp: float, text: str) -> Trace:
    """Every gate of the model in ``path`` on ``text``."""
    warmup().programs(path, WHY_GATES).result()
    return trace(warmup().model(path), text)


@st.cache_data(show_spinner=False, max_entries=64)
def reach_review(path: str, stamp: float, text: str) -> Reach:
    warmup().programs(path, WHY_GATES).result()
    return gradient_reach(warmup().model(path), text)


def for_each(models: dict, read, review: str) -> dict:
    """``read(path, stamp, review)`` (one of the cached readings above) for every model, side by side."""
    return side_by_side(
        {name: (lambda path=path: read(path, modified(path), review)) for name, (path, _) in models.items()}
    )


def side_by_side(calls: dict) -> dict:
    """``{key: call()}``, each in a thread of its own: a compiled pass lets go
    of Python while it runs, so on 2 cores two models take little more than
    one. A ValueError (a review a model cannot read) is returned in place of
    the result."""
    ctx = get_script_run_ctx()

    def run(call):
        add_script_run_ctx(threading.current_thread(), ctx)  # the session's caches, from this thread
        try:
            return call()
        except ValueError as err:
            return err

    if len(calls) < 2:
        return {key: run(call) for key, call in calls.items()}
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {key: pool.submit(run, call) for key, call in calls.items()}
        return {key: future.result() for key, future in futures.items()}
