"""The "What it gets wrong" tab: the behavioural suite's failure rates, model
by model (`python -m sentiment suite` writes them); its failing cases, each
one click from the explore tab; and a review and its edit side by side.

The side-by-side view answers first like the explore tab: each model's two
verdicts at once, then the alignment, the words and the gates when each
model's compiled pass has read both texts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from sentiment.analysis.edits import align, changed, gate_difference, matching_layers, nothing_to_compare
from sentiment.app import loaders, state
from sentiment.app.charts import flips as flip_charts
from sentiment.app.charts import review as charts
from sentiment.app.context import Context
from sentiment.app.texts import sections, text
from sentiment.app.warmup import EXPLORE
from sentiment.app.widgets import pending
from sentiment.experiments.suite import NEGATED_POSITIVES, TOLERANCE, Case
from sentiment.experiments.suite_results import PreviousRates, SuiteResults, label, pooled

PAIRS = {name: tuple(body.splitlines()) for name, body in sections("edit_examples").items()}
SHOWN = 12  # failing cases listed at once
CONTEXT = 6  # words shown before the first change, in a long review
WINDOW = 60  # aligned words shown at most
TOP_UNITS = 16  # rows of a difference heatmap


NEGATED = "negated positives"  # a row of its own: the templates of `NEGATED_POSITIVES` pooled

TITLE = "What it gets wrong"


def render(ctx: Context) -> None:
    """The suite (where it has been run) and the side-by-side view."""
    st.subheader("The behavioural suite")
    results, problem = loaders.suite(ctx.run)
    if results is None:
        st.info(text("flips", "No suite", problem=problem))
    else:
        st.caption(text("flips", "Suite", cases=len(results.cases), tolerance=TOLERANCE))
        if problem:
            st.warning(problem)
        rates = {label(name): s.rates(results.cases) for name, s in results.scores.items()}
        chart = flip_charts.rates_chart(flip_charts.rates_frame(rates), results.capabilities())
        st.altair_chart(chart, width="stretch")
        previous = loaders.suite_previous(ctx.run)
        if isinstance(previous, PreviousRates):
            st.markdown("**Before and after the retrain**")
            read = f", which read {previous.trained_on}," if previous.trained_on else ""
            st.caption(text("flips", "Before and after the retrain", read=read))
            st.dataframe(before_and_after(previous, results), width="stretch")
        failing_cases(results, ctx.open_in_explore)
    st.subheader("A review and its edit")
    st.caption(text("flips", "Edit"))
    edit_view(ctx.models)


def before_and_after(previous: PreviousRates, results: SuiteResults) -> pd.DataFrame:
    """Failure rates by capability (and the negated positives pooled) of the
    models a retrain replaced beside the run's models now: committed figures both."""
    now = {n: results.scores[n] for n in previous.capabilities if n in results.scores}
    rows = {c: {} for c in results.capabilities()} | {NEGATED: {}}
    for name, scores in now.items():
        was, caps = previous.capabilities[name], scores.rates(results.cases)
        for cap in results.capabilities():
            rows[cap][f"{label(name)} before"] = was.get(cap, {}).get("rate")
            rows[cap][f"{label(name)} now"] = caps[cap]["rate"]
        rows[NEGATED][f"{label(name)} before"] = pooled(previous.templates[name], NEGATED_POSITIVES)["rate"]
        rows[NEGATED][f"{label(name)} now"] = pooled(scores.template_rates(results.cases), NEGATED_POSITIVES)["rate"]
    return pd.DataFrame(rows).T.map(lambda r: "" if r is None else f"{100 * r:.1f}%")


@st.fragment
def failing_cases(results: SuiteResults, open_in_explore) -> None:
    """One model's failing cases of one capability (and template): a fragment,
    so that choosing them redraws this alone."""
    st.markdown("**Failing cases**")
    st.caption(text("flips", "Failing cases"))
    names = list(results.scores)
    left, middle, right = st.columns(3)
    name = left.selectbox("Model", names, format_func=label, key="suite_model")
    capability = middle.selectbox("Capability", results.capabilities(), key="suite_capability")
    scores = results.scores[name]
    of_capability = [i for i, c in enumerate(results.cases) if c.capability == capability]
    templates = list(dict.fromkeys(results.cases[i].template for i in of_capability))
    template = right.selectbox("Template", ["(all)", *templates], key=f"suite_template_{capability}")
    chosen = [i for i in of_capability if template in ("(all)", results.cases[i].template)]
    failing = [i for i in chosen if scores.failed[i]]
    st.caption(f"{label(name)} fails {len(failing)} of these {len(chosen)} cases.")
    for i in failing[:SHOWN]:
        case_row(results.cases[i], float(scores.p[i]), float(scores.p_base[i]), i, open_in_explore)
    if len(failing) > SHOWN:
        st.caption(f"{len(failing) - SHOWN} more: choose a template to see others.")


def expectation(case: Case) -> str:
    if case.test == "label":
        return "should read " + ("positive" if case.label == 1 else "negative")
    return {"same": "should keep its verdict", "up": "should not lower P", "down": "should not raise P"}[case.test]


