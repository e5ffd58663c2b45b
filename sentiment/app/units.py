"""The unit atlas in the explore tab: a unit's page (what it does across the
test set), the review coloured by factor, and a search by hypothesis
(LSTMVis) whose matches are one click from the explore tab.

A model without an atlas, or with one made from another version of its file,
gets the live views only, and a note saying which command rebuilds it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from sentiment.analysis.atlas import CONTEXT
from sentiment.analysis.atlas_stats import factor_activations
from sentiment.analysis.hypotheses import find_matches, select_units
from sentiment.analysis.traces import LayerTrace, Trace
from sentiment.app import loaders
from sentiment.app.charts import units as unit_charts

MATCH_UNITS = 3  # units the matches must have on together, by default (the best separated)


def words(model_path: str, model, ids: np.ndarray) -> list[str]:
    """Token ids as words ("" for padding)."""
    vocabulary = loaders.vocabulary(model_path, model)
    return ["" if i == 0 else str(vocabulary[i]) for i in np.asarray(ids).reshape(-1)]


def flat_hidden(t: Trace) -> np.ndarray:
    """The last recurrent layer's hidden state, (tokens, directions x units), as the atlas lays it out."""
    return np.concatenate([layer.values["hidden"] for layer in t.last_layer], axis=1)


def unit_page(name: str, path: str, model, layer: LayerTrace, unit: int) -> None:
    """What ``unit`` of ``layer`` does across the test set, from the atlas."""
    atlas, problem = loaders.atlas(path)
    if atlas is None:
        st.caption(problem)
        return
    if layer.direction not in atlas.directions or layer.layer != atlas.meta.get("layer"):
        st.caption("The unit atlas covers the last recurrent layer only.")
        return
    d = atlas.directions.index(layer.direction)
    flat = d * atlas.units + unit
    rank = int(np.flatnonzero(atlas.probe_order == flat)[0]) + 1
    weights = ", ".join(f"{w} {v:+.3f}" for w, v in zip(atlas.weight_names, atlas.classifier_weights[d, unit]))
    st.markdown(
        f"**Unit {unit} ({layer.direction}) across {atlas.meta['test_reviews']:,} test reviews.** On its own, a "
        f"threshold on its {atlas.meta['readout']} classifies {100 * atlas.threshold_accuracy[d, unit]:.1f}% of them "
        f"right (the threshold chosen on validation; #{rank} of {atlas.units * len(atlas.directions)} units); "
        f"its correlation with the label is {atlas.correlation[d, unit]:+.2f}; the classifier's weights on it: "
        f"{weights}."
    )
    name_q = st.selectbox(
        "Its top activations, of", atlas.quantities, index=atlas.index("hidden"), key=f"atlas_q_{name}"
    )
    q = atlas.index(name_q)
    left, right = st.columns([3, 2])
    with left:
        lines = []
        for value, context in zip(atlas.top_values[q, d, unit], atlas.top_contexts[q, d, unit]):
            lines.append(unit_charts.context_html(words(path, model, context), CONTEXT, name_q, float(value)))
        st.markdown("<br>".join(lines), unsafe_allow_html=True)
    with right:
        title = f"{name_q}: mean over a review, by label"
        st.altair_chart(unit_charts.distribution_chart(atlas.histograms[q, d, unit], atlas.edges[q], title))


def factor_view(name: str, path: str, model, t: Trace, start: int, stop: int) -> None:
    """The review coloured by its dominant NMF factor, with each factor's top words."""
    atlas, problem = loaders.atlas(path)
    if atlas is None:
        st.caption(problem)
        return
    activations = factor_activations(atlas, flat_hidden(t))
    summaries = []
    for contexts in atlas.factor_top_contexts:
        centre = [w for w in words(path, model, contexts[:, CONTEXT]) if w]
        common = pd.Series(centre).value_counts().index[:4] if centre else []
        summaries.append(", ".join(common))
    st.markdown(f"**{name.upper()}**: {len(summaries)} factors of the hidden state", unsafe_allow_html=True)
    st.markdown(unit_charts.factor_text(t.tokens, activations, start, min(stop, len(t.tokens))), unsafe_allow_html=True)
    st.markdown(unit_charts.factor_legend(summaries), unsafe_allow_html=True)


