"""How far each cell remembers: the textbook task's labels, a crafted LSTM
that keeps the first token at any distance and an Elman RNN that loses it,
the filler, and the whole pipeline on a tiny grid."""

import json

import numpy as np
import pytest

from sentiment.experiments import memory


def test_the_task_is_labelled_by_its_first_token_and_balanced():
    for distance in (1, 5, 50):
        ids, labels = memory.make_task(distance, 200, np.random.default_rng(distance))
        assert ids.shape == (200, distance + 1) and labels.mean() == 0.5
        np.testing.assert_array_equal(labels == 1, ids[:, 0] == memory.POSITIVE)
        assert set(np.unique(ids[:, 0])) == {memory.POSITIVE, memory.NEGATIVE}
        assert ids[:, 1:].min() >= 3 and ids[:, 1:].max() < memory.VOCAB  # distractors: never a polarity token


def crafted(cell: str):
    """A last-state model of 2 units whose embedding gives the polarity tokens
    [±1, 1] and every distractor [0, 0]. The LSTM: the input gate opens only
    where the second feature is 1 (the first token), the forget gate is shut
    open (1) and the output gate too, the candidate is the polarity: the cell
    state keeps ±tanh(5) for ever. The Elman RNN: h = tanh(5 x + 0.01 h): the
    polarity, shrunk a hundredfold a step. The head reads unit 0's sign."""
    model = memory.task_model(cell, memory.TaskSettings(units=2, embedding_dim=2), seed=0)
    table = np.zeros((memory.VOCAB, 2), "float32")
    table[memory.POSITIVE], table[memory.NEGATIVE] = [1, 1], [-1, 1]
    model.get_layer("embedding").embeddings.assign(table)
    cell_ = model.get_layer(f"{cell}_0").cell
    units = 2
    kernel = np.zeros((2, cell_.num_gates * units), "float32")
    bias = np.zeros(cell_.num_gates * units, "float32")
    if cell == "lstm":  # blocks: input, forget, candidate, output
        kernel[1, 0:units] = 20.0
        bias[0:units] = -10.0  # input: open at the first token only
        bias[units : 2 * units] = 20.0  # forget: 1
        kernel[0, 2 * units : 3 * units] = 5.0  # candidate: the polarity
        bias[3 * units :] = 20.0  # output: 1
        cell_.recurrent_kernel.assign(np.zeros((units, 4 * units), "float32"))
    else:
        kernel[0] = 5.0
        cell_.recurrent_kernel.assign(0.01 * np.eye(units, dtype="float32"))
    cell_.kernel.assign(kernel)
    cell_.bias.assign(bias)
    dense = model.get_layer("positive")
    dense.kernel.assign(np.array([[20.0], [0.0]], "float32"))
    dense.bias.assign(np.zeros(1, "float32"))
    return model


@pytest.mark.parametrize("distance", [5, 100, 400])
def test_an_lstm_that_keeps_the_first_token_remembers_it_at_any_distance(distance):
    ids, labels = memory.make_task(distance, 64, np.random.default_rng(0))
    assert memory._accuracy(crafted("lstm"), ids, labels) == 1.0


def test_an_elman_rnn_with_a_tiny_recurrent_weight_loses_it():
    ids, labels = memory.make_task(20, 200, np.random.default_rng(0))
    accuracy = memory._accuracy(crafted("elman"), ids, labels)
    assert 0.3 < accuracy < 0.7, accuracy  # a coin toss: nothing of the first token is left
    short, short_labels = memory.make_task(0, 64, np.random.default_rng(0))
    assert memory._accuracy(crafted("elman"), short, short_labels) == 1.0  # the token itself is read


def test_the_gradient_reach_of_the_crafted_cells():
    ids, _ = memory.make_task(30, 16, np.random.default_rng(0))
    assert memory.first_token_reach(crafted("elman"), ids) < 1e-10  # 0.01 ** 30 of it, and less
    assert memory.first_token_reach(crafted("lstm"), ids) > 1e-3  # the forget gate at 1 passes it back
    untrained = memory.task_model("gru", memory.TaskSettings(units=2, embedding_dim=2), seed=0)
    assert np.isfinite(memory.first_token_reach(untrained, ids))


