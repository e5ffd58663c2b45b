"""The "Explore a review" tab: each model's verdict on the review you type,
the words that decided it, and its gates token by token.

Answer first, explain next: the tab down to the verdicts is drawn before
TensorFlow has loaded, from the models' weights in NumPy
(`sentiment.app.first_answer`, which app.py draws); here Keras's verdicts
confirm them, then the attributions and heatmaps fill in below when each
model's compiled pass has read the review, with a note in their place
meanwhile saying what is being computed.
"""

from __future__ import annotations

import zlib

import streamlit as st

from sentiment.analysis.explain import Explanation, UnitRanking
from sentiment.analysis.traces import LayerTrace, Trace
from sentiment.app import first_answer, loaders, units
from sentiment.app.charts import review as charts
from sentiment.app.context import Context
from sentiment.app.texts import text
from sentiment.app.warmup import EXPLORE
from sentiment.app.widgets import pending
from sentiment.network.model import recurrent_cell_name

TITLE = "Explore a review"
WINDOW = 80  # tokens per heatmap; a slider moves the window along longer reviews
TOP_UNITS = 8  # the summary heatmap's second view: the mean over this many top units


def window(lengths: list[int]) -> tuple[int, int]:
    """One window of tokens for every view of the review (a slider for long ones)."""
    longest = max(lengths)
    if longest <= WINDOW:
        return 0, longest
    start = st.slider(
        "Tokens shown (every view below)",
        0,
        longest - WINDOW,
        0,
        step=10,
        help=f"The views show {WINDOW} tokens at a time; move the window along the review.",
    )
    return start, start + WINDOW


def _signed(pairs) -> str:
    return ", ".join(f"**{word}** ({score:+.3f})" for word, score in pairs) or "none"


def word_attributions(explanations: dict[str, Explanation], start: int, end: int) -> None:
    """Which words pushed each verdict, the models side by side."""
    st.subheader("Which words decided it")
    st.caption(text("explore", "Which words decided it"))
    for column, (name, e) in zip(st.columns(len(explanations)), explanations.items()):
        with column:
            a = e.attribution
            st.markdown(f"**{name.upper()}**")
            st.markdown(
                charts.attribution_text(a.tokens, a.scores, start, min(end, len(a.tokens))), unsafe_allow_html=True
            )
            for_pos, for_neg = e.top_words(5)
            st.markdown(f"For positive: {_signed(for_pos)}  \nFor negative: {_signed(for_neg)}")
            occluded = "each word" if e.occlusion.per_word else f"each of {len(e.occlusion.spans)} spans of words"
            st.caption(
                f"The shares add up to P(review) − P(baseline) = {a.probability:.3f} − {a.baseline_probability:.3f} "
                f"within {100 * a.gap:.1f}% ({a.steps} steps). Dropping {occluded} instead (occlusion) ranks them "
                f"alike: Spearman {e.rank_agreement:.2f}."
            )


def _ranking(e: Explanation | None, layer: LayerTrace) -> UnitRanking | None:
    if e is None:
        return None
    return next((u for u in e.units if (u.layer, u.direction) == (layer.layer, layer.direction)), None)


def read_by_the_head(t: Trace) -> int:
    """Where the layer choice starts: the first direction of the last layer,
    the one the classifier reads, whose units are ranked and in the atlas
    (in a stacked model the first layer has neither)."""
    return len(t.layers) - len(t.last_layer)


def gate_heatmaps(models: dict, traces: dict[str, Trace], explanations: dict, start: int, end: int) -> None:
    """Per model: summary heatmaps, units ranked by their effect, one unit, the shaded review."""
    st.subheader("Gates, token by token")
    for name, t in traces.items():
        model = models[name][1]
        with st.expander(f"{name.upper()} ({recurrent_cell_name(model).upper()} cells)", expanded=True):
            labels = [layer.label for layer in t.layers]
            picked = st.selectbox("Layer and direction", labels, index=read_by_the_head(t), key=f"layer_{name}")
            layer = t.layers[labels.index(picked)]
            stop = min(len(t.tokens), end)
            if start >= stop:
                st.caption("This model read fewer tokens than the window start.")
                continue
            model_heatmaps(name, models[name], t, layer, _ranking(explanations.get(name), layer), start, stop)


