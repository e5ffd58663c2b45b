"""The "Why gates?" tab: the argument for gates, measured with the textbook
(last-state) lesson models: accuracy by length, how far back the gradient
reaches (this review and many test reviews), what the gates keep, gradient
norms in training, gate saturation; and a gate switched off (`gate_off`).

What comes from files (metrics.json, why_gates.json) is drawn at once; the
views of the explore tab's review, which need the lesson models' compiled
passes, fill their places when those are ready.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from sentiment.analysis.gradients import Reach, retention
from sentiment.analysis.traces import Trace
from sentiment.analysis.why_gates_results import WhyGatesResults
from sentiment.app import gate_off, loaders
from sentiment.app.charts import why_gates as why_charts
from sentiment.app.context import Context
from sentiment.app.texts import text
from sentiment.app.warmup import WHY_GATES
from sentiment.app.widgets import pending
from sentiment.evaluation.results import RunMetrics, display_name
from sentiment.experiments.memory import filler, pushed
from sentiment.experiments.memory_results import PARTS, MemoryResults, RealText
from sentiment.network.cells import CELLS
from sentiment.network.model import recurrent_cell_name
from sentiment.run import Run

TITLE = "Why gates?"


def render(ctx: Context) -> None:
    """Every view of the tab, from the lesson models (the main models' metrics
    beside them where there are) and the explore tab's review."""
    st.markdown(text("why_gates", "Intro"))
    lesson_folder = ctx.run.lesson_folder
    lesson_metrics, problem = loaders.metrics(lesson_folder)
    paths = loaders.model_files(lesson_folder)
    if not paths or lesson_metrics is None:
        st.info(text("why_gates", "No lesson models", folder=lesson_folder, problem=problem or "no .keras files"))
        return
    review = ctx.review
    accuracy_by_length(lesson_metrics, ctx.metrics)
    live = bool(review.strip())
    compiling = not all(loaders.warmup().ready(path, WHY_GATES) for path in paths)
    if live:
        this_review = pending("Following this review's gradient back through each lesson model", compiling)
    analysis = loaders.why_gates(ctx.run.lesson)
    if isinstance(analysis, str):
        st.info(analysis)
    else:
        reach_on_average(analysis)
    if live:
        kept = pending("Reading what the gates keep", compiling)
    gradient_norms(lesson_metrics)
    if not isinstance(analysis, str):
        gate_saturation(analysis)
    results = memory_curves(ctx.run)
    probe = (
        pending("Pushing this review away from the end, for each lesson model", compiling)
        if live and results is not None and results.real is not None
        else None
    )
    if live:
        lesson, errors = loaders.load_models(lesson_folder)
        readings = read_lesson(lesson, review)
        with this_review.container():
            for file, message in errors.items():
                st.error(f"**{file}** could not be loaded: {message}")
            reach_this_review(readings)
        with kept.container():
            kept_in_memory(readings)
        if probe is not None:
            with probe.container():
                filler_probe(lesson, review, results.real)
    gate_off.render(ctx)


def accuracy_by_length(lesson_metrics: RunMetrics, metrics: RunMetrics | None) -> None:
    st.subheader("Accuracy by review length")
    results = {f"{n.upper()} (last state)": m.test for n, m in lesson_metrics.models.items()}
    if metrics is not None:
        results |= {f"{n.upper()} (pooled, bidirectional)": m.test for n, m in metrics.models.items()}
        results |= {f"{display_name(k)} baseline": b.test for k, b in metrics.baselines.items()}
    chart = why_charts.by_length_chart(results)
    if chart is None:
        st.info("These metrics have no accuracy by length: retrain, or run `python -m sentiment evaluate`.")
        return
    st.altair_chart(chart, width="content")
    st.caption(text("why_gates", "What to look for"))
    # The 401-800 bucket: the longest the models read whole (they read 800 tokens).
    longest = {name: t.by_length[-2] for name, t in results.items() if len(t.by_length) >= 2}
    longest = {name: b for name, b in longest.items() if b.n and b.accuracy is not None}
    if longest:
        ranked = sorted(longest.items(), key=lambda kv: -kv[1].accuracy)
        st.caption(
            f"On the {ranked[0][1].n:,} test reviews of {ranked[0][1].label} tokens: "
            + ", ".join(f"{name} {100 * b.accuracy:.1f}%" for name, b in ranked)
            + ". (The models read 800 tokens: the first 200 and the last 600 of a longer review.)"
        )