def test_filler_is_the_sentences_nearest_a_half():
    candidates = ["a", "b", "c", "d"]
    pool, band = memory.filler_pool(candidates, np.array([0.52, 0.9, 0.47, 0.1]), band=0.05, at_least=2)
    assert pool == ["a", "c"] and band == pytest.approx(0.03)
    pool, band = memory.filler_pool(candidates, np.array([0.8, 0.9, 0.3, 0.1]), band=0.05, at_least=2)
    assert pool == ["c", "a"] and band == pytest.approx(0.3)  # fewer inside the band: the nearest
    text = memory.filler(["one two three", "four five"], 7, np.random.default_rng(0))
    assert len(text.split()) == 7
    assert memory.pushed("verdict", "filler", after=True) == "verdict filler"
    assert memory.pushed("verdict", "filler", after=False) == "filler verdict"
    assert memory.sentences(["One two three four five. Six seven eight nine ten!"]) == [
        "One two three four five.",
        "Six seven eight nine ten!",
    ]


def test_chrono_starts_the_gates_open_over_the_horizon():
    lstm = memory.task_model("lstm", memory.TaskSettings(units=8, embedding_dim=4), seed=0)
    memory.open_gates(lstm, 100, seed=0)
    bias = lstm.get_layer("lstm_0").cell.bias.numpy()
    forget, input_ = bias[8:16], bias[:8]
    assert (forget >= 0).all() and (forget <= np.log(99) + 1e-6).all() and forget.max() > 2
    np.testing.assert_allclose(input_, -forget)
    gru = memory.task_model("gru", memory.TaskSettings(units=8, embedding_dim=4), seed=0)
    memory.open_gates(gru, 100, seed=0)
    update = gru.get_layer("gru_0").cell.bias.numpy()[:8]
    assert (update <= 0).all() and update.min() < -2  # z: the share of the new candidate, small
    ids, _ = memory.make_task(50, 16, np.random.default_rng(0))
    plain = memory.task_model("gru", memory.TaskSettings(units=8, embedding_dim=4), seed=0)
    assert memory.first_token_reach(gru, ids) > 1e3 * memory.first_token_reach(plain, ids)
    with pytest.raises(ValueError, match="ElmanCell has no gate that keeps"):
        memory.open_gates(memory.task_model("elman", memory.TaskSettings(units=2), seed=0), 10, 0)
    assert memory.CELLS == ("elman", "jordan", "lstm", "gru") and memory.GATED == ("lstm", "gru")


def test_separation_is_the_roc_auc_of_positives_over_negatives():
    positive = np.array([True, True, False, False])
    assert memory.separation(np.array([0.9, 0.8, 0.2, 0.1]), positive) == 1.0
    assert memory.separation(np.array([0.1, 0.2, 0.8, 0.9]), positive) == 0.0
    assert memory.separation(np.array([0.3, 0.3, 0.3, 0.3]), positive) == 0.5  # ties: half
    # A filler that pulls every P down keeps the order: the separation stays where accuracy falls.
    assert memory.separation(np.array([0.4, 0.3, 0.1, 0.05]), positive) == 1.0
    assert memory.separation(np.array([0.9]), np.array([True])) is None


@pytest.mark.slow
def test_the_pipeline_on_a_tiny_grid(tiny_run, tiny_lesson, tmp_path):
    from sentiment.cli.memory import main

    out, _ = tiny_run
    data = str(out.parent / "data" / "aclImdb")
    result = tmp_path / "memory.json"
    argv = ["--models", str(out), "--lesson", str(tiny_lesson), "--data", data, "--quick", "--out", str(result)]
    assert main(argv) == 0
    written = json.loads(result.read_text())
    runs = written["textbook"]["runs"]
    grid = {(c, d) for c in ("elman", "lstm") for d in memory.QUICK_DISTANCES}
    assert {(r["cell"], r["distance"]) for r in runs} == grid
    assert all(0 <= r["accuracy"] <= 1 and r["reach_initial"] >= 0 for r in runs)
    assert set(written["textbook"]["summary"]) == {"elman", "lstm"}
    models = written["real"]["models"]
    assert set(models) == {"elman (last state)", "lstm (last state)", "lstm (pooled)", "gru (pooled)"}
    for m in models.values():
        assert [row["tokens"] for row in m["after"]] == list(memory.QUICK_LENGTHS)
        if m["reviews"]:
            assert m["after"][0]["accuracy"] == m["before"][0]["accuracy"] == 1.0  # chosen: right with no filler
    assert written["real"]["filler"]["kept"]
    assert {r["cell"] for r in written["chrono"]["runs"]} == {"lstm"} and all(
        r["chrono"] for r in written["chrono"]["runs"]
    )
    assert set(written["seconds"]) == {"textbook", "chrono", "real"}
    # --only makes one part again and keeps the others.
    before = written["textbook"]
    assert main([*argv, "--only", "chrono"]) == 0
    again = json.loads(result.read_text())
    assert again["textbook"] == before and again["real"] == written["real"]
