"""Altair charts and HTML for the app: gate heatmaps, shaded text, comparisons."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd

from sentiment.inspect import LayerTrace

SIGMOID = {"input", "forget", "output", "update", "reset"}  # values in (0, 1)
STEP_PX = 16  # width of one token column


def value_range(name: str) -> tuple[float, float]:
    """The range a gate or state takes: (0, 1) for sigmoid gates, else (-1, 1)."""
    return (0.0, 1.0) if name in SIGMOID else (-1.0, 1.0)


def _scale(name: str) -> alt.Scale:
    low, high = value_range(name)
    return alt.Scale(domain=[low, high], scheme="viridis" if low == 0 else "redblue", clamp=True)


def _labels(tokens: list[str], start: int) -> list[str]:
    return [f"{start + i} {t}" for i, t in enumerate(tokens)]


def summary_frame(layer: LayerTrace, tokens: list[str], start: int, end: int) -> pd.DataFrame:
    """Long form: one row per (gate, token), the mean over units."""
    labels = _labels(tokens[start:end], start)
    rows = []
    for name in (*layer.gate_names, *layer.state_names):
        means = layer.values[name][start:end].mean(axis=1)
        rows += [
            {"value_name": name, "token": t, "position": start + i, "label": lab, "value": float(v)}
            for i, (t, lab, v) in enumerate(zip(tokens[start:end], labels, means))
        ]
    return pd.DataFrame(rows)


def summary_chart(layer: LayerTrace, tokens: list[str], start: int, end: int) -> alt.VConcatChart:
    """Gates x tokens (mean over units): sigmoid gates on [0, 1], tanh values on [-1, 1]."""
    df = summary_frame(layer, tokens, start, end)
    order = _labels(tokens[start:end], start)
    width = max(200, STEP_PX * len(order))
    x = alt.X(
        "label:N", sort=order, title=None,
        axis=alt.Axis(labelAngle=-90, labelLimit=90, labelOverlap=False, labelFontSize=10),
    )
    tooltip = [
        alt.Tooltip("token:N"),
        alt.Tooltip("position:Q"),
        alt.Tooltip("value_name:N", title="gate"),
        alt.Tooltip("value:Q", format=".3f", title="mean value"),
    ]
    charts = []
    gates = [g for g in layer.gate_names if g in SIGMOID]
    tanh_values = [g for g in (*layer.gate_names, *layer.state_names) if g not in SIGMOID]
    for names, name_for_scale, title in (
        (gates, "input", "gates (0 to 1)"),
        (tanh_values, "candidate", "candidate and states (-1 to 1)"),
    ):
        if not names:
            continue
        part = df[df.value_name.isin(names)]
        charts.append(
            alt.Chart(part, width=width, height=22 * len(names))
            .mark_rect()
            .encode(
                x=x if title.startswith("cand") else x.axis(None),
                y=alt.Y("value_name:N", sort=list(names), title=None),
                color=alt.Color("value:Q", scale=_scale(name_for_scale), title=title),
                tooltip=tooltip,
            )
        )
    return alt.vconcat(*charts).resolve_scale(color="independent")


def detail_frame(values: np.ndarray, tokens: list[str], start: int, end: int) -> pd.DataFrame:
    block = values[start:end]
    labels = _labels(tokens[start:end], start)
    pos, unit = np.meshgrid(np.arange(block.shape[0]), np.arange(block.shape[1]), indexing="ij")
    return pd.DataFrame(
        {
            "label": np.array(labels)[pos.ravel()],
            "token": np.array(tokens[start:end])[pos.ravel()],
            "position": start + pos.ravel(),
            "unit": unit.ravel(),
            "value": block.ravel().astype(float),
        }
    )


def detail_chart(layer: LayerTrace, name: str, tokens: list[str], start: int, end: int) -> alt.Chart:
    """Units x tokens for one gate or state, colour fixed to the value's range."""
    df = detail_frame(layer.values[name], tokens, start, end)
    order = _labels(tokens[start:end], start)
    units = layer.values[name].shape[1]
    return (
        alt.Chart(df, width=max(200, STEP_PX * len(order)), height=min(600, max(120, 6 * units)))
        .mark_rect()
        .encode(
            x=alt.X(
                "label:N", sort=order, title=None,
                axis=alt.Axis(labelAngle=-90, labelLimit=90, labelOverlap=False, labelFontSize=10),
            ),
            y=alt.Y("unit:O", title="unit", axis=alt.Axis(labels=units <= 32)),
            color=alt.Color("value:Q", scale=_scale(name), title=name),
            tooltip=[
                alt.Tooltip("token:N"),
                alt.Tooltip("position:Q"),
                alt.Tooltip("unit:Q"),
                alt.Tooltip("value:Q", format=".3f", title=name),
            ],
        )
    )


