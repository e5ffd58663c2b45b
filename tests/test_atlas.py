"""The unit atlas on a crafted model whose units are known: a unit built to
fire on one word, a planted sentiment unit, the hypothesis search and its
matches; thresholds by hand; and an atlas that is missing or stale."""

import os
import shutil

import numpy as np
import pytest

from sentiment.analysis import atlas as at
from sentiment.analysis import atlas_file
from sentiment.analysis import atlas_stats as stats
from sentiment.analysis.hypotheses import find_matches, select_units

VOCAB = ["", "[UNK]", "good", "bad", "film", "the", "was", "plot", "acting", "a", "it"]
FILLER = ["film", "the", "was", "plot", "acting", "a", "it"]


@pytest.fixture(scope="module")
def planted():
    """An Elman model of three units: unit 0 fires on "good" (and goes
    negative on "bad"), unit 1 on "film", unit 2 on nothing; nothing is
    carried from one word to the next."""
    from sentiment.network.model import ModelConfig, build_model

    config = ModelConfig(
        cell="elman", vocab_size=len(VOCAB), units=3, embedding_dim=4, max_length=24, head=4, bidirectional=False
    )
    model = build_model(config, VOCAB)
    table = np.zeros((len(VOCAB), 4), "float32")
    table[VOCAB.index("good"), 0] = table[VOCAB.index("bad"), 1] = table[VOCAB.index("film"), 2] = 1.0
    kernel = np.zeros((4, 3), "float32")
    kernel[0, 0], kernel[1, 0], kernel[2, 1] = 4.0, -4.0, 4.0
    layer = model.get_layer("classifier").get_layer("embedding")
    layer.embeddings.assign(table)
    rnn = model.get_layer("classifier").get_layer("elman_0")
    rnn.cell.kernel.assign(kernel)
    rnn.cell.recurrent_kernel.assign(np.zeros((3, 3), "float32"))
    rnn.cell.bias.assign(np.zeros(3, "float32"))
    return model