@st.fragment
def hypothesis_search(models: dict, traces: dict[str, Trace], open_review) -> None:
    """Select a span and a threshold; the units on inside and off around it;
    then the test passages where the same units are on together, each one
    click from the explore tab (``open_review(review_id)``; None where the
    test reviews' texts are not on this machine). A fragment: a new span,
    threshold or model redraws this alone."""
    with_atlas = {n: loaders.atlas(models[n][0])[0] for n in traces}
    with_atlas = {n: a for n, a in with_atlas.items() if a is not None}
    st.subheader("Find units by hypothesis")
    if not with_atlas:
        st.caption(loaders.atlas(models[next(iter(traces))][0])[1])
        return
    name = st.radio("Model", list(with_atlas), format_func=str.upper, horizontal=True, key="hyp_model")
    atlas, t = with_atlas[name], traces[name]
    path, model = models[name]
    positions = list(range(len(t.tokens)))
    default = _default_span(t.tokens)
    span = st.select_slider(
        "Span (first and last word)", positions, value=default, key=f"hyp_span_{name}_{hash(tuple(t.tokens))}",
        format_func=lambda i: f"{i} {t.tokens[i]}",
    )  # fmt: skip
    threshold = st.slider("Threshold: a unit is on at or above it", 0.1, 0.9, 0.5, 0.05, key="hyp_threshold")
    start, end = span[0], span[1] + 1
    hits = select_units(flat_hidden(t), start, end, threshold)
    words_of_span = " ".join(t.tokens[start:end])
    st.markdown(f"Span: **{words_of_span}**. {name.upper()}: {len(hits)} units on inside it, off around it.")
    if not hits:
        st.info("No unit is on over the whole span and off just around it: lower the threshold or change the span.")
        return
    frame = pd.DataFrame(
        {
            "unit": [h.unit % atlas.units for h in hits],
            "direction": [atlas.directions[h.unit // atlas.units] for h in hits],
            "lowest inside": [h.inside for h in hits],
            "highest around": [h.around if np.isfinite(h.around) else None for h in hits],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in frame.columns[2:]},
    )
    k = 1
    if len(hits) > 1:  # (a slider needs two values at least)
        k = st.slider(
            "Units that must be on together in a match", 1, len(hits), min(MATCH_UNITS, len(hits)), key="hyp_k"
        )
    matches = find_matches(atlas.corpus_hidden, atlas.corpus_offsets, [h.unit for h in hits[:k]], threshold)
    kept = len(atlas.corpus_offsets) - 1
    together = "it is on" if k == 1 else f"the best {k} are on together"
    st.markdown(f"**Passages of {kept:,} test reviews where {together}** (the longest first):")
    if not matches:
        st.caption("None.")
    for i, m in enumerate(matches):
        lo, hi = atlas.corpus_offsets[m.review], atlas.corpus_offsets[m.review + 1]
        a, b = max(lo, lo + m.start - CONTEXT), min(hi, lo + m.end + CONTEXT)
        context = words(path, model, atlas.corpus_ids[a:b])
        focus = (lo + m.start - a, lo + m.end - a)
        left, right = st.columns([6, 1])
        with left:
            st.markdown(unit_charts.context_html(context, focus, "on", m.strength), unsafe_allow_html=True)
        with right:
            review_id = atlas.review_ids[m.review]
            if open_review is None:
                st.caption(review_id)
            elif st.button("Explain", key=f"hyp_open_{i}", on_click=open_review, args=(review_id,), help=review_id):
                st.rerun(scope="app")  # the whole page (not this fragment alone), for the review now in the box


def _default_span(tokens: list[str]) -> tuple[int, int]:
    """A word worth asking about to start with: the first of a few strong ones, else the first word."""
    for i, token in enumerate(tokens):
        if token in {"not", "never", "but", "great", "bad", "best", "worst", "boring", "good"}:
            return i, i
    return 0, 0
