"""Altair charts and HTML for the app: gate heatmaps, shaded text, comparisons."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd

from sentiment.analysis.traces import LayerTrace
from sentiment.evaluation.results import RunMetrics, display_name
from sentiment.evaluation.significance import mean_std
from sentiment.network.cells import Quantity

STEP_PX = 16  # width of one token column


def color_range(quantity: Quantity, values: np.ndarray) -> tuple[float, float]:
    """The colour scale's ends: the quantity's own range where it is bounded,
    else symmetric around 0 and wide enough for ``values`` (an LSTM's cell state)."""
    if quantity.bounded:
        return quantity.low, quantity.high
    reach = float(np.max(np.abs(values))) if values.size else 1.0
    return -max(reach, 1e-6), max(reach, 1e-6)


def _scale(low: float, high: float) -> alt.Scale:
    # Shares (0..1) on a sequential scheme; signed values diverge around 0.
    return alt.Scale(domain=[low, high], scheme="viridis" if low >= 0 else "redblue", clamp=True)


def _range_title(low: float, high: float) -> str:
    return f"{low:.3g} to {high:.3g}"


def range_label(quantity: Quantity) -> str:
    """The values a gate or state can take, for a legend: "0 to 1", "unbounded"."""
    return _range_title(quantity.low, quantity.high) if quantity.bounded else "unbounded"


def _labels(tokens: list[str], start: int) -> list[str]:
    return [f"{start + i} {t}" for i, t in enumerate(tokens)]


def token_axis(tokens: list[str], start: int, end: int, show: bool = True) -> tuple[alt.X, int]:
    """The x encoding for tokens ``start:end`` and the chart width: labels
    horizontal where they fit (a short window), else vertical."""
    order = _labels(tokens[start:end], start)
    longest = max((len(label) for label in order), default=1)
    horizontal = len(order) <= 24
    step = max(STEP_PX, 7 * longest + 6) if horizontal else STEP_PX
    axis = alt.Axis(labelAngle=0 if horizontal else -90, labelLimit=120, labelOverlap=False, labelFontSize=11)
    return alt.X("label:N", sort=order, title=None, axis=axis if show else None), max(200, step * len(order))


def summary_frame(layer: LayerTrace, tokens: list[str], start: int, end: int, units=None) -> pd.DataFrame:
    """Long form: one row per (gate, token), the mean over ``units`` (default: all)."""
    labels = _labels(tokens[start:end], start)
    rows = []
    for name in layer.names:
        values = layer.values[name][start:end]
        means = (values if units is None else values[:, list(units)]).mean(axis=1)
        rows += [
            {"value_name": name, "token": t, "position": start + i, "label": lab, "value": float(v)}
            for i, (t, lab, v) in enumerate(zip(tokens[start:end], labels, means))
        ]
    return pd.DataFrame(rows)


def summary_chart(
    layer: LayerTrace, tokens: list[str], start: int, end: int, units=None, title: str | None = None
) -> alt.VConcatChart:
    """Gates x tokens, the mean over ``units`` (default: all), one colour scale
    for each range the cell declares: gates on [0, 1], tanh values on [-1, 1],
    unbounded states on their own symmetric scale. Token labels on the last part."""
    df = summary_frame(layer, tokens, start, end, units)
    tooltip = [
        alt.Tooltip("token:N"),
        alt.Tooltip("position:Q"),
        alt.Tooltip("value_name:N", title="gate"),
        alt.Tooltip("value:Q", format=".3f", title="mean value"),
    ]
    groups: dict[tuple[float, float], list[str]] = {}
    for q in layer.quantities:
        groups.setdefault(color_range(q, df[df.value_name == q.name].value.to_numpy()), []).append(q.name)
    charts = []
    for i, ((low, high), names) in enumerate(groups.items()):
        x, width = token_axis(tokens, start, end, show=i == len(groups) - 1)
        charts.append(
            alt.Chart(df[df.value_name.isin(names)], width=width, height=22 * len(names))
            .mark_rect()
            .encode(
                x=x,
                y=alt.Y("value_name:N", sort=names, title=None),
                color=alt.Color(
                    "value:Q", scale=_scale(low, high), title=f"{', '.join(names)} ({_range_title(low, high)})"
                ),
                tooltip=tooltip,
            )
        )
    chart = alt.vconcat(*charts).resolve_scale(color="independent")
    return chart.properties(title=title) if title else chart


def detail_frame(values: np.ndarray, tokens: list[str], start: int, end: int, order=None) -> pd.DataFrame:
    """Long form: one row per (unit, token); ``order`` lists the units top row first."""
    order = np.arange(values.shape[1]) if order is None else np.asarray(order)
    block = values[start:end][:, order]
    labels = _labels(tokens[start:end], start)
    pos, row = np.meshgrid(np.arange(block.shape[0]), np.arange(block.shape[1]), indexing="ij")
    return pd.DataFrame(
        {
            "label": np.array(labels)[pos.ravel()],
            "token": np.array(tokens[start:end])[pos.ravel()],
            "position": start + pos.ravel(),
            "unit": order[row.ravel()],
            "row": [f"#{r + 1} u{u}" for r, u in zip(row.ravel(), order[row.ravel()])],
            "value": block.ravel().astype(float),
        }
    )


def detail_chart(layer: LayerTrace, name: str, tokens: list[str], start: int, end: int, order=None) -> alt.Chart:
    """Units x tokens for one gate or state; rows in ``order`` (a ranking,
    labelled "#rank u<unit>") or by unit number."""
    values = layer.values[name]
    df = detail_frame(values, tokens, start, end, order)
    low, high = color_range(layer.quantity(name), values[start:end])
    x, width = token_axis(tokens, start, end)
    rows = list(dict.fromkeys(df["row"])) if order is not None else None
    y = (
        alt.Y(
            "row:N",
            sort=rows,
            title="unit, by its effect on this verdict",
            axis=alt.Axis(labelFontSize=9, labelOverlap=False),
        )
        if order is not None
        else alt.Y("unit:O", title="unit", axis=alt.Axis(labelFontSize=9, labelOverlap=False))
    )
    return (
        alt.Chart(df, width=width, height=max(120, 11 * values.shape[1]))
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color("value:Q", scale=_scale(low, high), title=name),
            tooltip=[
                alt.Tooltip("token:N"),
                alt.Tooltip("position:Q"),
                alt.Tooltip("unit:Q"),
                alt.Tooltip("value:Q", format=".3f", title=name),
            ],
        )
    )


