"""Altair charts for the "Why gates?" tab: accuracy by length, gradient reach,
gradient norms in training, gate saturation, retention, and a gate switched
off beside its full cell."""

from __future__ import annotations

from dataclasses import asdict

import altair as alt
import numpy as np
import pandas as pd

from sentiment.analysis.gradients import Reach
from sentiment.analysis.why_gates_results import WhyGatesResults
from sentiment.app.charts.review import legend, token_spans
from sentiment.evaluation.results import ClassificationMetrics, RunMetrics
from sentiment.experiments.ablation_results import MemoryPoint
from sentiment.experiments.memory_results import Point, Pushed

RETENTION_COLORS = {"negative": (255, 255, 255), "positive": (30, 90, 200)}
# One colour per cell in every chart of the tab: the two simple RNNs warm, the gated cells cool.
CELL_COLORS = {"ELMAN": "#d62728", "JORDAN": "#ff7f0e", "LSTM": "#1f77b4", "GRU": "#2ca02c"}


def _model_color(names) -> alt.Color:
    names = list(dict.fromkeys(names))
    known = [n for n in CELL_COLORS if n in names] + [n for n in names if n not in CELL_COLORS]
    palette = [CELL_COLORS.get(n, "#7f7f7f") for n in known]
    return alt.Color("model:N", scale=alt.Scale(domain=known, range=palette), title="model")


def by_length_chart(results: dict[str, ClassificationMetrics]) -> alt.Chart | None:
    """Test accuracy per review-length bucket, a line per model."""
    rows = [
        {"model": name, "length": b.label, "order": i, "accuracy": b.accuracy, "reviews": b.n}
        for name, t in results.items()
        for i, b in enumerate(t.by_length)
        if b.accuracy is not None
    ]
    if not rows:
        return None
    df = pd.DataFrame(rows)
    order = list(dict.fromkeys(df.sort_values("order")["length"]))
    return (
        alt.Chart(df, width=520, height=260)
        .mark_line(point=True)
        .encode(
            x=alt.X("length:N", sort=order, title="review length (tokens)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format="%"), title="test accuracy"),
            color=alt.Color("model:N", title="model", legend=alt.Legend(labelLimit=260)),
            tooltip=["model", "length", alt.Tooltip("accuracy:Q", format=".2%"), alt.Tooltip("reviews:Q", format=",")],
        )
    )


def reach_chart(reaches: dict[str, Reach], kind: str) -> alt.Chart:
    """One review: gradient norm (``kind``: "embedding" or "recurrence") by
    distance from the end, log-log, a line per model; each curve divided by
    its value at the last token."""
    rows = []
    for name, r in reaches.items():
        curve = getattr(r, kind)
        base = curve[-1] if curve[-1] > 0 else 1.0
        for token, d, v in zip(r.tokens, r.distance, curve):
            rows.append({"model": name, "distance": int(d) + 1, "token": token, "norm": max(float(v / base), 1e-12)})
    return (
        alt.Chart(pd.DataFrame(rows), width=520, height=280)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("distance:Q", scale=alt.Scale(type="log"), title="tokens from the end of the review (1: the last)"),
            y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="gradient norm / its value at the last token"),
            color=_model_color(reaches),
            tooltip=["model", "token", "distance", alt.Tooltip("norm:Q", format=".2e")],
        )
    )


