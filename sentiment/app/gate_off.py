"""The "Why gates?" tab's "Switch a gate off" section: pick a cell and a gate
(one of its variants, or another start); that arm beside its full cell on
the textbook memory task, on IMDB (accuracy, by review length, the
behavioural suite), and on the explore tab's review (each one's gate
heatmaps and P(positive)), with a reading in plain words and what the
literature found for the same change.

Everything comes from ablation.json and the models beside it (`python -m
sentiment ablate`); where there is no such file the section says which
command makes it.
"""

from __future__ import annotations

import streamlit as st

from sentiment.app import loaders
from sentiment.app.charts import why_gates as why_charts
from sentiment.app.charts.review import summary_chart
from sentiment.app.context import Context
from sentiment.app.texts import text
from sentiment.app.warmup import WHY_GATES
from sentiment.app.widgets import pending
from sentiment.experiments.ablation_results import AblationResults, Arm
from sentiment.reporting.ablation_section import SETTINGS, arm_reading

TITLE = "Switch a gate off"
SWITCHED, FULL, REFERENCE = "switched off", "full cell", "Elman"  # the roles the charts colour
WINDOW = 60  # tokens of the review shown at once in the heatmaps


def render(ctx: Context) -> None:
    st.subheader(TITLE)
    st.markdown(text("why_gates", "Switch a gate off"))
    results = loaders.ablation(ctx.run)
    if isinstance(results, str):
        st.info(text("why_gates", "No ablation", problem=results))
        return
    arm = pick(results)
    if arm is None:
        st.info("ablation.json has no run of a variant yet: `python -m sentiment ablate --data PATH` goes on with it.")
        return
    full = results.arm(arm.cell)
    st.markdown(f"**{arm.label}**: {arm.equations}" + (f" ({arm.source})." if arm.source else "."))
    memory_view(results, arm, full)
    imdb_view(results, arm, full)
    review_view(ctx, results, arm, full)
    st.markdown(f"**What switching it off did.** {arm_reading(results, arm.name)}")
    st.caption(SETTINGS)


def pick(results: AblationResults) -> Arm | None:
    """The cell and the gate (a variant or a start) the reader picks, among the arms with runs."""
    measured = set(results.memory_arms()) | set(results.imdb_rows())
    arms = [a for a in results.arms if a.gated and not a.is_full and a.name in measured]
    cells = list(dict.fromkeys(a.cell for a in arms))
    if not cells:
        return None
    left, right = st.columns(2)
    cell = left.selectbox("Cell", cells, format_func=str.upper, key="gate_off_cell")
    names = [a.name for a in arms if a.cell == cell]
    name = right.selectbox(
        "Switched off, or started otherwise", names, format_func=lambda n: results.arm(n).label, key=f"gate_off_{cell}"
    )
    return results.arm(name)


def memory_view(results: AblationResults, arm: Arm, full: Arm) -> None:
    if not results.memory_points(arm.name):
        st.caption("No memory-task runs of this arm yet.")
        return
    curves = {arm.label: (SWITCHED, results.memory_points(arm.name))}
    if results.memory_points(full.name):
        curves[full.label] = (FULL, results.memory_points(full.name))
    reference = next((a for a in results.arms if not a.gated and results.memory_points(a.name)), None)
    if reference is not None:
        curves[reference.label] = (REFERENCE, results.memory_points(reference.name))
    st.markdown("**The textbook memory task**")
    st.altair_chart(why_charts.gate_off_memory_chart(curves), width="content")
    settings = results.memory.settings
    st.caption(
        f"{_count(len(results.config.seeds), 'seed')} per distance; up to {settings.steps:,} steps, each run "
        f"stopped once solved. Each seed's first step at 95% validation accuracy (–: never): "
        f"{_steps(results, arm, full)}."
    )
    if arm.cell == results.budget().cell:
        st.caption(results.budget().sentence)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _steps(results: AblationResults, arm: Arm, full: Arm) -> str:
    mine = {p.distance: p for p in results.memory_points(arm.name)}
    theirs = {p.distance: p for p in results.memory_points(full.name)}

    def steps(point) -> str:
        return "/".join("–" if s is None else str(s) for s in point.steps_to_95)

    return "; ".join(
        f"N = {d}: {steps(p)}" + (f" (full cell {steps(theirs[d])})" if d in theirs else "") for d, p in mine.items()
    )


