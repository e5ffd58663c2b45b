"""Charts of what flips a verdict: the behavioural suite's failure rates, and
a review and its edit (the aligned texts, a gate's difference between them)."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd

from sentiment.analysis.edits import Column, GateDifference
from sentiment.app.charts.why_gates import CELL_COLORS

BASELINE_COLORS = {"TF-IDF": "#bbbbbb", "NBSVM": "#7f7f7f"}
LESSON_COLORS = {"ELMAN": "#ff9896", "JORDAN": "#ffbb78", "LSTM": "#aec7e8", "GRU": "#98df8a"}  # lighter: a lesson


def _color(model: str) -> str:
    cell = model.split()[0]
    if "(lesson)" in model:
        return LESSON_COLORS.get(cell, "#c7c7c7")
    return CELL_COLORS.get(cell) or BASELINE_COLORS.get(model, "#9467bd")


def rates_frame(rates: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """Long form of {model: {capability: {cases, failures, rate}}}: a row per (model, capability)."""
    return pd.DataFrame(
        [{"model": model, "capability": cap, **row} for model, caps in rates.items() for cap, row in caps.items()]
    )


def rates_chart(frame: pd.DataFrame, capabilities: list[str]) -> alt.Chart:
    """Failure rate per capability, the models side by side in each."""
    models = list(dict.fromkeys(frame["model"]))
    palette = [_color(m) for m in models]
    return (
        alt.Chart(frame, height=240)
        .mark_bar()
        .encode(
            x=alt.X("capability:N", sort=capabilities, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("model:N", sort=models),
            y=alt.Y("rate:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="cases failed"),
            color=alt.Color("model:N", sort=models, scale=alt.Scale(domain=models, range=palette)),
            tooltip=["model", "capability", alt.Tooltip("rate:Q", format=".1%"), "failures", "cases"],
        )
    )


_DELETED = "background:#fbd5d5;text-decoration:line-through;padding:1px 3px;border-radius:3px"
_INSERTED = "background:#d3f2d9;font-weight:600;padding:1px 3px;border-radius:3px"


def aligned_html(columns: list[Column], a_tokens: list[str], b_tokens: list[str]) -> str:
    """The two token sequences as one line: words both share plain, what the
    edit removed struck through in red, what it put in bold on green."""
    parts = []
    for c in columns:
        if c.a is not None and c.op != "equal":
            parts.append(f'<span style="{_DELETED}" title="removed">{html.escape(a_tokens[c.a])}</span>')
        if c.b is not None and c.op != "equal":
            parts.append(f'<span style="{_INSERTED}" title="put in">{html.escape(b_tokens[c.b])}</span>')
        if c.op == "equal":
            parts.append(html.escape(a_tokens[c.a]))
    return f'<div style="line-height:2">{" ".join(parts)}</div>'


def difference_chart(diff: GateDifference, units: int = 16, title: str = "") -> alt.Chart:
    """``diff`` as a heatmap: the ``units`` most changed units (rows) by the
    aligned tokens (columns), blue where the edit raised the value, red where
    it lowered it; blank where a token is on one side only."""
    rows = diff.order[: min(units, len(diff.order))]
    positions = [f"{k} {label}" for k, label in enumerate(diff.labels)]
    frame = pd.DataFrame(
        [
            {"unit": f"unit {u}", "token": positions[k], "difference": float(diff.values[u, k])}
            for u in rows
            for k in range(len(positions))
            if not np.isnan(diff.values[u, k])
        ],
        columns=["unit", "token", "difference"],
    )
    reach = float(np.nanmax(np.abs(diff.values[rows]))) if frame.size else 1.0
    reach = max(reach, 1e-6)
    horizontal = len(positions) <= 24
    step = max(40, 7 * max(map(len, positions)) + 6) if horizontal else 16
    return (
        # A step per column (not a total width): every aligned word keeps its place, blank or not.
        alt.Chart(frame, width=alt.Step(step), height=alt.Step(14))
        .mark_rect()
        .encode(
            x=alt.X(
                "token:N",
                scale=alt.Scale(domain=positions),
                title=None,
                axis=alt.Axis(labelAngle=0 if horizontal else -90, labelOverlap=False),
            ),
            y=alt.Y("unit:N", scale=alt.Scale(domain=[f"unit {u}" for u in rows]), title=None),
            color=alt.Color(
                "difference:Q",
                scale=alt.Scale(domain=[-reach, reach], scheme="redblue", clamp=True),
                title=f"{diff.name}: edit − review",
            ),
            tooltip=["unit", "token", alt.Tooltip("difference:Q", format="+.3f")],
        )
        .properties(title=title)
    )
