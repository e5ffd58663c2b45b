"""The "Compare LSTM vs GRU" tab: the test figures of every model and
baseline, the paired tests in plain sentences, and the test reviews where
the models disagree, each one click from the explore tab."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from sentiment.app import loaders
from sentiment.app.charts import review as charts
from sentiment.app.charts import units as unit_charts
from sentiment.app.context import Context
from sentiment.app.texts import text
from sentiment.evaluation.predictions import PREDICTIONS
from sentiment.evaluation.results import RunMetrics, display_name
from sentiment.evaluation.sentences import PUBLISHED

CONFIDENT = 0.9  # "confidently wrong": P(the wrong class) at least this
LISTED = 100  # reviews listed per table
FORMATS = {
    "accuracy": "{:.2%}",
    "SST-2 accuracy": "{:.2%}",
    "mean accuracy": "{:.2%}",
    "± std": "{:.2%}",
    "F1": "{:.2%}",
    "ROC-AUC": "{:.4f}",
    "parameters": "{:,}",
    "train time (s)": "{:.0f}",
    "epochs": "{:d}",
}


TITLE = "Compare LSTM vs GRU"


def render(ctx: Context) -> None:
    test_figures(ctx.metrics, ctx.metrics_problem)
    sentiment_neuron(ctx.models)
    if ctx.metrics is not None:
        disagreements(ctx)


def test_figures(metrics: RunMetrics | None, metrics_problem: str | None) -> None:
    """LSTM vs GRU vs the baselines on the test set, from metrics.json."""
    if metrics is None:
        st.info(metrics_problem)
        return
    frame = charts.comparison_frame(metrics)
    if frame.empty:
        st.info("metrics.json lists no models.")
        return

    def shown(fmt):  # a blank, not "None", where a baseline has no such figure
        return lambda v: "" if pd.isna(v) else fmt.format(v)

    # As text: st.dataframe shows a missing number as "None" whatever a Styler says.
    shown_formats = {k: f for k, f in FORMATS.items() if k in frame}
    st.dataframe(frame.assign(**{k: frame[k].map(shown(f)) for k, f in shown_formats.items()}), hide_index=True)
    runs = max(len(metrics.runs_of(c)) for c in metrics.models)
    kept = text("compare", "Repeated runs", runs=runs) if runs > 1 else text("compare", "One run")
    st.caption(f"Test set: {metrics.data.test:,} reviews, used for nothing else ({kept}). Command: `{metrics.command}`")
    if metrics.sentences is not None:
        sentences_people_type(metrics)
    paired_tests(metrics)
    matrices = [(n.upper(), m.test.confusion_matrix) for n, m in metrics.models.items()]
    matrices += [(f"{display_name(k)} baseline", b.test.confusion_matrix) for k, b in metrics.baselines.items()]
    # Three to a row: four side by side run off the page.
    st.altair_chart(alt.concat(*(charts.confusion_chart(n, m) for n, m in matrices), columns=3), width="content")
    curves = charts.curves_chart(metrics)
    if curves is not None:
        st.subheader("Training curves")
        st.altair_chart(curves, width="content")


def sentences_people_type(metrics: RunMetrics) -> None:
    """SST-2 beside IMDB: what the models were trained on, the paired tests on
    the sentences, and the published figures of models trained on SST itself."""
    s = metrics.sentences
    trained = (
        f"IMDB's reviews and {s.train_phrases:,} SST training phrases ({s.weight:g} SST batches per IMDB batch)"
        if s.weight
        else "IMDB's reviews alone"
    )
    published = ", ".join(f"{name} {100 * acc:.1f}% ({who})" for name, who, acc in PUBLISHED)
    st.caption(
        text("compare", "Sentences", test=s.test, trained=trained, published=published)
        + " "
        + " ".join(c.sentence(display_name(c.first), display_name(c.second)) for c in s.comparisons[:1])
    )


def paired_tests(metrics: RunMetrics) -> None:
    """The paired tests in plain sentences, and the ensembles apart from single models."""
    if not metrics.comparisons:
        st.info(text("compare", "No paired tests"))
        return
    st.subheader("Is the difference real?")
    st.markdown(
        "\n".join(f"- {c.sentence(display_name(c.first), display_name(c.second))}" for c in metrics.comparisons)
    )
    st.caption(text("compare", "Paired tests", n=metrics.comparisons[0].n))
    if metrics.ensembles:
        rows = [
            {"ensemble": display_name(k), "members": ", ".join(e.members), "accuracy": e.test.accuracy, "F1": e.test.f1}
            for k, e in metrics.ensembles.items()
        ]
        st.dataframe(pd.DataFrame(rows).style.format({"accuracy": "{:.2%}", "F1": "{:.2%}"}), hide_index=True)
        st.caption(text("compare", "Ensembles"))


def disagreements(ctx: Context) -> None:
    """Test reviews where the first two models disagree, and where both are confidently wrong."""
    metrics, folder = ctx.metrics, ctx.run.folder
    predictions = loaders.test_predictions(ctx.run)
    st.subheader("Where the models disagree")
    names = [n for n in metrics.models if predictions and n in predictions["probs"]][:2]
    if predictions is None or len(names) < 2:
        st.info(text("compare", "No predictions", folder=folder, predictions=PREDICTIONS))
        return
    for i, (title, table) in enumerate(review_tables(predictions, *names).items()):
        st.markdown(f"**{title}**" + (f"; the {LISTED} most extreme:" if len(table) > LISTED else ":"))
        table = table.head(LISTED)
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in table.columns if c.startswith("P(")
            },
        )
        if table.empty:
            continue
        if not ctx.test_reviews_here:
            st.caption(text("compare", "Texts elsewhere", data=metrics.options.get("data") or "tensorflow-datasets"))
            continue
        choice = st.selectbox("Review", list(table["review"]), key=f"pick_{i}", label_visibility="collapsed")
        st.button(
            "Explain this review",
            key=f"load_{i}",
            on_click=ctx.open_test_review,
            args=(choice,),
            help="Opens it in the Explore tab",
        )


def review_tables(predictions: dict, a: str, b: str) -> dict[str, pd.DataFrame]:
    """{title: reviews}: where models ``a`` and ``b`` disagree, the widest gap
    first; where both are confidently wrong, the most confident first."""
    labels, pa, pb = predictions["labels"], predictions["probs"][a], predictions["probs"][b]
    frame = pd.DataFrame(
        {
            "review": predictions["ids"],
            "true": np.where(labels == 1, "positive", "negative"),
            "tokens": predictions["lengths"],
            f"P(positive) {a.upper()}": pa,
            f"P(positive) {b.upper()}": pb,
        }
    )
    disagree = (pa >= 0.5) != (pb >= 0.5)
    p_true_a, p_true_b = np.where(labels == 1, pa, 1 - pa), np.where(labels == 1, pb, 1 - pb)
    wrong = (p_true_a <= 1 - CONFIDENT) & (p_true_b <= 1 - CONFIDENT)
    a_right = np.sum(disagree & (p_true_a > 0.5))
    return {
        f"{a.upper()} and {b.upper()} disagree: {disagree.sum():,} of {len(labels):,} test reviews "
        f"({a.upper()} right on {a_right:,} of them)": frame[disagree]
        .assign(gap=np.abs(pa - pb)[disagree])
        .sort_values("gap", ascending=False)
        .drop(columns="gap"),
        f"Both confidently wrong (P of the true class at most {1 - CONFIDENT:.1f}): {wrong.sum():,} reviews": frame[
            wrong
        ]
        .assign(conf=(p_true_a + p_true_b)[wrong])
        .sort_values("conf")
        .drop(columns="conf"),
    }


def sentiment_neuron(models: dict) -> None:
    """Does one unit carry the verdict? Each model's probe on its best 1, 2,
    4, ... units, from its unit atlas (Radford, Józefowicz and Sutskever 2017)."""
    st.subheader("Does one unit carry the verdict?")
    found = {name: loaders.atlas(path) for name, (path, _) in models.items()}
    atlases = {name: a for name, (a, _) in found.items() if a is not None}
    for name, (a, problem) in found.items():
        if a is None:
            st.caption(f"{name.upper()}: {problem}")
    if not atlases:
        return
    for column, (name, a) in zip(st.columns(len(atlases)), atlases.items()):
        with column:
            st.altair_chart(unit_charts.probe_chart(a.probe, a.meta["model_accuracy"], name.upper()))
            best = a.probe_order[0]
            d, u = divmod(int(best), a.units)
            st.caption(
                f"Best single unit: {u} ({a.directions[d]}), {100 * a.threshold_accuracy[d, u]:.1f}% on its own; "
                f"all {a.units * len(a.directions)} units {100 * a.probe['all']:.1f}%; the model "
                f"{100 * a.meta['model_accuracy']:.1f}% ({a.meta['test_reviews']:,} test reviews)."
            )
    st.caption(text("compare", "Sentiment neuron"))
