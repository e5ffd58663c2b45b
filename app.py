"""Inside LSTM and GRU gates: type a movie review, see what each model's gates do.

    streamlit run app.py

Loads every model in saved_models/ (or $SENTIMENT_MODELS), made by train.py.
Each tab is a module of `sentiment.app`; their long texts are markdown files
in sentiment/app/texts/.

Environment:
    SENTIMENT_MODELS    the folder of models (default: saved_models)
    SENTIMENT_LESSON    the last-state models of "Why gates?" (default: <models>/lesson)
    SENTIMENT_DATA      where the test reviews are (default: the --data the models were trained on)
    SENTIMENT_XLA_CACHE where compiled programs are kept between starts (default: ~/.cache/sentiment;
                        empty: nowhere)
"""

from __future__ import annotations

import os

import streamlit as st

from sentiment.analysis.passes import keep_compiled_programs
from sentiment.app import loaders
from sentiment.app.compare import compare, disagreements
from sentiment.app.explore import current_review, explore
from sentiment.app.texts import text
from sentiment.app.why_gates import why_gates
from sentiment.evaluation.results import RunMetrics
from sentiment.network.cells import CELLS
from sentiment.network.model import recurrent_cell_name
from sentiment.reporting import charts

MODELS_DIR = os.environ.get("SENTIMENT_MODELS", "saved_models")
LESSON_DIR = os.environ.get("SENTIMENT_LESSON", os.path.join(MODELS_DIR, "lesson"))
DATA = os.environ.get("SENTIMENT_DATA")
XLA_CACHE = os.environ.get("SENTIMENT_XLA_CACHE")
TABS = ["Explore a review", "Compare LSTM vs GRU", "Why gates?"]


def sidebar(models: dict, metrics: RunMetrics | None, metrics_problem: str | None) -> None:
    """Each model's size and test accuracy; what each gate and state means, from the cells."""
    with st.sidebar:
        st.header("Models")
        for name, (_, model) in models.items():
            result = metrics.models.get(name) if metrics else None
            accuracy = f"{100 * result.test.accuracy:.1f}% test accuracy" if result else "no test figures"
            st.markdown(f"**{name.upper()}**: {model.count_params():,} parameters, {accuracy}")
        if metrics_problem:
            st.caption(metrics_problem)
        st.markdown("**Reading the heatmaps**")
        cells = dict.fromkeys(CELLS[recurrent_cell_name(model)] for _, model in models.values())
        for cell in cells:
            lines = [f"*{q.name}* ({charts.range_label(q)}): {q.meaning}" for q in (*cell.gates, *cell.states)]
            st.markdown(f"{cell.__name__}  \n" + "  \n".join(lines))


def main() -> None:
    if XLA_CACHE != "":
        keep_compiled_programs(XLA_CACHE or None)  # before the first compile; a no-op after
    st.set_page_config(page_title="Inside LSTM and GRU gates", layout="wide")
    st.title("Inside LSTM and GRU gates")
    st.caption(text("page", "Caption"))
    models, metrics, metrics_problem = loaders.load_run(MODELS_DIR)
    if not models:
        st.warning(text("page", "No models", folder=MODELS_DIR))
        return
    sidebar(models, metrics, metrics_problem)
    # Only the open tab runs ("rerun" makes the tabs track which one is open).
    explore_tab, compare_tab, why_tab = st.tabs(TABS, key="tab", on_change="rerun")
    if explore_tab.open:
        with explore_tab:
            explore(models)
    if compare_tab.open:
        with compare_tab:
            compare(metrics, metrics_problem)
            if metrics is not None:
                disagreements(metrics, MODELS_DIR, DATA, TABS[0])
    if why_tab.open:
        with why_tab:
            why_gates(LESSON_DIR, metrics, current_review())


main()
