"""The "Why gates?" tab: the argument for gates, measured with the textbook
(last-state) lesson models: accuracy by length, how far back the gradient
reaches (this review and many test reviews), what the gates keep, gradient
norms in training, gate saturation.

What comes from files (metrics.json, why_gates.json) is drawn at once; the
views of the explore tab's review, which need the lesson models' compiled
passes, fill their places when those are ready.
"""

from __future__ import annotations

import os

import streamlit as st

from sentiment.analysis.gradients import ANALYSIS, Reach, retention
from sentiment.analysis.traces import Trace
from sentiment.app import loaders
from sentiment.app.texts import text
from sentiment.app.warmup import WHY_GATES, modified
from sentiment.app.widgets import pending
from sentiment.evaluation.results import RunMetrics, display_name
from sentiment.network.model import recurrent_cell_name
from sentiment.reporting import why_charts


def why_gates(lesson_folder: str, metrics: RunMetrics | None, review: str) -> None:
    """Every view of the tab, from the lesson models in ``lesson_folder`` (the
    main models' ``metrics`` beside them where given) and the explore tab's ``review``."""
    st.markdown(text("why_gates", "Intro"))
    lesson_metrics, problem = loaders.load_metrics(lesson_folder)
    paths = loaders.model_files(lesson_folder)
    if not paths or lesson_metrics is None:
        st.info(text("why_gates", "No lesson models", folder=lesson_folder, problem=problem or "no .keras files"))
        return
    accuracy_by_length(lesson_metrics, metrics)
    live = bool(review.strip())
    compiling = not all(loaders.warmup().ready(path, WHY_GATES) for path in paths)
    if live:
        this_review = pending("Following this review's gradient back through each lesson model", compiling)
    analysis_path = os.path.join(lesson_folder, ANALYSIS)
    analysis = loaders.json_file(analysis_path)
    if analysis is None:
        st.info(f"No `{analysis_path}` yet: `python -m sentiment why-gates {lesson_folder} --data PATH` writes it.")
    else:
        reach_on_average(analysis)
    if live:
        kept = pending("Reading what the gates keep", compiling)
    gradient_norms(lesson_metrics)
    if analysis is not None:
        gate_saturation(analysis)
    if live:
        lesson, errors = loaders.load_models(lesson_folder)
        readings = read_lesson(lesson, review)
        with this_review.container():
            for file, message in errors.items():
                st.error(f"**{file}** could not be loaded: {message}")
            reach_this_review(readings)
        with kept.container():
            kept_in_memory(readings)


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
    return recurrent_cell_name(model) in ("lstm", "gru")


def read_lesson(lesson: dict, review: str) -> dict[str, tuple[Reach | ValueError, Trace | ValueError | None]]:
    """Every lesson model's gradient reach on ``review`` and, for the gated
    ones, the trace retention reads: side by side."""
    calls = {}
    for name, (path, model) in lesson.items():
        calls[name, "reach"] = lambda path=path: loaders.reach_review(path, modified(path), review)
        if _gated(model):
            calls[name, "trace"] = lambda path=path: loaders.trace_review(path, modified(path), review)
    out = loaders.side_by_side(calls)
    return {name: (out[name, "reach"], out.get((name, "trace"))) for name in lesson}


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


def _median_at(analysis: dict, name: str, state: str, kind: str, distance: int) -> float | None:
    p = analysis["models"][name][state]["reach"][kind]
    return p["median"][p["distance"].index(distance)] if distance in p["distance"] else None


def reach_on_average(analysis: dict) -> None:
    st.subheader(f"How far back the gradient reaches: {analysis['reviews']} test reviews")
    kind = st.radio(
        "Gradient",
        ["through the recurrence alone", "through everything (word vectors)"],
        horizontal=True,
        key="reach_kind",
    )
    key = "recurrence" if kind.startswith("through the recurrence") else "embedding"
    st.altair_chart(why_charts.reach_profile_chart(analysis, key), width="content")
    names = list(analysis["models"])
    at = {n: (_median_at(analysis, n, "trained", key, 32), _median_at(analysis, n, "initial", key, 32)) for n in names}
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


def gate_saturation(analysis: dict) -> None:
    chart = why_charts.saturation_chart(analysis)
    if chart is None:
        return
    st.subheader("Gate saturation")
    st.altair_chart(chart, width="content")
    st.caption(text("why_gates", "Saturation", reviews=analysis["reviews"]))
