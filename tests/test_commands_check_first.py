"""Every command that writes into a run folder checks its arguments before it
starts: a bad one stops it with exit status 2 and a message naming it, and
not one file of the folder changes (`python -m sentiment suite --data
/nonexistent` once overwrote the committed suite.json without its baselines)."""

from __future__ import annotations

import importlib
import json
import os
import shutil

import pytest

from conftest import contents

COMMITTED = os.path.join(os.path.dirname(__file__), os.pardir, "saved_models")
MISSING = "/nonexistent/aclImdb"


@pytest.fixture
def run_folder(tmp_path):
    """A run folder as train.py and the commands leave it, with placeholder model files
    (the checks come before any model is read) and a lesson run beside it."""
    folder = tmp_path / "models"
    for sub in ("", "lesson"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        metrics = json.loads(open(os.path.join(COMMITTED, sub, "metrics.json"), encoding="utf-8").read())
        metrics["options"]["data"] = MISSING  # where the run was trained: not on this machine
        (folder / sub / "metrics.json").write_text(json.dumps(metrics))
        for result in metrics["models"].values():
            (folder / sub / result["file"]).write_bytes(b"a model")
    for name in ("suite.json", "why_gates.json", "report.md", "test_predictions.npz"):
        (folder / name).write_text("before")
    shutil.copy(os.path.join(COMMITTED, "lesson", "memory.json"), folder / "lesson" / "memory.json")
    return folder


COMMANDS = {
    "suite": lambda f, data: ["--models", str(f), *data],
    "memory": lambda f, data: ["--models", str(f), *data],
    "ablate": lambda f, data: ["--models", str(f), *data],
    "units": lambda f, data: [str(f), *data],
    "why_gates": lambda f, data: [str(f), *data],
    "evaluate": lambda f, data: [str(f), *data],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("data", [["--data", "/nonexistent"], []], ids=["bad --data", "recorded data missing"])
def test_a_bad_data_path_stops_the_command_before_it_writes(command, data, run_folder, capsys):
    before = contents(run_folder)
    main = importlib.import_module(f"sentiment.cli.{command}").main
    assert main(COMMANDS[command](run_folder, data)) == 2
    err = capsys.readouterr().err
    assert ("/nonexistent" in err) and "error" in err
    assert contents(run_folder) == before


def test_a_run_whose_model_file_is_gone_is_refused_before_any_work(run_folder, capsys):
    from sentiment.cli.suite import main

    os.remove(run_folder / "gru.keras")
    before = contents(run_folder)
    assert main(["--models", str(run_folder), "--no-baselines"]) == 2
    assert "gru.keras" in capsys.readouterr().err
    assert contents(run_folder) == before


def test_suite_says_how_to_score_the_models_without_their_baselines(run_folder, capsys):
    from sentiment.cli.suite import main

    assert main(["--models", str(run_folder)]) == 2
    assert "--no-baselines" in capsys.readouterr().err


def test_memory_only_refuses_an_unreadable_results_file_before_any_part(run_folder):
    from sentiment.cli.memory import main

    (run_folder / "lesson" / "memory.json").write_text("{not json")
    before = contents(run_folder)
    with pytest.raises(SystemExit) as stop:
        main(["--models", str(run_folder), "--only", "chrono"])
    assert stop.value.code == 2 and contents(run_folder) == before