def reach_profile_chart(analysis: WhyGatesResults, kind: str) -> alt.Chart:
    """Many reviews: the median (line) and quartiles (band) of the normalised
    gradient norm by distance from the end, trained beside untrained."""
    rows = []
    for name, entry in analysis.models.items():
        for state, label in (("trained", "trained"), ("initial", "at initialisation")):
            p = entry[state].reach[kind]
            for d, med, lo, hi, n in zip(p.distance, p.median, p.q25, p.q75, p.n):
                if med is not None and n >= 20:  # too few reviews that long: no summary
                    rows.append(
                        {
                            "model": name.upper(),
                            "state": label,
                            "distance": d + 1,
                            "median": max(med, 1e-12),
                            "q25": max(lo, 1e-12),
                            "q75": max(hi, 1e-12),
                            "reviews": n,
                        }
                    )
    df = pd.DataFrame(rows)
    base = alt.Chart(df).encode(
        x=alt.X("distance:Q", scale=alt.Scale(type="log"), title="tokens from the end (1: the last)"),
        color=_model_color(df["model"]),
    )
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("q25:Q", scale=alt.Scale(type="log")), y2="q75:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("median:Q", scale=alt.Scale(type="log"), title="gradient norm / value at the last token"),
        tooltip=["model", "state", "distance", alt.Tooltip("median:Q", format=".2e"), "reviews"],
    )
    return (
        (band + line)
        .properties(width=340, height=260)
        .facet(column=alt.Column("state:N", title=None, sort=["trained"]))
    )


def grad_norm_chart(metrics: RunMetrics) -> alt.Chart | None:
    """Per epoch and model: the median and largest global gradient norm before clipping."""
    rows = []
    for name, m in metrics.models.items():
        h = m.history
        clip = m.fit_config.get("clipnorm")
        for e, (med, top, share) in enumerate(
            zip(h.get("grad_norm_median", []), h.get("grad_norm_max", []), h.get("clipped_share", [])), start=1
        ):
            for stat, v in (("median", med), ("largest", top)):
                rows.append(
                    {
                        "model": name.upper(),
                        "epoch": e,
                        "statistic": stat,
                        "norm": v,
                        "clipped": share,
                        "clipnorm": clip,
                    }
                )
    if not rows:
        return None
    return (
        alt.Chart(pd.DataFrame(rows), width=360, height=240)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:O"),
            y=alt.Y("norm:Q", scale=alt.Scale(type="log"), title="global gradient norm before clipping"),
            strokeDash=alt.StrokeDash("statistic:N", title="per epoch"),
            color=_model_color(pd.DataFrame(rows)["model"]),
            tooltip=[
                "model",
                "epoch",
                "statistic",
                alt.Tooltip("norm:Q", format=".3g"),
                alt.Tooltip("clipped:Q", format=".0%", title="steps clipped"),
                "clipnorm",
            ],
        )
    )


def saturation_chart(analysis: WhyGatesResults) -> alt.Chart | None:
    """Per unit: the share of tokens where a gate is below 0.1 (x) and above 0.9 (y)."""
    rows = []
    for name, entry in analysis.models.items():
        for label, gates in entry["trained"].saturation.items():
            for gate, (below, above) in gates.items():
                rows += [
                    {"model": name.upper(), "layer": label, "gate": gate, "unit": u, "shut": b, "open": a}
                    for u, (b, a) in enumerate(zip(below, above))
                ]
    if not rows:
        return None
    return (
        alt.Chart(pd.DataFrame(rows), width=150, height=150)
        .mark_circle(size=40, opacity=0.7)
        .encode(
            # (field names without dots: Vega-Lite reads "a.b" as a nested field)
            x=alt.X("shut:Q", scale=alt.Scale(domain=[0, 1]), title="share of tokens < 0.1 (shut)"),
            y=alt.Y("open:Q", scale=alt.Scale(domain=[0, 1]), title="share of tokens > 0.9 (open)"),
            color=_model_color([r["model"] for r in rows]),
            tooltip=[
                "model",
                "layer",
                "gate",
                "unit",
                alt.Tooltip("shut:Q", format=".0%", title="< 0.1"),
                alt.Tooltip("open:Q", format=".0%", title="> 0.9"),
            ],
        )
        .facet(column=alt.Column("gate:N", title=None))
    )


def retention_text(tokens: list[str], kept: np.ndarray, start: int = 0, end: int | None = None) -> str:
    """The review, each token shaded by the mean share of what was written
    there that is still kept at the end (white: nothing; blue: all of it)."""
    end = len(tokens) if end is None else end
    mean = kept.mean(axis=1)
    body = token_spans(tokens[start:end], mean[start:end], 0.0, 1.0, "kept at the end", RETENTION_COLORS, start)
    return f'<div style="line-height:1.9">{body}</div>' + legend(0.0, 1.0, "forgotten", "kept", RETENTION_COLORS)


