"""Inside LSTM and GRU gates: type a movie review, see what each model's gates do.

    streamlit run app.py

Loads every model in saved_models/ (or $SENTIMENT_MODELS), made by train.py.
"""

import json
import os

import altair as alt
import streamlit as st

from sentiment import charts
from sentiment.inspect import trace
from sentiment.model import ModelLoadError, load_model, recurrent_cell_name

MODELS_DIR = os.environ.get("SENTIMENT_MODELS", "saved_models")
MAX_CHARS = 100_000  # longer pastes are cut here; the models read far less anyway
WINDOW = 80  # tokens per heatmap; a slider moves the window along longer reviews
EXAMPLES = {
    "Clearly positive": "One of the best films I have seen in years. The acting is superb, the story is moving "
    "and the music is beautiful. I loved every minute and would happily watch it again.",
    "Clearly negative": "A complete waste of time. The plot is boring and predictable, the dialogue is awful and "
    "the acting is the worst I have seen. I want those two hours of my life back.",
    "Mixed": "The first half is slow and the dialogue is clumsy, but the last hour is gripping and the lead "
    "actress is wonderful. Flawed, yet worth seeing.",
    "Negated": "This movie is not good. It is not funny, not clever and not worth your money, and I did not "
    "enjoy it at all.",
    "Long": (
        "I went in with low expectations. The trailer made it look like yet another forgettable action movie, "
        "and the first twenty minutes did little to change my mind: the setup is clumsy, the villain is a "
        "cartoon, and the editing is so frantic that I often lost track of who was chasing whom. "
    )
    * 3
    + "But then something changed. The story slows down, the characters get room to breathe, and the quiet "
    "scenes between the two brothers are some of the most honest I have seen this year. By the end I was "
    "completely won over. A flawed but genuinely moving film, and the final scene is unforgettable.",
}


@st.cache_resource(show_spinner="Loading models ...")
def load_models(folder: str):
    """{name: model} for every .keras file in ``folder``, {file: error} for the others."""
    models, errors = {}, {}
    if os.path.isdir(folder):
        # LSTM, GRU, Elman first, in that order, then anything else.
        known = ["lstm.keras", "gru.keras", "elman.keras"]
        for name in sorted(os.listdir(folder), key=lambda n: (known.index(n) if n in known else 3, n)):
            if name.endswith(".keras") and not name.startswith("."):
                path = os.path.join(folder, name)
                try:
                    models[name[: -len(".keras")]] = load_model(path)
                except ModelLoadError as err:
                    errors[name] = str(err)
    return models, errors


@st.cache_resource
def load_metrics(folder: str):
    """(metrics dict or None, problem or None) from metrics.json."""
    path = os.path.join(folder, "metrics.json")
    if not os.path.isfile(path):
        return None, f"No {path} yet: run `python train.py` to write it."
    try:
        with open(path, encoding="utf-8") as f:
            metrics = json.load(f)
        if not isinstance(metrics, dict) or not isinstance(metrics.get("models", {}), dict):
            raise ValueError("expected an object with a 'models' object")
        return metrics, None
    except (OSError, ValueError) as err:
        return None, f"Could not read {path} ({err}). Run `python train.py` to write it again."


def pick_example():
    st.session_state.review = EXAMPLES.get(st.session_state.example, st.session_state.review)


st.set_page_config(page_title="Inside LSTM and GRU gates", layout="wide")
st.title("Inside LSTM and GRU gates")
st.caption(
    "Sentiment classifiers on IMDB reviews, built from LSTM and GRU cells written from their gate "
    "equations. Type a review and watch, token by token, what each gate lets through."
)

models, load_errors = load_models(MODELS_DIR)
metrics, metrics_problem = load_metrics(MODELS_DIR)
for file, message in load_errors.items():
    st.error(f"**{file}** could not be loaded: {message}")
if not models:
    st.warning(
        f"No models found in `{MODELS_DIR}/`. Train them first:\n\n"
        "```\npython train.py --data ../shared/data/aclImdb_v1_labeled.tar.gz\n```"
    )
    st.stop()