def _gated(model) -> bool:
    return CELLS[recurrent_cell_name(model)].gated


def read_lesson(lesson: dict, review: str) -> dict[str, tuple[Reach | ValueError, Trace | ValueError | None]]:
    """Every lesson model's gradient reach on ``review`` and, for the gated
    ones, the trace retention reads."""
    reaches = loaders.for_each(lesson, loaders.reaches, review)
    gated = {name: m for name, m in lesson.items() if _gated(m[1])}
    traces = loaders.for_each(gated, loaders.traces, review) if gated else {}
    return {name: (reaches[name], traces.get(name)) for name in lesson}


def reach_this_review(readings: dict) -> None:
    st.subheader("How far back the gradient reaches: this review")
    if not readings:
        st.info("No lesson model could be loaded.")
        return
    for name, (reach, _) in readings.items():
        if isinstance(reach, ValueError):
            st.warning(f"{name.upper()}: {reach}")
            return
    reaches = {name.upper(): reach for name, (reach, _) in readings.items()}
    left, right = st.columns(2)
    with left:
        st.markdown("**Through everything**: ∂logit/∂(word vector)")
        st.altair_chart(why_charts.reach_chart(reaches, "embedding"), width="content")
    with right:
        st.markdown("**Through the recurrence alone**: ∂(w·h_T)/∂(state at t)")
        st.altair_chart(why_charts.reach_chart(reaches, "recurrence"), width="content")
    st.caption(text("why_gates", "Reach this review"))


def reach_on_average(analysis: WhyGatesResults) -> None:
    st.subheader(f"How far back the gradient reaches: {analysis.reviews} test reviews")
    kind = st.radio(
        "Gradient",
        ["through the recurrence alone", "through everything (word vectors)"],
        horizontal=True,
        key="reach_kind",
    )
    key = "recurrence" if kind.startswith("through the recurrence") else "embedding"
    st.altair_chart(why_charts.reach_profile_chart(analysis, key), width="content")
    at = {
        name: (states["trained"].reach[key].median_at(32), states["initial"].reach[key].median_at(32))
        for name, states in analysis.models.items()
    }
    left = ", ".join(f"{n.upper()} {t:.2g} / {i:.2g}" for n, (t, i) in at.items() if t is not None and i is not None)
    st.caption(text("why_gates", "Reach on average", left=left))


def kept_in_memory(readings: dict) -> None:
    gated = {n: t for n, (_, t) in readings.items() if t is not None}
    if not gated:
        return
    st.subheader("What the gates keep")
    st.caption(text("why_gates", "What the gates keep"))
    for name, t in gated.items():
        if isinstance(t, ValueError):
            continue
        for label, values in retention(t).items():
            st.markdown(f"**{name.upper()}** ({label})")
            st.markdown(why_charts.retention_text(t.tokens, values, 0, min(len(t.tokens), 300)), unsafe_allow_html=True)


def gradient_norms(lesson_metrics: RunMetrics) -> None:
    chart = why_charts.grad_norm_chart(lesson_metrics)
    if chart is None:
        return
    st.subheader("Exploding gradients and clipping, in training")
    st.altair_chart(chart, width="content")
    shares = {
        n.upper(): m.history.get("clipped_share", [])
        for n, m in lesson_metrics.models.items()
        if m.history.get("clipped_share")
    }
    clipnorm = next(iter(lesson_metrics.models.values())).fit_config.get("clipnorm")
    by_epoch = "; ".join(f"{n} " + ", ".join(f"{s:.0%}" for s in v) for n, v in shares.items())
    st.caption(text("why_gates", "Gradient norms", clipnorm=clipnorm, shares=by_epoch))


def gate_saturation(analysis: WhyGatesResults) -> None:
    chart = why_charts.saturation_chart(analysis)
    if chart is None:
        return
    st.subheader("Gate saturation")
    st.altair_chart(chart, width="content")
    st.caption(text("why_gates", "Saturation", reviews=analysis.reviews))