def unit_chart(layer: LayerTrace, unit: int, tokens: list[str], start: int, end: int) -> alt.Chart:
    """One unit along the review: each gate and state of that unit, a line each."""
    rows = [
        {
            "value_name": q.name,
            "label": lab,
            "token": t,
            "position": start + i,
            "value": float(layer.values[q.name][start + i, unit]),
        }
        for q in layer.quantities
        for i, (t, lab) in enumerate(zip(tokens[start:end], _labels(tokens[start:end], start)))
    ]
    x, width = token_axis(tokens, start, end)
    return (
        alt.Chart(pd.DataFrame(rows), width=width, height=260, title=f"unit {unit} of {layer.label}")
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title="value"),
            color=alt.Color("value_name:N", sort=layer.names, title="gate or state"),
            tooltip=[
                "token",
                "position",
                alt.Tooltip("value_name:N", title="gate"),
                alt.Tooltip("value:Q", format=".3f"),
            ],
        )
    )


def _color(value: float, low: float, high: float, negative=(200, 40, 40), positive=(40, 90, 200)) -> str:
    """White at the middle of a signed scale (or at ``low`` of a share), the
    given colours at the ends."""
    t = min(max((value - low) / (high - low), 0.0), 1.0)
    if low >= 0:
        s, end = t, positive
    else:
        s, end = abs(2 * t - 1), (negative if t < 0.5 else positive)
    r, g, b = (255 - (255 - c) * s for c in end)
    return f"rgb({r:.0f},{g:.0f},{b:.0f})"


def token_spans(tokens: list[str], values, low: float, high: float, label: str, colors: dict, start: int = 0) -> str:
    """``tokens`` as coloured spans; ``start``: the first one's position in the review (for the hover)."""
    spans = []
    for i, (token, v) in enumerate(zip(tokens, values), start=start):
        t = (v - low) / (high - low)
        dark = (t > 0.6) if low >= 0 else abs(2 * t - 1) > 0.6
        spans.append(
            f'<span title="{html.escape(token)} #{i} · {html.escape(label)} {v:+.3f}" '
            f'style="background:{_color(float(v), low, high, **colors)};color:{"white" if dark else "black"};'
            f'padding:1px 3px;margin:1px;border-radius:3px;display:inline-block">{html.escape(token)}</span>'
        )
    return " ".join(spans)