def imdb_view(results: AblationResults, arm: Arm, full: Arm) -> None:
    rows = results.imdb_rows()
    row, full_row = rows.get(arm.name), rows.get(full.name)
    if row is None or full_row is None:
        st.caption("No IMDB runs of this arm and its full cell yet.")
        return
    st.markdown("**IMDB, in the lesson models' setting**")
    left, right = st.columns(2)
    for column, name, r in ((left, full.label, full_row), (right, arm.label, row)):
        spread = "" if r.sd is None else f" ± {100 * r.sd:.2f}"
        seeds = _count(len(r.seeds), "seed")
        delta = None if r.difference is None else f"{100 * r.difference:+.2f} points"
        column.metric(f"{name} ({seeds})", f"{100 * r.mean:.2f}%{spread}", delta=delta)
    st.caption(results.imdb.setting.note)
    left, right = st.columns(2)
    by_length = why_charts.gate_off_length_chart(
        {full.label: (FULL, full_row.by_length), arm.label: (SWITCHED, row.by_length)}
    )
    if by_length is not None:
        left.altair_chart(by_length, width="content")
    suite = why_charts.gate_off_suite_chart({full.label: (FULL, full_row.suite), arm.label: (SWITCHED, row.suite)})
    if suite is not None:
        right.altair_chart(suite, width="content")


def review_view(ctx: Context, results: AblationResults, arm: Arm, full: Arm) -> None:
    """The explore tab's review read by the full cell and the arm (their first
    seed's models): P(positive), and each one's gates, side by side."""
    review = ctx.review.strip()
    if not review:
        st.caption("Type a review in the explore tab to read it here with both models.")
        return
    if results.imdb is None:
        return
    first = {r.arm: r for r in results.imdb.runs if r.seed == results.imdb.base_seed}
    files = {name: (first[name].file, first[name].sha256) for name in (full.name, arm.name) if name in first}
    if not files:
        return
    models, problems = loaders.ablation_models(ctx.run, files)
    for name, problem in problems.items():
        st.info(f"{results.arm(name).label}: {problem}")
    if not models:
        return
    compiling = not all(loaders.warmup().ready(path, WHY_GATES) for path, _ in models.values())
    slot = pending("Reading this review with both models", compiling)
    traces = loaders.for_each(models, loaders.traces, review)
    with slot.container():
        st.markdown("**This review, read by both**")
        read = {name: t for name, t in traces.items() if not isinstance(t, ValueError)}
        for name, t in traces.items():
            if isinstance(t, ValueError):
                st.warning(f"{results.arm(name).label}: {t}")
        if not read:
            return
        tokens = next(iter(read.values())).tokens
        start, end = 0, len(tokens)
        if len(tokens) > WINDOW:
            start = st.slider("First token shown", 0, len(tokens) - WINDOW, len(tokens) - WINDOW, key="gate_off_at")
            end = start + WINDOW
        for name in (full.name, arm.name):
            if name in read:
                t = read[name]
                title = (
                    f"{results.arm(name).label}: P(positive) {t.probability:.3f}, mean over {t.layers[0].units} units"
                )
                st.altair_chart(summary_chart(t.layers[0], t.tokens, start, end, title=title), width="content")
        if full.name in read and arm.name in read:
            change = read[arm.name].probability - read[full.name].probability
            st.caption(
                text(
                    "why_gates",
                    "Gate off on this review",
                    change=f"{change:+.3f}",
                    full=f"{read[full.name].probability:.3f}",
                    switched=f"{read[arm.name].probability:.3f}",
                )
            )