def _color(value: float, name: str) -> str:
    low, high = value_range(name)
    t = (value - low) / (high - low)
    t = min(max(t, 0.0), 1.0)
    if low == 0:  # white -> dark blue
        r, g, b = 255 - 225 * t, 255 - 170 * t, 255 - 80 * t
    else:  # red (-1) -> white (0) -> blue (+1)
        s = 2 * t - 1
        r, g, b = (255, 255 - 200 * -s, 255 - 200 * -s) if s < 0 else (255 - 200 * s, 255 - 200 * s, 255)
    return f"rgb({r:.0f},{g:.0f},{b:.0f})"


def shaded_text(layer: LayerTrace, name: str, tokens: list[str]) -> str:
    """The review's tokens as HTML, each shaded by ``name``'s mean over units."""
    means = layer.values[name].mean(axis=1)
    low, _ = value_range(name)
    spans = []
    for i, (token, v) in enumerate(zip(tokens, means)):
        dark = (v > 0.6) if low == 0 else abs(v) > 0.7
        spans.append(
            f'<span title="{html.escape(token)} #{i} · {name} {v:.3f}" '
            f'style="background:{_color(float(v), name)};color:{"white" if dark else "black"};'
            f'padding:1px 3px;margin:1px;border-radius:3px;display:inline-block">{html.escape(token)}</span>'
        )
    return f'<div style="line-height:1.9">{" ".join(spans)}</div>'


def comparison_frame(metrics: dict) -> pd.DataFrame:
    rows = []
    for name, m in metrics.get("models", {}).items():
        t = m["test"]
        rows.append(
            {
                "model": name.upper(),
                "accuracy": t["accuracy"],
                "F1": t["f1"],
                "ROC-AUC": t["roc_auc"],
                "parameters": m["parameters"],
                "train time (s)": m["train_seconds"],
                "epochs": m["epochs_run"],
            }
        )
    b = metrics.get("baseline")
    if b:
        rows.append(
            {
                "model": "TF-IDF + logistic regression",
                "accuracy": b["accuracy"],
                "F1": b["f1"],
                "ROC-AUC": b["roc_auc"],
                "parameters": b["parameters"],
                "train time (s)": b["train_seconds"],
                "epochs": None,
            }
        )
    return pd.DataFrame(rows)


def confusion_chart(name: str, matrix: list[list[int]]) -> alt.Chart:
    classes = ["negative", "positive"]
    df = pd.DataFrame(
        [{"true": classes[i], "predicted": classes[j], "reviews": matrix[i][j]} for i in range(2) for j in range(2)]
    )
    base = alt.Chart(df, title=name, width=160, height=160).encode(
        x=alt.X("predicted:N", sort=classes), y=alt.Y("true:N", sort=classes)
    )
    return base.mark_rect().encode(
        color=alt.Color("reviews:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["true", "predicted", "reviews"],
    ) + base.mark_text(fontSize=14).encode(text="reviews:Q")


def curves_frame(metrics: dict) -> pd.DataFrame:
    rows = []
    for name, m in metrics.get("models", {}).items():
        hist = m.get("history", {})
        for key in ("loss", "accuracy"):
            for split, field in (("training", key), ("validation", f"val_{key}")):
                for epoch, v in enumerate(hist.get(field, []), start=1):
                    rows.append({"model": name.upper(), "metric": key, "split": split, "epoch": epoch, "value": v})
    return pd.DataFrame(rows)


def curves_chart(metrics: dict) -> alt.Chart | None:
    df = curves_frame(metrics)
    if df.empty:
        return None
    return (
        alt.Chart(df, width=300, height=220)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:O"),
            y=alt.Y("value:Q", scale=alt.Scale(zero=False)),
            color="model:N",
            strokeDash="split:N",
            tooltip=["model", "split", "epoch", alt.Tooltip("value:Q", format=".4f")],
        )
        .facet(column=alt.Column("metric:N", title=None))
        .resolve_scale(y="independent")
    )
