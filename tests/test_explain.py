"""Word attributions (integrated gradients, occlusion) and unit rankings."""

import numpy as np
import pytest

from conftest import predict
from sentiment.analysis import explain as ex
from sentiment.analysis import reading

POSITIVE = (
    "One of the best films I have seen in years. The acting is superb, the story is moving "
    "and the music is beautiful. I loved every minute."
)
NEGATIVE = "A complete waste of time. The plot is boring and predictable and the acting is awful."
# A verdict short of saturation. Where P is within 0.002 of 0 or 1 (NEGATIVE, for the committed LSTM: logit -6.5)
# dropping one word moves P by 1e-4 or less, and occlusion's ranking of the words is mostly rounding: the two
# views are compared where occlusion can see something (measured on the committed models: 0.76 and 0.81 here,
# 0.28 and 0.52 on NEGATIVE).
MIXED = (
    "The first half is slow and the dialogue is clumsy, "
    "but the last hour is gripping and the lead actress is wonderful."
)


@pytest.mark.parametrize("text", [POSITIVE, NEGATIVE, "not bad at all, honestly"])
@pytest.mark.slow
def test_integrated_gradients_add_up_on_committed_models(committed_model, text):
    a = ex.integrated_gradients(committed_model, text)
    assert a.gap <= ex.COMPLETENESS_TOLERANCE
    delta = a.probability - a.baseline_probability
    assert abs(a.scores.sum() - delta) <= ex.COMPLETENESS_TOLERANCE * abs(delta)
    assert a.probability == pytest.approx(float(predict(committed_model, [text])[0]), abs=1e-5)
    assert len(a.scores) == len(a.tokens) == len(ex.review_ids(committed_model, text))


@pytest.mark.slow
def test_fixed_steps_are_used_and_more_steps_close_the_gap(committed_model):
    coarse, fine = (
        ex.integrated_gradients(committed_model, POSITIVE, steps=2),
        ex.integrated_gradients(committed_model, POSITIVE, steps=128),
    )
    assert (coarse.steps, fine.steps) == (2, 128)
    assert fine.gap <= coarse.gap + 1e-6 and fine.gap < ex.COMPLETENESS_TOLERANCE


@pytest.mark.slow
def test_occluding_the_top_positive_word_lowers_p_positive(committed_model):
    a = ex.integrated_gradients(committed_model, POSITIVE)
    top = int(np.argmax(a.scores))
    assert a.scores[top] > 0
    occ = ex.occlusion(committed_model, POSITIVE)
    assert occ.per_word and occ.deltas[top] > 0  # P(review) - P(review without it)
    without = " ".join(t for i, t in enumerate(a.tokens) if i != top)
    assert predict(committed_model, [without])[0] < a.probability


@pytest.mark.slow
def test_explanation_words_units_and_agreement(committed_model):
    e = reading.explain(committed_model, NEGATIVE)
    for_pos, for_neg = e.top_words(3)
    assert for_neg and all(score < 0 for _, score in for_neg)
    assert all(score > 0 for _, score in for_pos)
    assert reading.explain(committed_model, MIXED).rank_agreement > 0.3  # two independent views broadly agree
    # With max-and-mean pooling and a linear head, the units' shares are exact.
    total = sum(u.contributions.sum() for u in e.units)
    assert total == pytest.approx(e.logit - e.logit_at_zero, abs=1e-3)
    assert [u.direction for u in e.units] == ["forward", "backward"]


@pytest.mark.slow
def test_long_reviews_are_occluded_in_spans(committed_model):
    text = " ".join(["the film was not bad at all and the acting felt honest"] * 30)  # 360 tokens
    occ = ex.occlusion(committed_model, text)
    assert len(occ.spans) == ex.OCCLUSION_VARIANTS and not occ.per_word
    assert occ.spans[0][0] == 0 and occ.spans[-1][1] == 360
    assert all(a[1] == b[0] for a, b in zip(occ.spans, occ.spans[1:]))
    assert occ.per_token().sum() == pytest.approx(occ.deltas.sum(), abs=1e-5)


def test_words_with_the_padding_vector_get_zero_attribution(tiny_vocab):
    from sentiment.network.model import ModelConfig, build_model, classifier_of

    model = build_model(ModelConfig(cell="lstm", vocab_size=200, units=4, embedding_dim=5), tiny_vocab)
    table = classifier_of(model).get_layer("embedding").embeddings
    great = tiny_vocab.index("great")
    values = np.asarray(table).copy()
    values[great] = values[0]  # "great" now reads as padding
    table.assign(values)
    a = ex.integrated_gradients(model, "great great great")
    np.testing.assert_array_equal(a.scores, 0.0)
    assert a.probability == pytest.approx(a.baseline_probability, abs=1e-7)


def test_unit_ranking_picks_the_only_unit_the_head_reads(tiny_vocab):
    from sentiment.network.model import ModelConfig, build_model, classifier_of

    units = 4
    model = build_model(ModelConfig(cell="gru", vocab_size=200, units=units, embedding_dim=5), tiny_vocab)
    dense = classifier_of(model).get_layer("positive")
    kernel = np.zeros_like(np.asarray(dense.kernel))
    # Pooled features: [max over time | mean over time], each [forward units | backward units].
    kernel[2 * units + units + 1] = 3.0  # the mean of backward unit 1
    dense.kernel.assign(kernel)
    rankings, logit, at_zero = ex.unit_contributions(model, "a great movie, i loved it")
    forward, backward = rankings
    assert backward.order[0] == 1 and np.count_nonzero(backward.contributions) == 1
    np.testing.assert_array_equal(forward.contributions, 0.0)
    assert backward.contributions[1] == pytest.approx(logit - at_zero, abs=1e-5)


def test_a_review_without_words_is_a_clear_error(committed_model):
    with pytest.raises(ValueError, match="no words"):
        ex.integrated_gradients(committed_model, " ?! ")
