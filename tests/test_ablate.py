"""Switch a gate off, part 2: `python -m sentiment ablate` on tiny grids.

The quick tests train nothing: the runners are replaced by ones that return
made-up figures, so what is tested is the command itself: the grid, the
checks before anything is written, a rerun that skips what is done, the
extra IMDB seeds, the results file and what is read off it. The slow ones
train the tiny grid for real and show it in the app.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import ROOT, assert_charts_are_vega_lite, contents
from sentiment.experiments import memory
from sentiment.experiments.ablation import Ablation
from sentiment.experiments.ablation_arms import arms_of
from sentiment.experiments.ablation_config import AblationConfig
from sentiment.experiments.ablation_results import AblationResults, ImdbSetting, load_ablation
from sentiment.reporting.ablation_section import ablation_markdown, arm_reading

COMMITTED_LESSON = os.path.join(ROOT, "saved_models", "lesson")
TINY = ["--distances", "2", "8", "--seeds", "0", "1", "--variants", "lstm:no_forget", "--starts", "chrono"]


@pytest.fixture
def lesson(tmp_path):
    """A main run and its lesson run as the commands find them, with placeholder
    model files (every check comes before a model is read)."""
    folder = tmp_path / "models"
    (folder / "lesson").mkdir(parents=True)
    metrics = json.loads(open(os.path.join(COMMITTED_LESSON, "metrics.json"), encoding="utf-8").read())
    metrics["options"]["data"] = "/nonexistent/aclImdb"  # where the run was trained: not on this machine
    (folder / "lesson" / "metrics.json").write_text(json.dumps(metrics))
    for result in metrics["models"].values():
        (folder / "lesson" / result["file"]).write_bytes(b"a model")
    return folder


def exit_status(argv) -> int:
    from sentiment.cli.ablate import main

    try:
        return main(argv)
    except SystemExit as stop:  # argparse's error: status 2
        return stop.code


class FakeMemory:
    """memory.train_run's figures without training: the bit kept at every
    distance but the longest, where the LSTM needs more than 600 steps."""

    def __init__(self, stop_after: int | None = None):
        self.calls, self.stop_after = [], stop_after

    def __call__(self, cell, distance, seed, settings, chrono=False, forget_bias=None) -> dict:
        if self.stop_after is not None and len(self.calls) == self.stop_after:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a run
        self.calls.append((cell, distance, seed, chrono, forget_bias))
        passed = 1200 if (cell == "lstm" and distance == 8 and not chrono) else 25
        return {
            "cell": cell, "distance": distance, "seed": seed, "chrono": chrono, "accuracy": 1.0,
            "passed_95_at": passed, "validation_curve": [0.5, 1.0], "steps_run": passed + 25,
            "reach_initial": 0.5, "reach_trained": 0.9, "seconds": 0.1,
        }  # fmt: skip


class FakeImdb:
    """An IMDB runner that trains nothing: each arm's accuracy is made up."""

    ACCURACY = {"lstm": 0.870, "lstm@chrono": 0.866, "lstm:no_forget": 0.800, "gru": 0.880, "gru@chrono": 0.830}

    def __init__(self):
        self.calls = []
        self.base_seed = 1337
        configs = {"lstm": {"units": 64, "pooling": "last"}, "gru": {"units": 64, "pooling": "last"}}
        fits = {"lstm": {"learning_rate": 0.003}, "gru": {"learning_rate": 0.003}}
        self.setting = ImdbSetting("tiny", 40, 10, 40, 1, configs, fits, "Every model here trained the same way.")

    def train(self, arm, seed) -> dict:
        self.calls.append((arm.name, seed))
        accuracy = self.ACCURACY[arm.name] + 0.001 * (seed - self.base_seed)
        buckets = [{"label": "<=100", "n": 20, "accuracy": accuracy}, {"label": ">100", "n": 20, "accuracy": accuracy}]
        test = {
            "accuracy": accuracy, "precision": accuracy, "recall": accuracy, "f1": accuracy, "roc_auc": accuracy,
            "confusion_matrix": [[18, 2], [2, 18]], "n": 40, "by_length": buckets,
        }  # fmt: skip
        suite = {"negation": {"cases": 10, "failures": 4, "rate": 0.4}}
        return {
            "arm": arm.name, "seed": seed, "test": test, "best_val_accuracy": accuracy, "epochs_run": 1,
            "best_epoch": 1, "parameters": 100, "train_seconds": 0.1, "suite": suite,
        }  # fmt: skip