def legend(low: float, high: float, left: str, right: str, colors: dict | None = None) -> str:
    """A small colour bar for a shaded text: ``left`` at ``low``, ``right`` at ``high``."""
    stops = ", ".join(_color(low + (high - low) * k / 8, low, high, **(colors or {})) for k in range(9))
    return (
        '<div style="display:flex;align-items:center;gap:6px;font-size:0.8em;margin:2px 0 8px 0">'
        f"<span>{html.escape(left)} ({low:+.2g})</span>"
        '<span style="width:160px;height:10px;border:1px solid #ccc;'
        f'background:linear-gradient(to right, {stops})"></span>'
        f"<span>{html.escape(right)} ({high:+.2g})</span></div>"
    )


def shaded_text(layer: LayerTrace, name: str, tokens: list[str], start: int = 0, end: int | None = None) -> str:
    """Tokens ``start:end`` as HTML, each shaded by ``name``'s mean over units, with a legend."""
    end = len(tokens) if end is None else end
    means = layer.values[name][start:end].mean(axis=1)
    q = layer.quantity(name)
    low, high = color_range(q, means)
    left, right = ("closed", "open") if q.is_gate else ("negative", "positive")
    body = token_spans(tokens[start:end], means, low, high, f"{name} (mean)", {}, start)
    return f'<div style="line-height:1.9">{body}</div>' + legend(low, high, f"{name} {left}", right)


ATTRIBUTION_COLORS = {"negative": (200, 30, 30), "positive": (20, 150, 60)}


def attribution_text(tokens: list[str], scores: np.ndarray, start: int = 0, end: int | None = None) -> str:
    """Tokens ``start:end`` coloured by their attribution: red pushes towards
    negative, green towards positive; one scale for the whole review."""
    end = len(tokens) if end is None else end
    reach = max(float(np.max(np.abs(scores))), 1e-6)
    body = token_spans(
        tokens[start:end], scores[start:end], -reach, reach, "share of P(positive)", ATTRIBUTION_COLORS, start
    )
    return f'<div style="line-height:1.9">{body}</div>' + legend(
        -reach, reach, "pushes negative", "pushes positive", ATTRIBUTION_COLORS
    )


def comparison_frame(metrics: RunMetrics) -> pd.DataFrame:
    """One row per kept model and per baseline: test figures, size, cost; with
    repeated runs (--seeds), the mean ± std of test accuracy over them too;
    where the run was scored on SST-2, its test accuracy on those sentences."""
    sentences = metrics.sentences.scores if metrics.sentences else {}
    rows = []
    for name, m in metrics.models.items():
        runs = metrics.runs_of(name)
        mean, std = mean_std([r.test.accuracy for r in runs])
        rows.append(
            {
                "model": name.upper(),
                "accuracy": m.test.accuracy,
                "SST-2 accuracy": sentences[name].test.accuracy if name in sentences else None,
                "runs": len(runs),
                "mean accuracy": mean,
                "± std": std,
                "F1": m.test.f1,
                "ROC-AUC": m.test.roc_auc,
                "parameters": m.parameters,
                "train time (s)": m.train_seconds,
                "epochs": m.epochs_run,
            }
        )
    for key, b in metrics.baselines.items():
        rows.append(
            {
                "model": f"{display_name(key)} baseline",
                "accuracy": b.test.accuracy,
                "SST-2 accuracy": sentences[key].test.accuracy if key in sentences else None,
                "runs": 1,
                "mean accuracy": b.test.accuracy,
                "± std": None,
                "F1": b.test.f1,
                "ROC-AUC": b.test.roc_auc,
                "parameters": b.parameters,
                "train time (s)": b.train_seconds,
                "epochs": None,
            }
        )
    frame = pd.DataFrame(rows)
    if not sentences:
        frame = frame.drop(columns="SST-2 accuracy", errors="ignore")
    if not frame.empty:  # whole epochs; the baseline has none (<NA>, not NaN making the column float)
        frame["epochs"] = pd.array([r["epochs"] for r in rows], dtype="Int64")
    return frame


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


def curves_frame(metrics: RunMetrics) -> pd.DataFrame:
    rows = []
    for name, m in metrics.models.items():
        for key in ("loss", "accuracy"):
            for split, field in (("training", key), ("validation", f"val_{key}")):
                for epoch, v in enumerate(m.history.get(field, []), start=1):
                    rows.append({"model": name.upper(), "metric": key, "split": split, "epoch": epoch, "value": v})
    return pd.DataFrame(rows)


def curves_chart(metrics: RunMetrics) -> alt.Chart | None:
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
