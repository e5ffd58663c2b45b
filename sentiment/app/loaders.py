"""What the app reads and computes, each cached by file (`sentiment.app.cache`):
a run's files as their typed classes, and the models' readings of a text.

The models come from the server's one `Warmup`, which loads them and compiles
their passes in the background; a page waits only for what it shows. A
reading (verdicts, traces and explanations, gradient reach) is of every model
of a tab at once, each model in a thread of its own, and is kept per (model
files, text): changing a view option recomputes nothing, and a model
retrained on disk is read again on the next run of the page.
"""

from __future__ import annotations

import functools
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import streamlit as st

from sentiment.analysis import reading
from sentiment.analysis.atlas_file import Atlas, AtlasError, atlas_path, load_atlas
from sentiment.analysis.reader import reader_of
from sentiment.analysis.why_gates_results import WhyGatesFileError, WhyGatesResults, load_why_gates
from sentiment.app import first_answer
from sentiment.app.cache import File
from sentiment.app.warmup import EXPLORE, WHY_GATES
from sentiment.app.warmup import shared as warmup
from sentiment.data.imdb import load_reviews
from sentiment.data.splits import DataError
from sentiment.data.tables import TableConfig
from sentiment.evaluation.predictions import PREDICTIONS, load_test_predictions
from sentiment.evaluation.results import RunMetrics
from sentiment.experiments.memory_results import MemoryFileError, MemoryResults, load_memory
from sentiment.experiments.suite_results import (
    PREVIOUS,
    PreviousRates,
    SuiteFileError,
    SuiteResults,
    load_previous,
    load_suite,
    stale_files,
)
from sentiment.network.model import ModelLoadError, vocabulary_of
from sentiment.run import Run

# -- a run's files ----------------------------------------------------------------------------------

# Read before TensorFlow has loaded, for the explore tab's first answer; the tabs read them here, as every file.
model_files, metrics = first_answer.model_files, first_answer.metrics


def load_models(folder: str) -> tuple[dict, dict[str, str]]:
    """({name: (path, model)}, {file: error}) for every .keras file in ``folder``."""
    models, errors = {}, {}
    for path in model_files(folder):
        try:
            models[first_answer.name_of(path)] = (path, warmup().model(path))
        except ModelLoadError as err:
            errors[os.path.basename(path)] = str(err)
    return models, errors


@st.cache_data(show_spinner=False, max_entries=4)
def _predictions(file: File) -> dict | None:
    return load_test_predictions(file.path) if os.path.isfile(file.path) else None


def test_predictions(run: Run) -> dict | None:
    """The run's test_predictions.npz, or None where there is none."""
    return _predictions(File.at(run.path(PREDICTIONS)))


@st.cache_resource(show_spinner=False, max_entries=2)
def _suite(file: File, folder: str) -> tuple[SuiteResults | None, str | None]:
    try:
        results = load_suite(file.path)
    except SuiteFileError as err:
        return None, str(err)
    stale = stale_files(results, folder)
    note = (
        f"Measured on other versions of {', '.join(stale)}: run `python -m sentiment suite` again." if stale else None
    )
    return results, note


def suite(run: Run) -> tuple[SuiteResults | None, str | None]:
    """(the behavioural suite's results, None), or (None, why there are none and
    what makes them), or (results, a note that they are from other model files)."""
    models = model_files(run.folder) + model_files(run.lesson_folder)
    return _suite(File.at(run.path("suite.json"), *models), run.folder)


_RESULTS = {
    "memory": (load_memory, MemoryFileError),
    "why_gates": (load_why_gates, WhyGatesFileError),
    "suite_previous": (load_previous, SuiteFileError),
}


@st.cache_data(show_spinner=False, max_entries=4)
def _results(file: File, kind: str):
    load, error = _RESULTS[kind]
    try:
        return load(file.path)
    except error as err:
        return str(err)


def suite_previous(run: Run) -> PreviousRates | str:
    """The rates of the models a retrain replaced (suite_previous.json), or why there are none."""
    return _results(File.at(run.path(PREVIOUS)), "suite_previous")


def memory(run: Run) -> MemoryResults | str:
    """memory.json beside the lesson models, or why there is none and what makes it."""
    return _results(File.at(run.memory_path()), "memory")


def why_gates(run: Run) -> WhyGatesResults | str:
    """The run's why_gates.json, or why there is none and what makes it."""
    return _results(File.at(run.path("why_gates.json")), "why_gates")


@st.cache_resource(show_spinner="Reading the unit atlas ...", max_entries=8)
def _atlas(file: File, model_path: str) -> Atlas | AtlasError:
    try:
        return load_atlas(model_path)
    except AtlasError as err:
        return err


def atlas(model_path: str) -> tuple[Atlas | None, str | None]:
    """(the model's unit atlas, None), or (None, why there is none and how to make it)."""
    got = _atlas(File.at(atlas_path(model_path), model_path), model_path)
    return (None, str(got)) if isinstance(got, AtlasError) else (got, None)


@st.cache_resource(max_entries=8)
def _vocabulary(file: File, _model) -> np.ndarray:
    return np.asarray(vocabulary_of(_model))  # (the model itself is not hashed: `_model`; its file is the key)


def vocabulary(model_path: str, model) -> np.ndarray:
    """The model's vocabulary (token id -> word), read once per model file."""
    return _vocabulary(File.at(model_path), model)


