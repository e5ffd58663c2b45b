"""`sentiment.run.Run`: a run folder as one object, its result files as typed
classes, and where its reviews are; the app's loaders and warm-up on top of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, committed, write_aclimdb
from sentiment.analysis.why_gates_results import WhyGatesFileError
from sentiment.data.splits import DataError
from sentiment.experiments.memory_results import PARTS, MemoryFileError, MemoryResults
from sentiment.experiments.suite_results import SuiteFileError
from sentiment.run import Run


@pytest.fixture
def committed_run():
    committed("metrics.json")
    return Run(os.path.join(ROOT, "saved_models"))


def test_the_committed_run_and_its_files_read_as_their_classes(committed_run):
    run = committed_run
    assert list(run.model_paths()) == list(run.metrics.models)
    assert all(os.path.isfile(p) for p in run.model_paths().values())
    assert run.check() is run
    assert run.lesson is not None and set(run.lesson.model_paths()) == {"elman", "jordan", "lstm", "gru"}
    suite = run.suite()
    assert len(suite.cases) > 900 and set(run.metrics.models) <= set(suite.scores)
    assert run.stale_in_suite(suite) == []  # committed with the models it was measured on
    memory = run.memory()
    assert memory.parts() == list(PARTS)
    assert set(memory.textbook.summary) == {"elman", "jordan", "lstm", "gru"}
    assert all(p.min <= p.mean <= p.max for points in memory.textbook.summary.values() for p in points)
    gates = run.lesson.why_gates()
    assert gates.reviews > 0 and set(gates.models) == set(run.lesson.model_paths())
    for states in gates.models.values():
        profile = states["trained"].reach["embedding"]
        assert len(profile.distance) == len(profile.median) == len(profile.n)
        assert profile.median_at(profile.distance[0]) == profile.median[0] and profile.median_at(-1) is None
    assert run.atlas("lstm").meta["model_file"] == "lstm.keras"


def test_the_lesson_folder_is_the_one_given(tmp_path, committed_run):
    lesson = tmp_path / "elsewhere"
    shutil.copytree(committed_run.lesson_folder, lesson)
    run = Run(committed_run.folder, str(lesson))
    assert run.lesson.folder == str(lesson) and run.memory_path() == str(lesson / "memory.json")
    assert Run(committed_run.folder, str(tmp_path / "none")).lesson is None


def test_a_missing_or_broken_result_file_says_which_command_makes_it(tmp_path):
    run = Run(tmp_path)
    with pytest.raises(SuiteFileError, match="python -m sentiment suite"):
        run.suite()
    with pytest.raises(MemoryFileError, match="python -m sentiment memory --data PATH"):
        run.memory()
    with pytest.raises(WhyGatesFileError, match=f"python -m sentiment why-gates {tmp_path}"):
        run.why_gates()
    (tmp_path / "why_gates.json").write_text(json.dumps({"reviews": 3, "review_ids": [], "distances": []}))
    with pytest.raises(WhyGatesFileError, match=r"why_gates\.models is missing"):
        run.why_gates()
    (tmp_path / "lesson").mkdir()
    (tmp_path / "lesson" / "memory.json").write_text(json.dumps({"textbook": {"settings": {}, "seeds": [0]}}))
    with pytest.raises(MemoryFileError, match=r"memory\.textbook\.runs is missing"):
        run.memory()


def test_memory_results_keep_the_parts_made_so_far():
    committed("lesson/memory.json")
    with open(os.path.join(ROOT, "saved_models", "lesson", "memory.json"), encoding="utf-8") as f:
        data = json.load(f)
    partial = MemoryResults.from_json({"textbook": data["textbook"], "command": "c", "seconds": {"textbook": 1}})
    assert partial.parts() == ["textbook"] and partial.real is None and partial.chrono is None
    with pytest.raises(ValueError, match=r"memory\.real\.lengths\[0\]: expected an integer"):
        MemoryResults.from_json({**data, "real": {**data["real"], "lengths": ["many"]}})


def test_where_the_reviews_are(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    data = write_aclimdb(tmp_path / "data", per_class=4)
    metrics = json.loads(open(committed("metrics.json"), encoding="utf-8").read())

    def run_trained_on(source):
        metrics["options"]["data"] = source
        (folder / "metrics.json").write_text(json.dumps(metrics))
        return Run(folder)

    assert run_trained_on(data).data_source(None) == data
    assert run_trained_on(None).data_source(None) is None  # tensorflow-datasets, as the run was
    with pytest.raises(DataError, match="/gone/aclImdb, which is not here: pass --data PATH"):
        run_trained_on("/gone/aclImdb").data_source(None)
    assert run_trained_on("/gone/aclImdb").data_source(data) == data
    with pytest.raises(DataError, match="--data /nonexistent: no such file or folder"):
        run_trained_on(data).data_source("/nonexistent")


def test_a_run_lists_a_model_file_that_is_gone(tmp_path):
    shutil.copy(committed("metrics.json"), tmp_path / "metrics.json")
    (tmp_path / "lstm.keras").write_bytes(b"")
    with pytest.raises(ValueError, match="gru.keras, which is not there"):
        Run(tmp_path).check()


@pytest.mark.slow
def test_a_run_reads_no_tensorflow_until_a_model_is_asked_for():
    code = (
        "import sys; from sentiment.run import Run; r = Run('saved_models'); r.suite(); r.memory(); r.metrics; "
        "r.lesson.why_gates(); r.atlas('lstm'); print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    committed("lstm.atlas.npz")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


# -- the app's pieces under it -----------------------------------------------------------------------


def test_model_files_come_in_the_network_s_order_of_cells(tmp_path):
    from sentiment.app.loaders import model_files

    for name in ("zeta.keras", "jordan.keras", "gru.keras", "elman.keras", "lstm.keras", ".tmp.keras", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [os.path.basename(p) for p in model_files(str(tmp_path))] == [
        "lstm.keras", "gru.keras", "elman.keras", "jordan.keras", "zeta.keras",
    ]  # fmt: skip
    assert model_files(str(tmp_path / "none")) == []


def test_a_file_rewritten_on_disk_is_a_new_cache_key(tmp_path):
    from sentiment.app.cache import File

    path = tmp_path / "metrics.json"
    path.write_text("{}")
    first = File.at(str(path))
    assert File.at(str(path)) == first
    os.utime(path, (1, 1))
    assert File.at(str(path)) != first
    assert File.at(str(tmp_path / "missing")).stamp == (-1.0,)


@pytest.mark.slow
def test_each_model_reads_a_text_side_by_side_and_a_problem_is_said_in_its_place(committed_run):
    from sentiment.app import loaders

    lesson = {name: (path, None) for name, path in committed_run.lesson.model_paths().items()}
    verdicts = loaders.for_each(lesson, loaders.verdicts, "A wonderful film, I loved it.")
    assert set(verdicts) == set(lesson) and all(0 <= v.probability <= 1 for v in verdicts.values())
    nothing = loaders.for_each(lesson, loaders.verdicts, "...")  # no word: each model says so, in its place
    assert all(isinstance(v, ValueError) and "no words" in str(v) for v in nothing.values())


@pytest.mark.slow
def test_warm_up_forgets_a_retrained_model_s_old_jobs(tmp_path, committed_run):
    from sentiment.app.warmup import Warmup

    path = str(tmp_path / "elman.keras")
    shutil.copy(committed_run.lesson.model_paths()["elman"], path)
    warmup = Warmup()
    first = warmup.load(path)
    assert warmup.load(path) is first  # once per file
    model = first.result()
    os.utime(path, (1, 1))  # "retrained": the file on disk changed
    again = warmup.load(path)
    assert again is not first and again.result() is not model
    assert len(warmup._jobs) == 1  # the old job is gone with its model


@pytest.mark.slow
def test_warm_up_settles_the_heap_once_everything_queued_is_loaded(tmp_path, committed_run):
    """After the models and their passes, what is loaded leaves the garbage
    collector's reach (gc.freeze): a full collection no longer walks it."""
    import gc

    from sentiment.app.warmup import Warmup

    path = str(tmp_path / "elman.keras")
    shutil.copy(committed_run.lesson.model_paths()["elman"], path)
    gc.unfreeze()
    warmup = Warmup()
    try:
        warmup.start([path], [])
        warmup._pool.shutdown(wait=True)  # the queue, run to its end
        assert warmup.verdicts(path).done() and gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_the_app_s_server_keeps_tensorflow_s_kernels_between_script_runs(monkeypatch):
    """Streamlit clears Keras's session after every script run; in the app's
    server that would make every model set its functions up again on each
    page (docs/benchmark.md). If Streamlit stops doing it (the first assert
    fails), `keep_the_session` can go."""
    import keras
    from streamlit.runtime.scriptrunner.script_runner import _clean_problem_modules
    from tensorflow.python.eager import context

    from sentiment.app.warmup import keep_the_session

    cleared = []
    monkeypatch.setattr(context.context(), "clear_kernel_cache", lambda: cleared.append(1))
    # Keras's own (an app test earlier in this process may have kept the session already); put back afterwards.
    monkeypatch.setattr(keras.backend, "clear_session", keras.utils.clear_session)
    _clean_problem_modules()  # what Streamlit's script runner does after a run
    assert cleared == [1]
    keep_the_session()
    _clean_problem_modules()
    assert cleared == [1] and keras.utils.clear_session is not keras.backend.clear_session


