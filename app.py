"""Inside LSTM and GRU gates: type a movie review, see what each model's gates do.

    python app.py                 # or: streamlit run app.py (Streamlit's options work with both)

Loads every model in saved_models/ (or $SENTIMENT_MODELS), made by train.py;
`sentiment.app.settings` lists the environment variables it reads. Each tab is a
module of `sentiment.app`; their long texts are markdown files in
sentiment/app/texts/. `python app.py` starts Streamlit's server at once and
loads the models meanwhile (`sentiment.app.launch`); `streamlit run app.py`
loads them with the first page.
"""

from __future__ import annotations

import functools
import json
import sys

if __name__ == "__main__" and "streamlit" not in sys.modules:  # `python app.py`, not a page's run: serve
    from sentiment.app.launch import serve

    sys.exit(serve(__file__))

# A page's run, from here on. (Imported after the branch above: they load TensorFlow, which `python app.py`
# loads beside the starting server instead.)
import streamlit as st  # noqa: E402

from sentiment.app import loaders  # noqa: E402
from sentiment.app.compare import compare, disagreements, sentiment_neuron  # noqa: E402
from sentiment.app.explore import current_review, explore  # noqa: E402
from sentiment.app.flips import what_it_gets_wrong  # noqa: E402
from sentiment.app.launch import warm_up  # noqa: E402
from sentiment.app.settings import from_environment  # noqa: E402
from sentiment.app.texts import text  # noqa: E402
from sentiment.app.why_gates import why_gates  # noqa: E402
from sentiment.evaluation.results import RunMetrics  # noqa: E402
from sentiment.network.cells import CELLS  # noqa: E402
from sentiment.network.model import recurrent_cell_name  # noqa: E402
from sentiment.reporting import charts  # noqa: E402

TABS = ["Explore a review", "Compare LSTM vs GRU", "What it gets wrong", "Why gates?"]
SETTINGS = from_environment()


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


def opener(metrics: RunMetrics | None):
    """What puts a test review into the explore tab, or None where the test reviews' texts are not here."""
    source = loaders.data_source(metrics, SETTINGS.data) if metrics is not None else None
    if source is None:
        return None
    options = json.dumps(metrics.options, sort_keys=True, default=str)
    return functools.partial(loaders.open_test_review, source=source, options=options, tab=TABS[0])


def main() -> None:
    warm_up(SETTINGS)  # once per server: a no-op after the first page (and under `python app.py`)
    st.set_page_config(page_title="Inside LSTM and GRU gates", layout="wide")
    st.title("Inside LSTM and GRU gates")
    st.caption(text("page", "Caption"))
    models, metrics, metrics_problem = loaders.load_run(SETTINGS.models)
    if not models:
        st.warning(text("page", "No models", folder=SETTINGS.models))
        return
    sidebar(models, metrics, metrics_problem)
    # Only the open tab runs ("rerun" makes the tabs track which one is open).
    explore_tab, compare_tab, wrong_tab, why_tab = st.tabs(TABS, key="tab", on_change="rerun")
    if explore_tab.open:
        with explore_tab:
            explore(models, opener(metrics))
    if compare_tab.open:
        with compare_tab:
            compare(metrics, metrics_problem)
            sentiment_neuron(models)
            if metrics is not None:
                disagreements(metrics, SETTINGS.models, SETTINGS.data, TABS[0])
    if wrong_tab.open:
        with wrong_tab:
            what_it_gets_wrong(models, SETTINGS.models, TABS[0])
    if why_tab.open:
        with why_tab:
            why_gates(SETTINGS.lesson, metrics, current_review())


main()