with st.sidebar:
    st.header("Models")
    for name, model in models.items():
        test = ((metrics or {}).get("models", {}).get(name) or {}).get("test", {})
        accuracy = f"{100 * test['accuracy']:.1f}% test accuracy" if "accuracy" in test else "no test figures"
        st.markdown(f"**{name.upper()}**: {model.count_params():,} parameters, {accuracy}")
    if metrics_problem:
        st.caption(metrics_problem)
    st.markdown(
        "**Reading the heatmaps**  \n"
        "*input / update*: how much new information enters;  \n"
        "*forget*: how much of the cell state is kept (LSTM);  \n"
        "*output*: how much of the cell state is shown (LSTM);  \n"
        "*reset*: how much of the past feeds the candidate (GRU);  \n"
        "*candidate*: the proposed new content, -1 to 1."
    )

explore, compare = st.tabs(["Explore a review", "Compare LSTM vs GRU"])

with explore:
    if "review" not in st.session_state:
        st.session_state.review = EXAMPLES["Clearly positive"]
    st.selectbox("Example", ["(your own)", *EXAMPLES], key="example", on_change=pick_example)
    text = st.text_area("Review", key="review", height=140)
    if len(text) > MAX_CHARS:
        st.info(f"The review has {len(text):,} characters; the first {MAX_CHARS:,} are used.")
        text = text[:MAX_CHARS]

    if not text.strip():
        st.info("Type a review above, or pick an example.")
        st.stop()

    traces, problems = {}, {}
    for name, model in models.items():
        try:
            traces[name] = trace(model, text)
        except ValueError as err:
            problems[name] = str(err)

    columns = st.columns(len(models))
    for column, name in zip(columns, models):
        with column:
            if name in problems:
                st.warning(f"**{name.upper()}**: {problems[name]}")
                continue
            t = traces[name]
            label = "positive" if t.probability >= 0.5 else "negative"
            st.metric(f"{name.upper()} says", label)
            st.progress(t.probability, text=f"P(positive) = {t.probability:.3f}")
            if t.truncated:
                st.caption(
                    f"This review has {t.total_tokens:,} words; the model reads {len(t.tokens)}: "
                    f"the first {t.head} and the last {len(t.tokens) - t.head}."
                )
    if not traces:
        st.stop()

    st.subheader("Gates, token by token")
    longest = max(len(t.tokens) for t in traces.values())
    start = 0
    if longest > WINDOW:
        start = st.slider("First token shown", 0, longest - WINDOW, 0, step=10)
    for name, t in traces.items():
        with st.expander(f"{name.upper()} ({recurrent_cell_name(models[name]).upper()} cells)", expanded=True):
            labels = [layer.label for layer in t.layers]
            chosen = st.selectbox("Layer and direction", labels, key=f"layer_{name}")
            layer = t.layers[labels.index(chosen)]
            end = min(len(t.tokens), start + WINDOW)
            if start >= end:
                st.caption("This model read fewer tokens than the window start.")
                continue
            st.caption(f"Mean over {layer.values['hidden'].shape[1]} units; tokens {start} to {end - 1}.")
            st.altair_chart(charts.summary_chart(layer, t.tokens, start, end), width="content")

            names = [*layer.gate_names, *layer.state_names]
            value = st.selectbox("Detail: gate or state", names, key=f"detail_{name}")
            st.altair_chart(charts.detail_chart(layer, value, t.tokens, start, end), width="content")

            shade = st.selectbox("Shade the review by", names, key=f"shade_{name}")
            st.markdown(charts.shaded_text(layer, shade, t.tokens), unsafe_allow_html=True)

with compare:
    if metrics is None:
        st.info(metrics_problem)
    else:
        frame = charts.comparison_frame(metrics)
        if frame.empty:
            st.info("metrics.json lists no models.")
        else:
            st.dataframe(
                frame.style.format(
                    {
                        "accuracy": "{:.2%}", "F1": "{:.2%}", "ROC-AUC": "{:.4f}", "parameters": "{:,}",
                        "train time (s)": "{:.0f}",
                    },
                    na_rep="",
                ),
                hide_index=True,
            )
            data = metrics.get("data", {})
            st.caption(
                f"Test set: {data.get('test', '?'):,} reviews, used for nothing else. "
                f"Command: `{metrics.get('command', '?')}`"
            )
            matrices = [(n.upper(), m["test"]["confusion_matrix"]) for n, m in metrics["models"].items()]
            if metrics.get("baseline"):
                matrices.append(("TF-IDF baseline", metrics["baseline"]["confusion_matrix"]))
            st.altair_chart(
                alt.hconcat(*(charts.confusion_chart(n, m) for n, m in matrices)),
                width="content",
            )
            curves = charts.curves_chart(metrics)
            if curves is not None:
                st.subheader("Training curves")
                st.altair_chart(curves, width="content")