def test_the_app_s_server_skips_altair_s_schema_check_and_a_test_still_can_ask_for_it(monkeypatch):
    """Streamlit converts every chart with ``to_dict()``; in the app's server that skips the schema check (the
    app tests check what the app draws instead), and ``to_dict(validate=True)`` still catches a broken chart."""
    import functools

    import altair as alt
    import pandas as pd
    from jsonschema import ValidationError

    from sentiment.app import charts

    for chart in charts.TOP_LEVEL:  # as Altair has them (an app test earlier may have set them), put back afterwards
        own = chart.__dict__.get("to_dict")
        monkeypatch.setattr(chart, "to_dict", own.func if isinstance(own, functools.partialmethod) else chart.to_dict)
    broken = alt.Chart(pd.DataFrame({"a": [1, 2]})).mark_bar().encode(x="a:Q")
    broken["width"] = "wide"  # not a width Vega-Lite knows (set as an item: Altair checks an argument at once)
    with pytest.raises(ValidationError):
        broken.to_dict()
    charts.skip_the_schema_check()
    charts.skip_the_schema_check()  # once is enough; twice changes nothing
    assert broken.to_dict()["width"] == "wide" and (broken + broken).to_dict()["layer"]
    with pytest.raises(ValidationError):
        broken.to_dict(validate=True)