def tiny_results(tmp_path, **config) -> Ablation:
    grid = AblationConfig(distances=[2, 8], seeds=[0, 1], variants=["lstm:no_forget"], starts=["chrono"], **config)
    results = AblationResults(grid, arms_of(grid))
    fake = FakeImdb()
    ablation = Ablation(results, str(tmp_path / "ablation.json"), imdb_runner=lambda: fake, say=lambda line: None)
    ablation.memory_runner = lambda arm, d, seed, settings: {
        "arm": arm.name,
        **FakeMemory()(arm.spec, d, seed, settings),
    }
    ablation.fake = fake
    return ablation


# -- the grid ----------------------------------------------------------------------------------------


def test_the_full_grid_has_every_variant_the_full_cells_and_their_starts():
    names = [arm.name for arm in arms_of(AblationConfig())]
    assert names[0] == "elman"  # the committed experiment's rival, on the memory task only
    lstm = [n for n in names if n.startswith("lstm")]
    gru = [n for n in names if n.startswith("gru")]
    assert len([n for n in lstm if ":" in n]) == 6 and len([n for n in gru if ":" in n]) == 3
    assert {"lstm", "lstm@forget_bias_0", "lstm@chrono", "gru", "gru@chrono"} <= set(names)
    assert "gru@forget_bias_0" not in names  # the GRU has no forget gate to start
    assert AblationConfig().distances == list(memory.DISTANCES) and AblationConfig().seeds == [0, 1, 2]


def test_an_unknown_variant_is_refused_listing_the_valid_ones():
    with pytest.raises(ValueError, match="lstm:no_forget"):
        arms_of(AblationConfig(variants=["lstm:nope"]))
    with pytest.raises(ValueError, match="not in cells"):
        arms_of(AblationConfig(cells=["lstm"], variants=["gru:mgu"]))


