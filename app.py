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

import sys

if __name__ == "__main__" and "streamlit" not in sys.modules:  # `python app.py`, not a page's run: serve
    from sentiment.app.launch import serve

    sys.exit(serve(__file__))

# A page's run, from here on. (Imported after the branch above: they load TensorFlow, which `python app.py`
# loads beside the starting server instead.)
import streamlit as st  # noqa: E402

from sentiment.app import compare, explore, flips, state, why_gates  # noqa: E402
from sentiment.app.charts.review import range_label  # noqa: E402
from sentiment.app.context import Context, make_context  # noqa: E402
from sentiment.app.launch import warm_up  # noqa: E402
from sentiment.app.settings import from_environment  # noqa: E402
from sentiment.app.texts import text  # noqa: E402
from sentiment.network.cells import CELLS  # noqa: E402
from sentiment.network.model import recurrent_cell_name  # noqa: E402

# The tabs, in order: each a module with a TITLE and a render(ctx). Adding a tab is a module and a line here.
TABS = [explore, compare, flips, why_gates]
SETTINGS = from_environment()


def sidebar(ctx: Context) -> None:
    """Each model's size and test accuracy; what each gate and state means, from the cells."""
    with st.sidebar:
        st.header("Models")
        for name, (_, model) in ctx.models.items():
            result = ctx.metrics.models.get(name) if ctx.metrics else None
            accuracy = f"{100 * result.test.accuracy:.1f}% test accuracy" if result else "no test figures"
            st.markdown(f"**{name.upper()}**: {model.count_params():,} parameters, {accuracy}")
        if ctx.metrics_problem:
            st.caption(ctx.metrics_problem)
        st.markdown("**Reading the heatmaps**")
        cells = dict.fromkeys(CELLS[recurrent_cell_name(model)] for _, model in ctx.models.values())
        for cell in cells:
            lines = [f"*{q.name}* ({range_label(q)}): {q.meaning}" for q in (*cell.gates, *cell.states)]
            st.markdown(f"{cell.__name__}  \n" + "  \n".join(lines))


def main() -> None:
    warm_up(SETTINGS)  # once per server: a no-op after the first page (and under `python app.py`)
    st.set_page_config(page_title="Inside LSTM and GRU gates", layout="wide")
    st.title("Inside LSTM and GRU gates")
    st.caption(text("page", "Caption"))
    ctx = make_context(SETTINGS, explore_title=TABS[0].TITLE)
    if not ctx.models:
        st.warning(text("page", "No models", folder=SETTINGS.models))
        return
    sidebar(ctx)
    # Only the open tab runs ("rerun" makes the tabs track which one is open).
    for tab, container in zip(TABS, st.tabs([tab.TITLE for tab in TABS], key=state.TAB, on_change="rerun")):
        if container.open:
            with container:
                tab.render(ctx)


main()