def memory_chart(summary: dict[str, list[Point]], chrono: dict[str, list[Point]] | None = None) -> alt.Chart:
    """The textbook task: test accuracy against the distance, a line per cell
    (the mean over seeds) and a band (their lowest to highest); dashed, the
    gated cells started with their gates open (chrono), where measured."""
    rows = [
        {"model": cell.upper(), "start": start, **asdict(point)}
        for start, by_cell in (("default", summary), ("chrono", chrono or {}))
        for cell, points in by_cell.items()
        for point in points
    ]
    df = pd.DataFrame(rows)
    base = alt.Chart(df, width=460, height=260).encode(
        x=alt.X(
            "distance:Q",
            scale=alt.Scale(type="log", domain=[float(df["distance"].min()), float(df["distance"].max())]),
            title="distractors between the polarity token and the end (N)",
        ),
        color=_model_color(df["model"]),
        detail="start:N",
    )
    dash = alt.StrokeDash(
        "start:N", title="initial gates", scale=alt.Scale(domain=["default", "chrono"], range=[[1, 0], [5, 3]])
    )
    band = base.mark_area(opacity=0.12).encode(y=alt.Y("min:Q", scale=alt.Scale(domain=[0.4, 1.0])), y2="max:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", scale=alt.Scale(domain=[0.4, 1.0]), axis=alt.Axis(format="%"), title="test accuracy"),
        strokeDash=dash,
        tooltip=["model", "start", "distance", alt.Tooltip("mean:Q", format=".1%"), alt.Tooltip("min:Q", format=".1%"),
                 alt.Tooltip("max:Q", format=".1%")],
    )  # fmt: skip
    return band + line


MEASURES = {"accuracy": "accuracy", "auc": "separation (ROC-AUC)"}


def pushed_chart(models: dict[str, Pushed]) -> alt.Chart:
    """Real verdicts pushed away, against the filler's length, a line per model:
    accuracy, and how well positive and negative reviews are still told apart
    (ROC-AUC: blind to the filler's own pull); the filler after the review and
    before it."""
    rows = [
        {
            "model": name,
            "order": "filler after the review" if order == "after" else "filler before it",
            "tokens": row.tokens,
            "measure": label,
            "value": getattr(row, key),
        }
        for name, m in models.items()
        for order in ("after", "before")
        for row in getattr(m, order)
        for key, label in MEASURES.items()
        if getattr(row, key) is not None
    ]
    df = pd.DataFrame(rows)
    names = list(models)
    palette = [CELL_COLORS.get(n.split()[0].upper(), "#7f7f7f") for n in names]
    dash = alt.StrokeDash(
        "kind:N", title=None, scale=alt.Scale(domain=["last state", "pooled"], range=[[1, 0], [5, 3]])
    )
    return (
        alt.Chart(df.assign(kind=df["model"].str.extract(r"\((.*)\)")[0]), width=260, height=200)
        .mark_line(point=True)
        .encode(
            x=alt.X("tokens:Q", title="filler (words)"),
            y=alt.Y("value:Q", scale=alt.Scale(domain=[0.4, 1.0]), axis=alt.Axis(format="%"), title=None),
            color=alt.Color("model:N", scale=alt.Scale(domain=names, range=palette)),
            strokeDash=dash,
            tooltip=["model", "order", "measure", "tokens", alt.Tooltip("value:Q", format=".1%")],
        )
        .facet(
            column=alt.Column("order:N", title=None, sort=["filler after the review"]),
            row=alt.Row("measure:N", title=None, sort=list(MEASURES.values())),
        )
    )