def memory_curves(run: Run) -> MemoryResults | None:
    """How far each cell remembers: the textbook task and real verdicts pushed
    away, from memory.json; None where there is none (it says which command makes it)."""
    st.subheader("How far does each cell remember?")
    results = loaders.memory(run)
    if isinstance(results, str):
        st.info(results)
        return None
    task, real = results.textbook, results.real
    if task is not None:
        st.markdown(text("why_gates", "Textbook task"))
        chrono = results.chrono.summary if results.chrono is not None else None
        st.altair_chart(why_charts.memory_chart(task.summary, chrono), width="content")
        last = {cell: points[-1] for cell, points in task.summary.items()}
        at = ", ".join(f"{cell.upper()} {100 * p.mean:.0f}%" for cell, p in last.items())
        settings = task.settings
        st.caption(
            f"{len(task.seeds)} seeds per cell and distance; {settings.units} units, {settings.steps} steps of "
            f"{settings.batch} fresh sequences, Adam {settings.learning_rate:g}, clipping at {settings.clipnorm:g}: "
            f"the same for every cell. At N = {next(iter(last.values())).distance}: {at} (mean of the seeds)."
        )
    if real is not None:
        st.markdown(text("why_gates", "Pushed away", rule=real.filler.rule))
        st.altair_chart(why_charts.pushed_chart(real.models), width="content")
        st.caption(_pushed_figures(real))
        for note in real.left_out:
            st.caption(f"Left out (the model was not there when the figures were made): {note}")
    missing = [part for part in PARTS if getattr(results, part) is None]
    if missing:
        st.info(f"memory.json has no {', '.join(missing)} part yet: `python -m sentiment memory --data PATH` makes it.")
    st.markdown(text("why_gates", "Memory reading"))
    return results


def _pushed_figures(real: RealText) -> str:
    """One line of what the real-text curves end at, and what the filler alone reads as."""
    n = real.lengths[-1]
    models = {name: m for name, m in real.models.items() if m.reviews}

    def auc(row) -> str:
        return "" if row.auc is None else f", separation {100 * row.auc:.0f}%"

    ends = "; ".join(
        f"{name} {100 * m.after[-1].accuracy:.0f}%{auc(m.after[-1])} / "
        f"{100 * m.before[-1].accuracy:.0f}%{auc(m.before[-1])} ({m.reviews} reviews)"
        for name, m in models.items()
    )
    alone = "; ".join(f"{name} {m.filler_alone[-1].mean:.2f}" for name, m in models.items() if m.filler_alone)
    return (
        f"With {n} words of filler after / before the review: {ends}. "
        f"The filler alone, as long, mean P(positive): {alone}."
    )


def filler_probe(lesson: dict, review: str, real: RealText) -> None:
    """The explore tab's review with the filler growing after it: each lesson
    model's P(positive), and what the gated ones keep of the review at the end."""
    pool, lengths = real.filler.kept, real.lengths
    padding = filler(pool, lengths[-1], np.random.default_rng(0))
    texts = {n: pushed(review, " ".join(padding.split()[:n]), after=True) for n in lengths}
    rows = []
    for n, t in texts.items():
        for name, v in loaders.for_each(lesson, loaders.verdicts, t).items():
            if not isinstance(v, ValueError):
                rows.append({"model": name.upper(), "tokens": n, "p": v.probability})
    st.markdown("**This review, the filler growing after it**")
    st.altair_chart(why_charts.filler_probe_chart(rows), width="content")
    n = st.select_slider("Filler after the review (words)", lengths, value=lengths[len(lengths) // 2], key="memory_n")
    gated = {name: m for name, m in lesson.items() if _gated(m[1])}
    if not gated:
        return
    alone = loaders.for_each(gated, loaders.verdicts, review)
    traces = loaders.for_each(gated, loaders.traces, texts[n])
    for name in gated:
        if isinstance(alone[name], ValueError) or isinstance(traces[name], ValueError):
            continue
        words, t = alone[name].tokens, traces[name]  # the review's own tokens, before the filler
        for label, values in retention(t).items():
            kept = 100 * values[:words].mean()
            st.markdown(
                f"**{name.upper()}** ({label}): {kept:.1f}% of what it wrote over the review is left {n} words on"
            )
            shaded = why_charts.retention_text(t.tokens, values, 0, min(len(t.tokens), 300))
            st.markdown(shaded, unsafe_allow_html=True)