def case_row(case: Case, p: float, p_base: float, index: int, open_in_explore) -> None:
    """One failing case: what it is, what the model gave, and its buttons."""
    words, explain, side = st.columns([8, 1, 1])
    if case.test == "label":
        words.markdown(f"“{case.text}” {expectation(case)}: P(positive) = **{p:.3f}**")
    else:
        words.markdown(f"“{case.base}” → “{case.text}” {expectation(case)}: P {p_base:.3f} → **{p:.3f}**")
    explain.button("Explain", key=f"explain_case_{index}", on_click=open_in_explore, args=(case.text,),
                   help="Open it in the explore tab")  # fmt: skip
    if case.base:
        side.button("Side by side", key=f"side_case_{index}", on_click=state.open_pair, args=(case.base, case.text),
                    help="Open the edit in the side-by-side view below")  # fmt: skip


def pair_input() -> tuple[str, str]:
    """The pair picker and the two text boxes."""
    a, b = state.pair_boxes(PAIRS)
    for which, t in (("review", a), ("edit", b)):
        if len(t) > state.MAX_CHARS:
            st.info(f"The {which} has {len(t):,} characters; the first {state.MAX_CHARS:,} are used.")
    return a[: state.MAX_CHARS], b[: state.MAX_CHARS]


def edit_view(models: dict) -> None:
    """Each model's verdict on both texts, then the aligned words, their attributions and the gates' difference."""
    a, b = pair_input()
    problem = nothing_to_compare(a, b)
    if problem:
        st.info(problem)
        return
    before = loaders.for_each(models, loaders.verdicts, a)
    after = loaders.for_each(models, loaders.verdicts, b)
    readable = {}
    for column, name in zip(st.columns(len(models)), models):
        with column:
            problems = [v for v in (before[name], after[name]) if isinstance(v, ValueError)]
            if problems:
                st.warning(f"**{name.upper()}**: {problems[0]}")
                continue
            readable[name] = models[name]
            pa, pb = before[name].probability, after[name].probability
            st.metric(f"{name.upper()}: P(positive) of the edit", f"{pb:.3f}", delta=f"{pb - pa:+.3f}")
            flips = (pa >= 0.5) != (pb >= 0.5)
            st.caption(f"The review: {pa:.3f}. " + ("The verdict flips." if flips else "The verdict stays."))
    compiling = not all(loaders.warmup().ready(path, EXPLORE) for path, _ in readable.values())
    slot = pending("Reading both texts word by word (attributions and every gate)", compiling)
    ra = loaders.for_each(readable, loaders.read_reviews, a)
    rb = loaders.for_each(readable, loaders.read_reviews, b)
    with slot.container():
        for name in readable:
            if isinstance(ra[name], ValueError) or isinstance(rb[name], ValueError):
                continue
            model_edit(name, ra[name], rb[name])


def window_of(columns) -> slice:
    """The aligned words to show: all of a short pair; around the changes in a long one."""
    if len(columns) <= WINDOW:
        return slice(0, len(columns))
    first = next((k for k, c in enumerate(columns) if c.op != "equal"), 0)
    start = max(0, min(first - CONTEXT, len(columns) - WINDOW))
    return slice(start, start + WINDOW)


def model_edit(name: str, reading_a, reading_b) -> None:
    """One model: the aligned words, the attributions of both texts, the gates' difference."""
    (ta, ea), (tb, eb) = reading_a, reading_b
    with st.expander(f"{name.upper()}: the words and the gates", expanded=True):
        if ta.tokens == tb.tokens:
            st.info(text("flips", "Same tokens"))
            return
        columns = align(ta.tokens, tb.tokens)
        shown = window_of(columns)
        removed, put_in = changed(columns)
        st.markdown(flip_charts.aligned_html(columns[shown], ta.tokens, tb.tokens), unsafe_allow_html=True)
        st.caption(
            f"Words removed or replaced: {len(removed)}; put in: {len(put_in)}"
            + (f"; words {shown.start}-{shown.stop} of {len(columns)} shown" if len(columns) > WINDOW else "")
            + "."
        )
        left, right = st.columns(2)
        for column, e, title in ((left, ea, "The review"), (right, eb, "Its edit")):
            at = e.attribution
            column.markdown(f"**{title}**: P(positive) {at.probability:.3f}")
            column.markdown(charts.attribution_text(at.tokens, at.scores, 0, min(len(at.tokens), 200)),
                            unsafe_allow_html=True)  # fmt: skip
        pairs = matching_layers(ta, tb)
        labels = [layer.label for layer, _ in pairs]
        pick, quantity = st.columns(2)
        chosen = pairs[labels.index(pick.selectbox("Layer and direction", labels, key=f"edit_layer_{name}"))]
        names = chosen[0].names
        q = quantity.selectbox("Gate or state", names, index=names.index("hidden"), key=f"edit_q_{name}")
        diff = gate_difference(*chosen, q, columns, ta.tokens, tb.tokens).window(shown)
        st.altair_chart(flip_charts.difference_chart(diff, TOP_UNITS), width="content")
        st.caption(text("flips", "Difference"))
        both = ~np.isnan(diff.values).all(axis=0)  # the columns with a word on both sides
        if both.any():
            mean = pd.Series(np.abs(diff.values[:, both]).mean(axis=0), index=np.asarray(diff.labels)[both])
            st.caption(f"Largest change (mean over units): at “{mean.idxmax()}”, {mean.max():.3f}.")
