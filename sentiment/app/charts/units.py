"""Charts and HTML of the unit atlas: a unit's top contexts, its distribution
by label, passages that match a hypothesis, a review coloured by factor."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd

# One colour per NMF factor (Tableau 10's first eight).
FACTOR_COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]


def _word(token: str, title: str, background: str | None = None, bold: bool = False) -> str:
    style = f"background:{background};border-radius:3px;padding:0 3px;" if background else ""
    style += "font-weight:700;" if bold else ""
    return f'<span title="{html.escape(title)}" style="{style}">{html.escape(token)}</span>'


def context_html(words: list[str], focus: int | tuple[int, int], label: str, value: float | None = None) -> str:
    """Words with the one at ``focus`` (or the run ``[start, end)``) marked;
    empty strings (past a review's ends) left out."""
    start, end = (focus, focus + 1) if isinstance(focus, int) else focus
    parts = []
    for i, word in enumerate(words):
        if not word:
            continue
        inside = start <= i < end
        shown = f"{label} {value:+.3f}" if inside and value is not None else label
        parts.append(_word(word, f"{word} · {shown}", "#ffd166" if inside else None, bold=inside))
    return " ".join(parts)


def distribution_chart(histograms: np.ndarray, edges: np.ndarray, title: str) -> alt.Chart:
    """The pooled value's distribution in negative and positive reviews (bars, one colour each)."""
    rows = [
        {"label": label, "from": float(edges[i]), "to": float(edges[i + 1]), "reviews": int(n)}
        for label, counts in zip(("negative", "positive"), histograms)
        for i, n in enumerate(counts)
    ]
    return (
        alt.Chart(pd.DataFrame(rows), width=360, height=160, title=title)
        .mark_bar(opacity=0.55, binSpacing=0)
        .encode(
            x=alt.X("from:Q", bin="binned", title="the unit's mean over a review"),
            x2="to:Q",
            y=alt.Y("reviews:Q", stack=None, title="test reviews"),
            color=alt.Color("label:N", scale=alt.Scale(domain=["negative", "positive"], range=["#c0392b", "#27ae60"])),
            tooltip=["label", alt.Tooltip("from:Q", format=".3f"), alt.Tooltip("to:Q", format=".3f"), "reviews"],
        )
    )


def probe_chart(probe: dict[str, float], model_accuracy: float, name: str) -> alt.Chart:
    """Test accuracy of the probe against the units it reads (best first), with the model's own accuracy."""
    rows = [{"units": k, "accuracy": v, "order": i} for i, (k, v) in enumerate(probe.items())]
    base = alt.Chart(pd.DataFrame(rows), width=300, height=200, title=f"{name}: how many units carry the verdict")
    line = base.mark_line(point=True).encode(
        x=alt.X("units:N", sort=list(probe), title="units the probe reads (the best single ones first)"),
        y=alt.Y("accuracy:Q", scale=alt.Scale(zero=False), axis=alt.Axis(format="%"), title="test accuracy"),
        tooltip=["units", alt.Tooltip("accuracy:Q", format=".2%")],
    )
    rule = (
        alt.Chart(pd.DataFrame([{"accuracy": model_accuracy}]))
        .mark_rule(strokeDash=[4, 3], color="#888")
        .encode(y="accuracy:Q", tooltip=[alt.Tooltip("accuracy:Q", format=".2%", title="the model itself")])
    )
    return line + rule


def factor_text(tokens: list[str], activations: np.ndarray, start: int = 0, end: int | None = None) -> str:
    """The review, each word coloured by its dominant factor, as bright as
    that factor's share of the word's activation; hover for every factor."""
    end = len(tokens) if end is None else end
    parts = []
    for i in range(start, end):
        row = activations[i]
        total = float(row.sum())
        k = int(row.argmax())
        share = float(row[k] / total) if total > 0 else 0.0
        alpha = f"{int(40 + 215 * share):02x}" if total > 0 else "00"
        title = f"{tokens[i]} #{i} · factor {k + 1} " + " ".join(f"f{j + 1}={v:.2f}" for j, v in enumerate(row))
        parts.append(_word(tokens[i], title, FACTOR_COLORS[k % len(FACTOR_COLORS)] + alpha if total > 0 else None))
    return f'<div style="line-height:1.9">{" ".join(parts)}</div>'


def factor_legend(summaries: list[str]) -> str:
    """A swatch per factor with a few of its top words."""
    swatch = "color:white;border-radius:3px;padding:1px 5px;margin-right:4px"
    colors = [FACTOR_COLORS[k % len(FACTOR_COLORS)] for k in range(len(summaries))]
    items = [
        f'<span style="background:{color};{swatch}">{k + 1}</span>{html.escape(summary)}'
        for k, (color, summary) in enumerate(zip(colors, summaries))
    ]
    return '<div style="font-size:0.85em;line-height:1.8">' + "<br>".join(items) + "</div>"