def test_python_app_py_serves_without_a_collection_after_every_script_run(monkeypatch):
    """`python app.py` turns off Streamlit's full garbage collection after
    each script run (and its watching of the sources), as Streamlit's own
    command line reads the options it is given; a flag of yours still wins."""
    from streamlit.web import cli

    from sentiment.app import launch

    monkeypatch.setattr(launch._starter, "submit", lambda *a, **k: None)  # no warm-up in the test process
    seen = {}

    def serve_instead(file, args=None, flag_options=None):  # where Streamlit would start its server
        seen.update(file=file, options=flag_options)

    monkeypatch.setattr(cli, "_main_run", serve_instead)
    app = os.path.join(ROOT, "app.py")
    monkeypatch.setattr(sys, "argv", ["app.py", "--server.port", "8599"])
    with pytest.raises(SystemExit) as done:
        launch.serve(app)
    assert done.value.code in (0, None) and seen["file"] == app
    options = seen["options"]
    assert options["runner_postScriptGC"] is False and options["server_fileWatcherType"] == "none"
    assert options["server_port"] == 8599

    monkeypatch.setattr(sys, "argv", ["app.py", "--runner.postScriptGC", "true"])
    with pytest.raises(SystemExit):
        launch.serve(app)
    assert seen["options"]["runner_postScriptGC"] is True


@pytest.mark.slow
def test_a_run_s_splits_are_the_ones_train_py_made(tiny_run):
    out, _ = tiny_run
    run = Run(out)
    splits = run.splits(None)  # the --data the run recorded, which is here
    recorded = run.metrics.data
    assert (len(splits.train), len(splits.val), len(splits.test)) == (recorded.train, recorded.val, recorded.test)
    with np.load(out / "test_predictions.npz") as saved:
        assert sorted(saved["ids"].tolist()) == sorted(splits.test.ids)