def filler_probe_chart(rows: list[dict]) -> alt.Chart:
    """One review, the filler growing after it: each model's P(positive)."""
    df = pd.DataFrame(rows)
    return (
        alt.Chart(df, width=460, height=220)
        .mark_line(point=True)
        .encode(
            x=alt.X("tokens:Q", title="filler after the review (words)"),
            y=alt.Y("p:Q", scale=alt.Scale(domain=[0, 1]), title="P(positive)"),
            color=_model_color(df["model"]),
            tooltip=["model", "tokens", alt.Tooltip("p:Q", format=".3f")],
        )
    )


# -- "Switch a gate off": one arm of the ablation beside its full cell ----------------------------------

ABLATION_COLORS = {"switched off": "#d62728", "full cell": "#1f77b4", "Elman": "#7f7f7f"}


def _role_color(roles) -> alt.Color:
    known = [r for r in ABLATION_COLORS if r in set(roles)]
    return alt.Color("role:N", scale=alt.Scale(domain=known, range=[ABLATION_COLORS[r] for r in known]), title=None)


def gate_off_memory_chart(curves: dict[str, tuple[str, list[MemoryPoint]]]) -> alt.Chart:
    """The textbook task, an arm beside its full cell (and the Elman RNN): test
    accuracy against the distance, the mean of the seeds (line) and their
    lowest to highest (band). ``curves``: {label: (role, points)}."""
    rows = [
        {"model": label, "role": role, **asdict(point)} for label, (role, points) in curves.items() for point in points
    ]
    df = pd.DataFrame(rows).drop(columns=["steps_to_95"])
    base = alt.Chart(df, width=460, height=240).encode(
        x=alt.X(
            "distance:Q",
            scale=alt.Scale(type="log", domain=[float(df["distance"].min()), float(df["distance"].max())]),
            title="distractors between the polarity token and the end (N)",
        ),
        color=_role_color(df["role"]),
        detail="model:N",
    )
    band = base.mark_area(opacity=0.12).encode(y=alt.Y("min:Q", scale=alt.Scale(domain=[0.4, 1.0])), y2="max:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", scale=alt.Scale(domain=[0.4, 1.0]), axis=alt.Axis(format="%"), title="test accuracy"),
        tooltip=["model", "distance", alt.Tooltip("mean:Q", format=".1%"), "solved", "seeds"],
    )
    return band + line


def gate_off_length_chart(rows: dict[str, tuple[str, list[tuple[str, int, float | None]]]]) -> alt.Chart | None:
    """IMDB test accuracy by review length, an arm beside its full cell. ``rows``: {label: (role, buckets)}."""
    data = [
        {"model": label, "role": role, "length": bucket, "order": i, "accuracy": accuracy, "reviews": n}
        for label, (role, buckets) in rows.items()
        for i, (bucket, n, accuracy) in enumerate(buckets)
        if accuracy is not None
    ]
    if not data:
        return None
    df = pd.DataFrame(data)
    order = list(dict.fromkeys(df.sort_values("order")["length"]))
    return (
        alt.Chart(df, width=340, height=220)
        .mark_line(point=True)
        .encode(
            x=alt.X("length:N", sort=order, title="review length (tokens)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format="%"), title="test accuracy"),
            color=_role_color(df["role"]),
            detail="model:N",
            tooltip=["model", "length", alt.Tooltip("accuracy:Q", format=".2%"), alt.Tooltip("reviews:Q", format=",")],
        )
    )


def gate_off_suite_chart(rates: dict[str, tuple[str, dict[str, float]]]) -> alt.Chart | None:
    """The behavioural suite's failure rate by capability, an arm beside its
    full cell. ``rates``: {label: (role, {capability: rate})}."""
    data = [
        {"model": label, "role": role, "capability": capability, "rate": rate}
        for label, (role, by_capability) in rates.items()
        for capability, rate in by_capability.items()
    ]
    if not data:
        return None
    df = pd.DataFrame(data)
    return (
        alt.Chart(df, width=60, height=180)
        .mark_bar()
        .encode(
            x=alt.X("model:N", title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("rate:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="cases failed"),
            color=_role_color(df["role"]),
            tooltip=["model", "capability", alt.Tooltip("rate:Q", format=".1%")],
        )
        .facet(column=alt.Column("capability:N", title=None))
    )