# -- the command checks everything before it writes ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--variants", "lstm:nope"], "lstm:no_forget"),  # the valid ones listed
        (["--steps", "10"], "--steps must be at least 25"),
        (["--starts", "open"], "chrono"),
        (["--data", "/nonexistent"], "/nonexistent"),
        ([], "/nonexistent/aclImdb"),  # the run's recorded data, not here: says to pass --data
        (["--lesson", "/nonexistent/lesson"], "--parts memory"),
    ],
    ids=["unknown variant", "too few steps", "unknown start", "bad --data", "recorded data missing", "no lesson"],
)
def test_the_command_refuses_bad_input_before_writing_anything(argv, says, lesson, capsys):
    before = contents(lesson)
    assert exit_status(["--models", str(lesson), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "error" in err
    assert contents(lesson) == before


def test_a_results_file_made_under_other_settings_or_unreadable_is_refused(lesson, capsys, monkeypatch):
    monkeypatch.setattr(memory, "train_run", FakeMemory())
    out = lesson / "lesson" / "ablation.json"
    assert exit_status(["--models", str(lesson), "--parts", "memory", *TINY, "--steps", "600"]) == 0
    before = contents(lesson)
    assert exit_status(["--models", str(lesson), "--parts", "memory", *TINY, "--steps", "900"]) == 2
    err = capsys.readouterr().err
    assert "steps 600 in the file, 900 asked" in err and "--out" in err
    out.write_text("{not json")
    before = contents(lesson)
    assert exit_status(["--models", str(lesson), "--parts", "memory", *TINY]) == 2
    assert "delete it" in capsys.readouterr().err
    assert contents(lesson) == before


# -- a rerun goes on where the last one stopped ---------------------------------------------------------


def test_a_rerun_skips_finished_runs_and_an_interrupted_one_goes_on(lesson, monkeypatch, capsys):
    argv = ["--models", str(lesson), "--parts", "memory", *TINY]
    interrupted = FakeMemory(stop_after=5)
    monkeypatch.setattr(memory, "train_run", interrupted)
    assert exit_status(argv) == 130
    out = lesson / "lesson" / "ablation.json"
    assert len(load_ablation(out).memory.runs) == 5  # written after each run
    assert "run the same command again" in capsys.readouterr().err
    rest = FakeMemory()
    monkeypatch.setattr(memory, "train_run", rest)
    assert exit_status(argv) == 0
    # elman, lstm, lstm@chrono, lstm:no_forget, gru, gru@chrono; 2 distances, 2 seeds
    assert len(rest.calls) == 6 * 2 * 2 - 5
    again = FakeMemory()
    monkeypatch.setattr(memory, "train_run", again)
    assert exit_status(argv) == 0 and again.calls == []
    assert "24 of 24 runs done, 0 to go" in capsys.readouterr().out
    results = load_ablation(out)
    assert len(results.memory.runs) == 24 and results.memory.settings.steps == 3000
    assert ("lstm", 8, 0, True, None) in rest.calls + interrupted.calls  # chrono: the start reaches train_run
    report = (lesson / "lesson" / "report.md").read_text()
    assert "## Switch a gate off" in report and "LSTM no forget" in report


def test_the_imdb_part_gives_more_seeds_to_an_arm_within_a_point_of_its_full_cell(tmp_path):
    ablation = tiny_results(tmp_path)
    results = ablation.run(["imdb"])
    seeds = {name: [r.seed for r in results.imdb_runs(name)] for name in ("lstm", "lstm@chrono", "lstm:no_forget")}
    # lstm@chrono is 0.4 points from the LSTM: three seeds, and the LSTM too; no_forget, 7 points off: one
    assert seeds == {"lstm": [1337, 1338, 1339], "lstm@chrono": [1337, 1338, 1339], "lstm:no_forget": [1337]}
    assert [r.seed for r in results.imdb_runs("gru@chrono")] == [1337]  # 5 points off the GRU
    assert "elman" not in {r.arm for r in results.imdb.runs}  # the reference cell: the memory task only
    calls = len(ablation.fake.calls)
    again = Ablation(load_ablation(ablation.out), ablation.out, imdb_runner=lambda: FakeImdb(), say=lambda line: None)
    again.run(["imdb"])
    assert len(ablation.fake.calls) == calls and not any(r is None for r in again.results.imdb.runs)
    row = results.imdb_rows()["lstm@chrono"]
    assert row.difference == pytest.approx(-0.004) and row.sd == pytest.approx(0.001) and row.within_noise is False


# -- the results file ------------------------------------------------------------------------------------


def test_the_results_round_trip_through_json(tmp_path):
    ablation = tiny_results(tmp_path)
    results = ablation.run(["memory", "imdb"])
    text = open(ablation.out, encoding="utf-8").read()
    assert AblationResults.from_json(json.loads(text)) == results
    assert load_ablation(ablation.out) == results
    data = json.loads(text)
    assert data["figures"]["budget"]["verdict"] == "decided"  # made from the runs for a reader; never read back
    assert set(data["figures"]["imdb"]) == {"lstm", "lstm@chrono", "lstm:no_forget", "gru", "gru@chrono"}


def test_whether_the_committed_budget_decided_the_elman_lstm_result(tmp_path):
    results = tiny_results(tmp_path).run(["memory"])
    budget = results.budget()
    # The fake LSTM keeps the bit at N = 8 only after 1,200 steps; the Elman RNN by step 25.
    row = next(r for r in budget.rows if r.distance == 8)
    assert (row.rival_by_committed, row.cell_by_committed, row.rival_by_budget, row.cell_by_budget) == (2, 0, 2, 2)
    assert budget.verdict == "decided" and budget.sentence.startswith("Yes")
    points = {p.distance: p for p in results.memory_points("lstm")}
    assert points[8].solved == 2 and points[8].solved_by_committed == 0 and points[8].steps_to_95 == [1200, 1200]


def test_a_reach_counts_only_distances_kept_in_every_seed_up_to_it(tmp_path):
    ablation = tiny_results(tmp_path)
    runner = ablation.memory_runner

    def lost_once_at_2(arm, distance, seed, settings):  # the LSTM loses one seed at N = 2 and keeps both at N = 8
        run = runner(arm, distance, seed, settings)
        if arm.name == "lstm" and distance == 2 and seed == 0:
            run |= {"accuracy": 0.5, "passed_95_at": None}
        return run

    ablation.memory_runner = lost_once_at_2
    results = ablation.run(["memory"])
    assert {p.distance: p.solved for p in results.memory_points("lstm")} == {2: 1, 8: 2}
    assert results.longest_solved("lstm") is None and results.longest_solved("elman") == 8
    assert "the full cell at no distance" in arm_reading(results, "lstm:no_forget")


def test_the_report_section_and_the_plain_reading(tmp_path):
    results = tiny_results(tmp_path).run(["memory", "imdb"])
    text = "\n".join(ablation_markdown(results))
    for line in ("## Switch a gate off", "| LSTM no forget | 100.0% · 25/25 |", "| LSTM, chrono start | 3 |"):
        assert line in text, line
    reading = arm_reading(results, "lstm:no_forget")
    assert "87.10% (seeds: 1 and 3): a cost of 7.1 points" in reading and "Greff et al. 2017" in reading
    assert "forget-gate bias" not in arm_reading(results, "gru@chrono")


def test_a_missing_results_file_says_which_command_makes_it(tmp_path):
    from sentiment.experiments.ablation_results import AblationFileError

    with pytest.raises(AblationFileError, match="python -m sentiment ablate --data PATH"):
        load_ablation(tmp_path / "ablation.json")


# -- for real, on the tiny grid ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_tiny_grid_trains_for_real_and_the_app_shows_it(tiny_run, tiny_lesson, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    out, _ = tiny_run
    lesson = tmp_path / "lesson"
    shutil.copytree(tiny_lesson, lesson)
    data = str(out.parent / "data" / "aclImdb")
    argv = [
        "--models", str(out), "--lesson", str(lesson), "--data", data, "--cells", "lstm", "--reference", "elman",
        "--variants", "lstm:no_forget", "--starts", "chrono", "--distances", "2", "--seeds", "0", "--steps", "25",
        "--imdb-reviews", "0", "--imdb-epochs", "1", "--imdb-seeds", "2",
    ]  # fmt: skip
    assert exit_status(argv) == 0
    results = load_ablation(lesson / "ablation.json")
    assert {r.arm for r in results.memory.runs} == {"elman", "lstm", "lstm@chrono", "lstm:no_forget"}
    first = [r for r in results.imdb.runs if r.seed == results.imdb.base_seed]
    assert {r.arm for r in first} == {"lstm", "lstm@chrono", "lstm:no_forget"}
    assert all(r.file and os.path.isfile(lesson / r.file) and r.suite for r in first)
    monkeypatch.setenv("SENTIMENT_MODELS", str(out))
    monkeypatch.setenv("SENTIMENT_LESSON", str(lesson))
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300).run()
    at.session_state["tab"] = "Why gates?"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Switch a gate off" in [h.value for h in at.subheader]
    at.selectbox(key="gate_off_lstm").set_value("lstm:no_forget").run()
    assert not at.exception, [e.value for e in at.exception]
    assert_charts_are_vega_lite(at)
    assert any("P(positive)" in c.value for c in at.caption)
    os.remove(lesson / "ablation.json")  # without the file, the section says which command makes it
    at.run()
    assert not at.exception and any("python -m sentiment ablate --data PATH" in i.value for i in at.info)