@st.cache_resource(show_spinner="Reading the test reviews ...", max_entries=2)
def _test_reviews(source: str, options: str) -> dict[str, str]:
    run = json.loads(options)
    test = load_reviews(source, TableConfig.from_options(run), int(run.get("seed", 1337))).test
    return dict(zip(test.ids, test.texts))


def test_review(run: Run, metrics: RunMetrics, data: str | None, review_id: str) -> str:
    """The text of one test review of the run (its reviews read once, then kept)."""
    options = json.dumps(metrics.options, sort_keys=True, default=str)
    return _test_reviews(data_source(run, data), options)[review_id]


def data_source(run: Run, data: str | None) -> str | None:
    """Where the run's test reviews are: ``data`` ($SENTIMENT_DATA), else the
    --data of the run, where it is here; None where they are not."""
    try:
        return run.data_source(data)
    except DataError:
        return None


# -- the models' readings of a text, every model of a tab at once ----------------------------------------


def for_each(models: dict, read, text: str) -> dict:
    """``read`` (one of the readings below) of ``text`` by every model of
    ``models`` ({name: (path, model)}): {name: its result, or the ValueError
    that says why the model cannot read the text}."""
    files = tuple(File.at(path) for path, _ in models.values())
    out = read(files, text)
    return {name: out[path] for name, (path, _) in models.items()}


def _side_by_side(files: tuple[File, ...], read) -> dict:
    """``{file.path: read(file.path)}``, each in a thread of its own: a compiled
    pass lets go of Python while it runs, so on 2 cores two models take little
    more than one. Nothing here touches Streamlit, so the threads need none of
    its context."""

    def run(path):
        try:
            return read(path)
        except ValueError as err:  # a text this model cannot read: said in its place
            return ValueError(str(err))

    with ThreadPoolExecutor(max(len(files), 1)) as pool:
        futures = {f.path: pool.submit(run, f.path) for f in files}
        return {path: future.result() for path, future in futures.items()}


def _verdict(text: str, path: str):
    warmup().verdicts(path).result()
    return reader_of(warmup().model(path)).verdict(text)


def _read_review(text: str, path: str):
    warmup().programs(path, EXPLORE).result()  # waits for the pass to be compiled; never compiles it here
    return reading.trace_and_explain(warmup().model(path), text)


def _trace(text: str, path: str):
    warmup().programs(path, WHY_GATES).result()
    return reading.trace(warmup().model(path), text)


def _reach(text: str, path: str):
    warmup().programs(path, WHY_GATES).result()
    return reading.gradient_reach(warmup().model(path), text)


@st.cache_data(show_spinner=False, max_entries=256)
def verdicts(files: tuple[File, ...], text: str) -> dict:
    """Each model's verdict on ``text``: milliseconds, once its verdict function is made."""
    return _side_by_side(files, functools.partial(_verdict, text))


@st.cache_data(show_spinner=False, max_entries=64)
def read_reviews(files: tuple[File, ...], text: str) -> dict:
    """Each model's (trace, explanation) of ``text``: every gate, and what
    decided its verdict (word attributions, occlusion, unit ranking), from one
    compiled pass."""
    return _side_by_side(files, functools.partial(_read_review, text))


@st.cache_data(show_spinner=False, max_entries=64)
def traces(files: tuple[File, ...], text: str) -> dict:
    """Each model's every gate on ``text``."""
    return _side_by_side(files, functools.partial(_trace, text))


@st.cache_data(show_spinner=False, max_entries=64)
def reaches(files: tuple[File, ...], text: str) -> dict:
    """How far back each model's gradient reaches from the end of ``text``."""
    return _side_by_side(files, functools.partial(_reach, text))


# -- the ablation: `python -m sentiment ablate` ----------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=2)
def _ablation(file: File, models: str, lesson: str):
    try:
        return Run(models, lesson).ablation()
    except ValueError as err:  # AblationFileError: missing, unreadable, not what the command writes; it says which
        return str(err)


def ablation(run: Run):
    """ablation.json beside the lesson models (an `AblationResults`), or why there is none and what makes it."""
    return _ablation(File.at(run.ablation_path()), run.folder, run.lesson_folder)


@st.cache_data(show_spinner=False, max_entries=32)
def _changed(file: File, run: tuple[str, str], relative: str, sha256: str) -> bool:
    return Run(*run).ablation_model_changed(relative, sha256)  # a hash of 10 MB: once per file as it is now


def ablation_models(run: Run, files: dict[str, tuple[str | None, str | None]]) -> tuple[dict, dict[str, str]]:
    """({arm: (path, model)}, {arm: why it is not there}) of the ablation's IMDB
    models, ``files`` {arm: (file, sha256)} as the results name them: a file
    not kept, missing, changed since it was measured or unreadable is a reason,
    not an exception."""
    models, problems = {}, {}
    for arm, (file, sha256) in files.items():
        if file is None:
            problems[arm] = "its model was not kept (`python -m sentiment ablate --save-models` keeps it)"
            continue
        path = run.ablation_model(file)
        if not os.path.isfile(path):
            problems[arm] = f"{path} is not there: `python -m sentiment ablate --data PATH` trains it again"
        elif sha256 is not None and _changed(File.at(path), (run.folder, run.lesson_folder), file, sha256):
            problems[arm] = f"{path} changed since it was measured: its figures are not of this file"
        else:
            try:
                models[arm] = (path, warmup().model(path))
            except ModelLoadError as err:
                problems[arm] = str(err)
    return models, problems