def reviews(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Positive reviews say "good" somewhere, negative ones "bad", amid filler."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    texts = []
    for y in labels:
        words = list(rng.choice(FILLER, rng.integers(4, 12)))
        for _ in range(rng.integers(1, 3)):
            words.insert(int(rng.integers(0, len(words) + 1)), "good" if y else "bad")
        texts.append(" ".join(words))
    return texts, labels


@pytest.fixture(scope="module")
def atlas(planted):
    test_texts, test_labels = reviews(120, 0)
    val_texts, val_labels = reviews(60, 1)
    return at.build_atlas(planted, test_texts, test_labels, val_texts, val_labels, corpus=50)


def test_a_unit_built_to_fire_on_one_word_has_it_as_its_top_context(atlas):
    hidden = atlas.index("hidden")
    for unit, word in ((0, "good"), (1, "film")):
        centres = atlas.top_contexts[hidden, 0, unit, :, at.CONTEXT]
        assert {VOCAB[i] for i in centres} == {word}, (unit, [VOCAB[i] for i in centres])
        assert atlas.top_values[hidden, 0, unit, 0] == pytest.approx(np.tanh(4.0), abs=1e-3)
    # The contexts are the words around it: the word's own review, 0 (nothing) past its ends.
    assert atlas.top_contexts.shape[-1] == 2 * at.CONTEXT + 1


def test_the_planted_sentiment_unit_is_the_probes_best_single_unit(atlas):
    assert atlas.probe_order[0] == 0  # flat: forward, unit 0
    assert atlas.threshold_accuracy[0, 0] == 1.0 and atlas.sign[0, 0] == 1
    assert atlas.correlation[0, 0] > 0.9 and abs(atlas.correlation[0, 1]) < 0.5
    assert atlas.probe["1"] == 1.0 and set(atlas.probe) == {"1", "2", "all"}  # three units: 1, 2, then all
    assert atlas.pooled_by_label[atlas.index("hidden"), 0, 0, 1] > atlas.pooled_by_label[atlas.index("hidden"), 0, 0, 0]
    labels = reviews(120, 0)[1]
    assert atlas.histograms.sum(axis=-1)[atlas.index("hidden"), 0, 0].tolist() == [(labels == 0).sum(), labels.sum()]
    assert atlas.weight_names == ["max", "mean"] and atlas.classifier_weights.shape == (1, 3, 2)


def test_the_hypothesis_search_finds_the_unit_and_its_matches_hold_its_word(planted, atlas):
    from sentiment.analysis.reading import trace

    t = trace(planted, "the good film")
    hidden = np.concatenate([layer.values["hidden"] for layer in t.layers], axis=1)
    hits = select_units(hidden, 1, 2, 0.5)
    assert [h.unit for h in hits] == [0]  # unit 1 is on at "film", just after the span: not off around it
    matches = find_matches(atlas.corpus_hidden, atlas.corpus_offsets, [0], 0.5)
    assert matches and matches[0].length >= matches[-1].length  # the longest first
    for m in matches:  # every word of a match is the unit's word (two may stand together)
        lo = atlas.corpus_offsets[m.review]
        assert {VOCAB[i] for i in atlas.corpus_ids[lo + m.start : lo + m.end]} == {"good"}
    with pytest.raises(ValueError, match="within the review's 3 words"):
        select_units(hidden, 2, 5, 0.5)


def runs_one_review_at_a_time(hidden, offsets, units, threshold):
    """The matches as the definition reads: each review on its own, each maximal run of words where every unit is on."""
    values = hidden[:, units].astype("float64") / (127 if hidden.dtype == np.int8 else 1)
    found = {}
    for review, (lo, hi) in enumerate(zip(offsets[:-1], offsets[1:])):
        start = None
        for i in range(lo, hi + 1):
            on = i < hi and (values[i] >= threshold).all()
            if on and start is None:
                start = i
            if not on and start is not None:
                found[(review, start - lo, i - lo)] = values[start:i].mean()
                start = None
    return found


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_matches_are_every_run_within_a_review_longest_then_strongest_first(dtype):
    rng = np.random.default_rng(0)
    # Reviews of 0 to 30 words, an empty one at each end: runs must stop at every review's edge.
    lengths = [0, *rng.integers(0, 30, 60), 0]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    hidden = rng.uniform(-1, 1, (offsets[-1], 6))
    hidden[:, 1] = 0.9  # always on: one run per non-empty review, each exactly a whole review
    hidden = np.round(hidden * 127).astype("int8") if dtype == "int8" else hidden.astype(dtype)
    for units, threshold in [([0], 0.2), ([0, 2], -0.3), ([1], 0.5), ([3, 4, 5], 0.9)]:
        expected = runs_one_review_at_a_time(hidden, offsets, units, threshold)
        matches = find_matches(hidden, offsets, units, threshold, limit=10**6)
        assert {(m.review, m.start, m.end) for m in matches} == set(expected)
        for m in matches:
            assert m.strength == pytest.approx(expected[(m.review, m.start, m.end)], abs=1e-6)
        keys = [(-m.length, -m.strength) for m in matches]
        assert keys == sorted(keys)
        assert find_matches(hidden, offsets, units, threshold, limit=5) == matches[:5]
    whole = find_matches(hidden, offsets, [1], 0.5, limit=10**6)
    assert sorted((m.review, m.start, m.end) for m in whole) == [(r, 0, n) for r, n in enumerate(lengths) if n]
    with pytest.raises(ValueError, match=f"from 0 to the corpus's {len(hidden)} words"):
        find_matches(hidden, np.append(offsets, offsets[-1] + 5), [1], 0.5)  # a review past the corpus's end


def test_factors_reconstruct_the_hidden_states(planted, atlas):
    from sentiment.analysis.reading import trace

    t = trace(planted, "the good film was bad")
    hidden = np.concatenate([layer.values["hidden"] for layer in t.layers], axis=1)
    w = stats.factor_activations(atlas, hidden)
    assert w.shape == (5, len(atlas.factors)) == (5, 6) and (w >= 0).all()  # 3 units: 6 features, 6 factors
    np.testing.assert_allclose(w @ atlas.factors, stats.nonnegative(hidden), atol=0.05)


def test_best_thresholds_by_hand():
    values = np.array([[0.1, 0.9], [0.2, 0.8], [0.7, 0.3], [0.9, 0.1], [0.3, 0.6]])
    labels = np.array([0, 0, 1, 1, 0])
    threshold, sign, accuracy = stats.best_thresholds(values, labels)
    assert accuracy.tolist() == [1.0, 1.0] and sign.tolist() == [1, -1]
    assert 0.3 < threshold[0] < 0.7 and 0.3 < threshold[1] < 0.6
    assert stats.threshold_accuracy(values, labels, threshold, sign).tolist() == [1.0, 1.0]


def test_an_atlas_is_tied_to_its_model_file(planted, atlas, tmp_path):
    from sentiment.network.model import save_model

    path = str(tmp_path / "planted.keras")
    save_model(planted, path)
    with pytest.raises(atlas_file.AtlasError, match="No unit atlas for planted.keras yet: `python -m sentiment units"):
        atlas_file.load_atlas(path)
    written = atlas_file.save_atlas(atlas, path)
    assert written == str(tmp_path / "planted.atlas.npz") and not [p for p in os.listdir(tmp_path) if ".tmp" in p]
    again = atlas_file.load_atlas(path)
    np.testing.assert_array_equal(again.top_contexts, atlas.top_contexts)
    assert again.probe == atlas.probe and again.meta["model_file"] == "planted.keras"
    shutil.copyfile(path, tmp_path / "kept.keras")
    with open(path, "ab") as f:  # another version of the model file
        f.write(b"\0")
    with pytest.raises(atlas_file.AtlasError, match="made from another version of planted.keras"):
        atlas_file.load_atlas(path)
    (tmp_path / "broken.keras").write_bytes(b"")
    (tmp_path / "broken.atlas.npz").write_bytes(b"not an npz")
    with pytest.raises(atlas_file.AtlasError, match="cannot be read"):
        atlas_file.load_atlas(tmp_path / "broken.keras")