def model_heatmaps(
    name: str, model: tuple, t: Trace, layer: LayerTrace, ranking: UnitRanking | None, start: int, stop: int
) -> None:
    """One layer and direction of one model: the gates' means, a gate's
    units, one unit (along the review, and across the test set), the shaded review."""
    order = ranking.order if ranking is not None else None
    st.altair_chart(
        charts.summary_chart(layer, t.tokens, start, stop, title=f"mean over all {layer.units} units"),
        width="content",
    )
    if order is not None:
        k = min(TOP_UNITS, layer.units)
        title = f"mean over the {k} units with the largest effect on this verdict"
        st.altair_chart(
            charts.summary_chart(layer, t.tokens, start, stop, units=order[:k], title=title), width="content"
        )
        st.caption(text("explore", "Unit effect"))
    value = st.selectbox("Detail: gate or state", layer.names, key=f"detail_{name}")
    sort = (
        st.radio("Sort units", ["by effect on this verdict", "by number"], key=f"sort_{name}", horizontal=True)
        if order is not None
        else "by number"
    )
    by_effect = order if sort.startswith("by effect") else None
    st.altair_chart(charts.detail_chart(layer, value, t.tokens, start, stop, by_effect), width="content")
    one_unit(name, model, t, layer, ranking, start, stop)
    shade = st.selectbox("Shade the review by", layer.names, key=f"shade_{name}")
    st.markdown(charts.shaded_text(layer, shade, t.tokens, start, stop), unsafe_allow_html=True)


@st.fragment
def one_unit(
    name: str, model: tuple, t: Trace, layer: LayerTrace, ranking: UnitRanking | None, start: int, stop: int
) -> None:
    """One unit, picked by its rank: along the review, and across the test set
    (the unit atlas). A fragment: picking another unit redraws this alone."""
    ranked = list(ranking.order) if ranking is not None else list(range(layer.units))
    names = {
        u: f"unit {u}" + (f" (#{r + 1}, {ranking.contributions[u]:+.2f} to the logit)" if ranking is not None else "")
        for r, u in enumerate(ranked)
    }
    unit = st.selectbox(
        "One unit along the review",
        ranked,
        # A new review or layer ranks the units anew: start again from its top unit.
        key=f"unit_{name}_{zlib.crc32((layer.label + '|' + ' '.join(t.tokens)).encode())}",
        format_func=names.__getitem__,
    )
    st.altair_chart(charts.unit_chart(layer, unit, t.tokens, start, stop), width="content")
    units.unit_page(name, *model, layer, unit)


def render(ctx: Context) -> None:
    answer = ctx.answer  # the tab down to each model's verdict in NumPy, drawn before TensorFlow had loaded
    review = answer.review
    if review is None:
        return
    models = ctx.models
    verdicts = first_answer.settle(answer, loaders.for_each(models, loaders.verdicts, review))
    if not verdicts:
        return
    models = {name: models[name] for name in verdicts}
    start, end = window([v.tokens for v in verdicts.values()])
    compiling = not all(loaders.warmup().ready(path, EXPLORE) for path, _ in models.values())
    words = pending("Working out which words decided each verdict (integrated gradients, occlusion)", compiling)
    gates = pending("Tracing every gate of every unit, word by word", compiling)
    readings = loaders.for_each(models, loaders.read_reviews, review)
    traces = {name: r[0] for name, r in readings.items() if not isinstance(r, ValueError)}
    explanations = {name: readings[name][1] for name in traces}
    with words.container():
        word_attributions(explanations, start, end)
    with gates.container():
        gate_heatmaps(models, traces, explanations, start, end)
    across_the_test_set(models, traces, start, end, ctx.open_test_review if ctx.test_reviews_here else None)


def across_the_test_set(models: dict, traces: dict[str, Trace], start: int, end: int, open_review) -> None:
    """The review coloured by each model's factors, and the search by hypothesis (the unit atlas)."""
    st.subheader("The review by factor")
    st.caption(text("explore", "Factors"))
    for column, (name, t) in zip(st.columns(len(traces)), traces.items()):
        with column:
            units.factor_view(name, *models[name], t, start, end)
    units.hypothesis_search(models, traces, open_review)
