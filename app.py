"""Inside LSTM and GRU gates: type a movie review, see what each model's gates do.

    python app.py                 # or: streamlit run app.py (Streamlit's options work with both)

Loads every model in saved_models/ (or $SENTIMENT_MODELS), made by train.py;
`sentiment.app.settings` lists the environment variables it reads. Each tab is a
module of `sentiment.app`; their long texts are markdown files in
sentiment/app/texts/. A page answers first without TensorFlow: each model's
verdict from its weights in NumPy (`sentiment.app.first_answer`), while
TensorFlow, the models and their compiled passes load beside it
(`sentiment.app.launch`); then Keras confirms the verdicts and the rest fills in.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if __name__ == "__main__" and "streamlit" not in sys.modules:  # `python app.py`, not a page's run: serve
    from sentiment.app.launch import serve

    sys.exit(serve(__file__))

# A page's run, from here on. Nothing imported here loads TensorFlow (a test holds it): the page draws its
# first answer before TensorFlow is loaded, and imports the modules that load it only then, in `rest`.
import streamlit as st  # noqa: E402

from sentiment.app import first_answer, state  # noqa: E402
from sentiment.app.launch import warm_up_beside  # noqa: E402
from sentiment.app.settings import from_environment  # noqa: E402
from sentiment.app.texts import text  # noqa: E402

if TYPE_CHECKING:
    from sentiment.app.context import Context

# The tabs, in order: {module of sentiment.app: its TITLE} (a test holds the titles to the modules'). Each
# module has a render(ctx). Adding a tab is a module and a line here.
TABS = {
    "explore": "Explore a review",
    "compare": "Compare LSTM vs GRU",
    "flips": "What it gets wrong",
    "why_gates": "Why gates?",
}
SETTINGS = from_environment()


def sidebar(ctx: Context) -> None:
    """Each model's size and test accuracy; what each gate and state means, from the cells."""
    from sentiment.app.charts.review import range_label
    from sentiment.network.cells import CELLS
    from sentiment.network.model import recurrent_cell_name

    with st.sidebar:  # under its header, drawn with the first answer
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
    st.set_page_config(page_title="Inside LSTM and GRU gates", layout="wide")
    st.title("Inside LSTM and GRU gates")
    st.caption(text("page", "Caption"))
    if not first_answer.model_files(SETTINGS.models):
        st.warning(text("page", "No models", folder=SETTINGS.models))
        return
    st.sidebar.header("Models")  # now, so that the page does not move over when the sidebar's rest comes
    above = st.container()  # the model files Keras cannot load, named above the tabs once it has tried
    # Only the open tab runs ("rerun" makes the tabs track which one is open).
    containers = st.tabs(list(TABS.values()), key=state.TAB, on_change="rerun")
    name, container = next((n, c) for n, c in zip(TABS, containers) if c.open)
    answer = None
    if name == "explore":
        with container:
            answer = first_answer.draw(SETTINGS)
    rest(name, container, above, answer)


def rest(name: str, container, above, answer: first_answer.FirstAnswer | None) -> None:
    """Everything after the first answer: TensorFlow (the warm-up loads it; it
    began only now, so as not to slow the first answer), the models, the
    sidebar, the open tab."""
    warm_up_beside(SETTINGS).result()  # once per server (then milliseconds): the models queued, in their order
    from sentiment.app.charts import skip_the_schema_check
    from sentiment.app.context import make_context

    skip_the_schema_check()  # on every chart of every run; the tests check each chart the app draws instead

    with above:
        ctx = make_context(SETTINGS, explore_title=TABS["explore"], answer=answer)
    if not ctx.models:  # model files, none of which loads: each is named above
        above.warning(text("page", "No models", folder=SETTINGS.models))
        if answer is not None:
            first_answer.settle(answer, {})  # and each column says so
        return
    sidebar(ctx)
    with container:
        importlib.import_module(f"sentiment.app.{name}").render(ctx)


main()
