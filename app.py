"""Inside LSTM and GRU gates: type a movie review, see what each model's gates do.

    streamlit run app.py

Loads every model in saved_models/ (or $SENTIMENT_MODELS), made by train.py.
Models, metrics and traces are cached; a file that changes on disk (a model
retrained) is loaded again on the next run of the page, with no restart.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from sentiment import charts, why_charts
from sentiment.evaluate import PREDICTIONS, display_name, load_test_predictions
from sentiment.explain import Explanation, trace_and_explain
from sentiment.gradients import ANALYSIS, Reach, gradient_reach, retention
from sentiment.model import ModelLoadError, load_model, recurrent_cell_name
from sentiment.passes import compiled, keep_compiled_programs
from sentiment.results import MetricsFileError, RunMetrics, load_run_metrics
from sentiment.traces import Trace, trace

MODELS_DIR = os.environ.get("SENTIMENT_MODELS", "saved_models")
DATA = os.environ.get("SENTIMENT_DATA")  # where to read test reviews; default: the --data the models were trained on
LESSON_DIR = os.environ.get("SENTIMENT_LESSON", os.path.join(MODELS_DIR, "lesson"))  # the last-state models
# Where XLA's compiled programs are kept between starts (sentiment.passes.keep_compiled_programs);
# unset: ~/.cache/sentiment; empty: nowhere (every start compiles them again).
XLA_CACHE = os.environ.get("SENTIMENT_XLA_CACHE")
TABS = ["Explore a review", "Compare LSTM vs GRU", "Why gates?"]
CONFIDENT = 0.9  # "confidently wrong": P(the wrong class) at least this
LISTED = 100  # reviews listed per table
MAX_CHARS = 100_000  # longer pastes are cut here; the models read far less anyway
WINDOW = 80  # tokens per heatmap; a slider moves the window along longer reviews
TOP_UNITS = 8  # the summary heatmap's second view: the mean over this many top units
KNOWN_ORDER = ["lstm.keras", "gru.keras", "elman.keras"]  # then any other file, by name
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


# -- loaders (cached; keyed by file modification time) -------------------------------------------


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return -1.0


def model_files(folder: str) -> list[str]:
    """The .keras files in ``folder``: LSTM, GRU, Elman first, then the rest by name."""
    if not os.path.isdir(folder):
        return []
    names = [n for n in os.listdir(folder) if n.endswith(".keras") and not n.startswith(".")]
    order = sorted(names, key=lambda n: (KNOWN_ORDER.index(n) if n in KNOWN_ORDER else len(KNOWN_ORDER), n))
    return [os.path.join(folder, n) for n in order]


@st.cache_resource(show_spinner="Loading a model ...", max_entries=16)
def _load_model(path: str, mtime: float):
    del mtime  # part of the cache key only: a rewritten file is a new entry
    return load_model(path)


def load_models(folder: str):
    """({name: (path, model)}, {file: error}) for every .keras file in ``folder``."""
    models, errors = {}, {}
    for path in model_files(folder):
        name = os.path.basename(path)[: -len(".keras")]
        try:
            models[name] = (path, _load_model(path, _mtime(path)))
        except ModelLoadError as err:
            errors[os.path.basename(path)] = str(err)
    return models, errors


@st.cache_data(show_spinner=False, max_entries=4)
def _read_metrics(path: str, mtime: float) -> tuple[RunMetrics | None, str | None]:
    del mtime
    try:
        return load_run_metrics(path), None
    except MetricsFileError as err:  # missing, unreadable, an older version, malformed: it says which
        return None, str(err)


def load_metrics(folder: str) -> tuple[RunMetrics | None, str | None]:
    """(metrics or None, problem or None) from ``folder``/metrics.json."""
    path = os.path.join(folder, "metrics.json")
    return _read_metrics(path, _mtime(path))


def load_run(folder: str) -> tuple[dict, RunMetrics | None, str | None]:
    """The models and metrics of a folder train.py wrote; a file that does not
    load is named on the page, and the others still work."""
    models, errors = load_models(folder)
    metrics, problem = load_metrics(folder)
    for file, message in errors.items():
        st.error(f"**{file}** could not be loaded: {message}")
    return models, metrics, problem


@st.cache_data(show_spinner=False, max_entries=64)
def trace_review(path: str, mtime: float, text: str) -> Trace:
    """Every gate of the model in ``path`` on ``text``; computed once per
    (model file, text), so changing a view option recomputes nothing."""
    return trace(_load_model(path, mtime), text)


@st.cache_data(show_spinner=False, max_entries=4)
def _read_predictions(path: str, mtime: float) -> dict | None:
    del mtime
    return load_test_predictions(path) if os.path.isfile(path) else None


@st.cache_resource(show_spinner="Reading the test reviews ...", max_entries=2)
def test_reviews(source: str, options: str = "{}") -> dict[str, str]:
    """{review id: text} of the test split at ``source`` (an aclImdb folder or archive, or a table
    read as the run's ``options``, as JSON, say: its columns and held-out split)."""
    from sentiment.data import load_imdb
    from sentiment.tables import TableConfig

    run = json.loads(options)
    test = load_imdb(source, TableConfig.from_options(run), int(run.get("seed", 1337))).test
    return dict(zip(test.ids, test.texts))


def data_source(metrics: RunMetrics) -> str | None:
    """Where the test reviews are: $SENTIMENT_DATA, else the --data of the run, if it is here."""
    source = DATA or metrics.options.get("data")
    return source if source and os.path.exists(source) else None


@st.cache_data(show_spinner=False, max_entries=64)
def read_review(path: str, mtime: float, text: str) -> tuple[Trace, Explanation]:
    """Every gate of the model in ``path`` on ``text``, and what decided its
    verdict (word attributions, occlusion, unit ranking), from one compiled
    pass; computed once per (model file, text), so changing a view option
    recomputes nothing."""
    return trace_and_explain(_load_model(path, mtime), text)


def side_by_side(calls: dict, ready: bool) -> dict:
    """``{key: call()}``, in threads when ``ready`` (every pass the calls run
    is compiled): TensorFlow lets go of Python while a compiled pass runs, so
    on 2 cores two models take little more than one. Until then, one after
    the other, in order: two compiles at once were slower than one after the
    other, and a fixed order finds the programs an earlier start kept
    (`keep_compiled_programs`). A ValueError (a review a model cannot read)
    is returned in place of the result."""

    def run(call):
        try:
            return call()
        except ValueError as err:
            return err

    if not ready or len(calls) < 2:
        return {key: run(call) for key, call in calls.items()}
    ctx = get_script_run_ctx()

    def in_thread(call):
        add_script_run_ctx(threading.current_thread(), ctx)  # the session's caches, from this thread
        return run(call)

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {key: pool.submit(in_thread, call) for key, call in calls.items()}
        return {key: future.result() for key, future in futures.items()}


def read_all(models: dict, text: str) -> dict[str, tuple[Trace, Explanation] | ValueError]:
    """`read_review` for every model, side by side once compiled."""
    with st.spinner("Reading the review ..."):
        calls = {name: (lambda path=path: read_review(path, _mtime(path), text)) for name, (path, _) in models.items()}
        return side_by_side(calls, all(compiled(model) for _, model in models.values()))


@st.cache_data(show_spinner=False, max_entries=64)
def reach_review(path: str, mtime: float, text: str) -> Reach:
    return gradient_reach(_load_model(path, mtime), text)


@st.cache_data(show_spinner=False, max_entries=4)
def _read_json(path: str, mtime: float) -> dict | None:
    del mtime
    import json

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# -- sections --------------------------------------------------------------------------------------


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
        seen = set()
        for _, model in models.values():
            cell = _cell_class(model)
            if cell in seen:
                continue
            seen.add(cell)
            lines = [f"*{q.name}* ({charts.range_label(q)}): {q.meaning}" for q in (*cell.gates, *cell.states)]
            st.markdown(f"{cell.__name__}  \n" + "  \n".join(lines))


def _cell_class(model):
    from sentiment.cells import CELLS

    return CELLS[recurrent_cell_name(model)]


def review_input() -> str | None:
    """The example picker and the text box; the review to explain, or None."""
    # Streamlit forgets a widget's value in a run that does not draw it (another
    # tab): the review is kept under a key of its own and given back to the box.
    if "review" not in st.session_state:
        st.session_state.review = st.session_state.get("the_review", EXAMPLES["Clearly positive"])

    def pick_example():
        st.session_state.review = EXAMPLES.get(st.session_state.example, st.session_state.review)

    st.selectbox("Example", ["(your own)", *EXAMPLES], key="example", on_change=pick_example)
    text = st.text_area("Review", key="review", height=140)
    st.session_state.the_review = text
    if len(text) > MAX_CHARS:
        st.info(f"The review has {len(text):,} characters; the first {MAX_CHARS:,} are used.")
        text = text[:MAX_CHARS]
    if not text.strip():
        st.info("Type a review above, or pick an example.")
        return None
    return text


def verdicts(models: dict, readings: dict) -> dict[str, Trace]:
    """Each model's verdict and P(positive), side by side; the traces that worked."""
    traces = {}
    for column, name in zip(st.columns(len(models)), models):
        with column:
            if isinstance(readings[name], ValueError):
                st.warning(f"**{name.upper()}**: {readings[name]}")
                continue
            t = traces[name] = readings[name][0]
            st.metric(f"{name.upper()} says", "positive" if t.probability >= 0.5 else "negative")
            st.progress(t.probability, text=f"P(positive) = {t.probability:.3f}")
            if t.truncated:
                st.caption(
                    f"This review has {t.total_tokens:,} words; the model reads {len(t.tokens)}: "
                    f"the first {t.head} and the last {len(t.tokens) - t.head}."
                )
    return traces


def window(traces: dict[str, Trace]) -> tuple[int, int]:
    """One window of tokens for every view of the review (a slider for long ones)."""
    longest = max(len(t.tokens) for t in traces.values())
    if longest <= WINDOW:
        return 0, longest
    start = st.slider(
        "Tokens shown (every view below)",
        0,
        longest - WINDOW,
        0,
        step=10,
        help=f"The views show {WINDOW} tokens at a time; move the window along the review.",
    )
    return start, start + WINDOW


def _signed(pairs) -> str:
    return ", ".join(f"**{word}** ({score:+.3f})" for word, score in pairs) or "none"


def word_attributions(explanations: dict[str, Explanation], start: int, end: int) -> None:
    """Which words pushed each verdict, LSTM and GRU side by side."""
    st.subheader("Which words decided it")
    st.caption(
        "Integrated gradients: each word's share of the change from a review of nothing (the padding "
        "vector at every word) to this review, in P(positive). Green pushed towards positive, red towards "
        "negative; hover a word for its share."
    )
    for column, (name, e) in zip(st.columns(len(explanations)), explanations.items()):
        with column:
            a = e.attribution
            st.markdown(f"**{name.upper()}**")
            st.markdown(
                charts.attribution_text(a.tokens, a.scores, start, min(end, len(a.tokens))), unsafe_allow_html=True
            )
            for_pos, for_neg = e.top_words(5)
            st.markdown(f"For positive: {_signed(for_pos)}  \nFor negative: {_signed(for_neg)}")
            occluded = "each word" if e.occlusion.per_word else f"each of {len(e.occlusion.spans)} spans of words"
            st.caption(
                f"The shares add up to P(review) − P(baseline) = {a.probability:.3f} − {a.baseline_probability:.3f} "
                f"within {100 * a.gap:.1f}% ({a.steps} steps). Dropping {occluded} instead (occlusion) ranks them "
                f"alike: Spearman {e.rank_agreement:.2f}."
            )


def _ranking(e: Explanation | None, layer) -> object | None:
    if e is None:
        return None
    return next((u for u in e.units if (u.layer, u.direction) == (layer.layer, layer.direction)), None)


def gate_heatmaps(models: dict, traces: dict[str, Trace], explanations: dict, start: int, end: int) -> None:
    """Per model: summary heatmaps, units ranked by their effect, one unit, the shaded review."""
    st.subheader("Gates, token by token")
    for name, t in traces.items():
        model = models[name][1]
        stop = min(len(t.tokens), end)
        with st.expander(f"{name.upper()} ({recurrent_cell_name(model).upper()} cells)", expanded=True):
            labels = [layer.label for layer in t.layers]
            layer = t.layers[labels.index(st.selectbox("Layer and direction", labels, key=f"layer_{name}"))]
            if start >= stop:
                st.caption("This model read fewer tokens than the window start.")
                continue
            ranking = _ranking(explanations.get(name), layer)
            order = ranking.order if ranking is not None else None
            st.altair_chart(
                charts.summary_chart(layer, t.tokens, start, stop, title=f"mean over all {layer.units} units"),
                width="content",
            )
            if order is not None:
                k = min(TOP_UNITS, layer.units)
                st.altair_chart(
                    charts.summary_chart(
                        layer,
                        t.tokens,
                        start,
                        stop,
                        units=order[:k],
                        title=f"mean over the {k} units with the largest effect on this verdict",
                    ),
                    width="content",
                )
                st.caption(
                    "A unit's effect: its hidden state times the gradient of the verdict's logit, summed over the "
                    "words. With max-and-mean pooling and a linear classifier these add up exactly to the logit."
                )
            value = st.selectbox("Detail: gate or state", layer.names, key=f"detail_{name}")
            sort = (
                st.radio("Sort units", ["by effect on this verdict", "by number"], key=f"sort_{name}", horizontal=True)
                if order is not None
                else "by number"
            )
            st.altair_chart(
                charts.detail_chart(
                    layer, value, t.tokens, start, stop, order if sort.startswith("by effect") else None
                ),
                width="content",
            )
            units = list(order) if order is not None else list(range(layer.units))
            names = {
                u: f"unit {u}"
                + (f" (#{r + 1}, {ranking.contributions[u]:+.2f} to the logit)" if ranking is not None else "")
                for r, u in enumerate(units)
            }
            unit = st.selectbox(
                "One unit along the review",
                units,
                # A new review or layer ranks the units anew: start again from its top unit.
                key=f"unit_{name}_{zlib.crc32((layer.label + '|' + ' '.join(t.tokens)).encode())}",
                format_func=names.__getitem__,
            )
            st.altair_chart(charts.unit_chart(layer, unit, t.tokens, start, stop), width="content")
            shade = st.selectbox("Shade the review by", layer.names, key=f"shade_{name}")
            st.markdown(charts.shaded_text(layer, shade, t.tokens, start, stop), unsafe_allow_html=True)


def explore(models: dict) -> None:
    text = review_input()
    if text is None:
        return
    readings = read_all(models, text)
    traces = verdicts(models, readings)
    if not traces:
        return
    explanations = {name: readings[name][1] for name in traces}
    start, end = window(traces)
    word_attributions(explanations, start, end)
    gate_heatmaps(models, traces, explanations, start, end)


def compare(metrics: RunMetrics | None, metrics_problem: str | None) -> None:
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

    formats = {
        "accuracy": "{:.2%}",
        "mean accuracy": "{:.2%}",
        "± std": "{:.2%}",
        "F1": "{:.2%}",
        "ROC-AUC": "{:.4f}",
        "parameters": "{:,}",
        "train time (s)": "{:.0f}",
        "epochs": "{:d}",
    }
    # As text: st.dataframe shows a missing number as "None" whatever a Styler says.
    st.dataframe(frame.assign(**{k: frame[k].map(shown(f)) for k, f in formats.items()}), hide_index=True)
    repeated = max(len(metrics.runs_of(c)) for c in metrics.models)
    kept = (
        f"each cell trained {repeated} times with different seeds; the row is the run with the best validation "
        "accuracy, the mean ± std is over all its runs"
        if repeated > 1
        else "one training run per cell: differences below about half a point are within run-to-run noise"
    )
    st.caption(f"Test set: {metrics.data.test:,} reviews, used for nothing else ({kept}). Command: `{metrics.command}`")
    verdict(metrics)
    matrices = [(n.upper(), m.test.confusion_matrix) for n, m in metrics.models.items()]
    matrices += [(f"{display_name(k)} baseline", b.test.confusion_matrix) for k, b in metrics.baselines.items()]
    # Three to a row: four side by side run off the page.
    st.altair_chart(alt.concat(*(charts.confusion_chart(n, m) for n, m in matrices), columns=3), width="content")
    curves = charts.curves_chart(metrics)
    if curves is not None:
        st.subheader("Training curves")
        st.altair_chart(curves, width="content")


def verdict(metrics: RunMetrics) -> None:
    """The paired tests in plain sentences, and the ensembles apart from single models."""
    if not metrics.comparisons:
        st.info(
            "No paired tests in this metrics.json: `python train.py --seeds 3` (or any run of this version) "
            "writes them."
        )
        return
    st.subheader("Is the difference real?")
    st.markdown(
        "\n".join(f"- {c.sentence(display_name(c.first), display_name(c.second))}" for c in metrics.comparisons)
    )
    st.caption(
        f"Paired on the same {metrics.comparisons[0].n:,} test reviews: McNemar's exact test on the reviews only "
        "one model gets right, and a bootstrap 95% interval of the accuracy difference (points). A p-value above "
        "0.05 and an interval that spans 0 mean the test set cannot tell the two apart."
    )
    if metrics.ensembles:
        rows = [
            {"ensemble": display_name(k), "members": ", ".join(e.members), "accuracy": e.test.accuracy, "F1": e.test.f1}
            for k, e in metrics.ensembles.items()
        ]
        st.dataframe(pd.DataFrame(rows).style.format({"accuracy": "{:.2%}", "F1": "{:.2%}"}), hide_index=True)
        st.caption("Ensembles average their members' P(positive): a different kind of model, not a single cell.")


def _load_review(review_id: str, source: str, options: str) -> None:
    """Puts a test review into the explore tab's text box and opens that tab."""
    st.session_state.review = st.session_state.the_review = test_reviews(source, options)[review_id]
    st.session_state.example = "(your own)"
    st.session_state.tab = TABS[0]


def disagreements(metrics: RunMetrics) -> None:
    """Test reviews where the first two models disagree, and where both are confidently wrong."""
    predictions = _read_predictions(
        os.path.join(MODELS_DIR, PREDICTIONS), _mtime(os.path.join(MODELS_DIR, PREDICTIONS))
    )
    st.subheader("Where the models disagree")
    names = [n for n in metrics.models if predictions and n in predictions["probs"]][:2]
    if predictions is None or len(names) < 2:
        st.info(
            f"No test predictions of two models in `{MODELS_DIR}/{PREDICTIONS}`: train.py writes them "
            f"(for models an older train.py saved: `python -m sentiment.evaluate {MODELS_DIR} --data PATH`)."
        )
        return
    a, b = names
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
    tables = {
        f"{a.upper()} and {b.upper()} disagree: {disagree.sum():,} of {len(labels):,} test reviews "
        f"({a.upper()} right on {np.sum(disagree & (p_true_a > 0.5)):,} of them)": frame[disagree]
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
    source = data_source(metrics)
    for i, (title, table) in enumerate(tables.items()):
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
        if source is None:
            st.caption(
                "The review texts are not on this machine (the run read "
                f"`{metrics.options.get('data') or 'tensorflow-datasets'}`): set SENTIMENT_DATA to the aclImdb "
                "folder or archive to open them."
            )
            continue
        choice = st.selectbox("Review", list(table["review"]), key=f"pick_{i}", label_visibility="collapsed")
        st.button(
            "Explain this review",
            key=f"load_{i}",
            on_click=_load_review,
            args=(choice, source, json.dumps(metrics.options, sort_keys=True, default=str)),
            help="Opens it in the Explore tab",
        )


def _median_at(analysis: dict, name: str, state: str, kind: str, distance: int) -> float | None:
    p = analysis["models"][name][state]["reach"][kind]
    return p["median"][p["distance"].index(distance)] if distance in p["distance"] else None


def why_gates(models: dict, metrics: RunMetrics | None) -> None:
    """The argument for gates, measured: accuracy by length, how far back the
    gradient reaches (this review and 500 test reviews), what the gates keep,
    gradient norms in training, gate saturation."""
    st.markdown(
        "Our reference notes make one argument above all: back-propagation through time multiplies one factor per "
        "step. The Elman RNN's, ∂h_t/∂h_t−1 = diag(1−h_t²)·W, shrinks (or grows) the gradient geometrically, so "
        "words far from the end hardly teach it; the LSTM's additive cell, c' = f⊙c + i⊙c̃ (∂c_t/∂c_t−1 = "
        "diag(f_t)), and the GRU's h' = (1−z)⊙h + z⊙h̃ pass it on wherever the gates stay open. The views below "
        "measure that on real reviews, with textbook models: one direction, the final state alone feeds the "
        "classifier (the main models' max-and-mean pooling gives every word a short path and hides the effect)."
    )
    lesson, lesson_metrics, problem = load_run(LESSON_DIR)
    if not lesson or lesson_metrics is None:
        st.info(
            f"No last-state models in `{LESSON_DIR}/` ({problem or 'no .keras files'}). Train them with\n\n```\n"
            "python train.py --data PATH --cells elman jordan lstm gru --pooling last --no-bidirectional "
            f"--adversarial 0 --out {LESSON_DIR}\n```"
        )
        return
    accuracy_by_length(lesson_metrics, metrics)
    text = st.session_state.get("the_review", EXAMPLES["Clearly positive"])[:MAX_CHARS]
    readings = read_lesson(lesson, text) if text.strip() else {}
    if readings:
        reach_this_review(readings)
    analysis_path = os.path.join(LESSON_DIR, ANALYSIS)
    analysis = _read_json(analysis_path, _mtime(analysis_path))
    if analysis is None:
        st.info(f"No `{analysis_path}` yet: `python -m sentiment.gradients {LESSON_DIR} --data PATH` writes it.")
    else:
        reach_on_average(analysis)
    if readings:
        kept_in_memory(readings)
    gradient_norms(lesson_metrics)
    if analysis is not None:
        gate_saturation(analysis)


def accuracy_by_length(lesson_metrics: RunMetrics, metrics: RunMetrics | None) -> None:
    st.subheader("Accuracy by review length")
    results = {f"{n.upper()} (last state)": m.test for n, m in lesson_metrics.models.items()}
    if metrics is not None:
        results |= {f"{n.upper()} (pooled, bidirectional)": m.test for n, m in metrics.models.items()}
        results |= {f"{display_name(k)} baseline": b.test for k, b in metrics.baselines.items()}
    chart = why_charts.by_length_chart(results)
    if chart is None:
        st.info("These metrics have no accuracy by length: retrain, or run `python -m sentiment.evaluate`.")
        return
    st.altair_chart(chart, width="content")
    st.caption("What to look for: if vanishing gradients hurt, last-state models lose accuracy as reviews grow.")
    # The 401-800 bucket: the longest the models read whole (they read 800 tokens).
    longest = {name: t.by_length[-2] for name, t in results.items() if len(t.by_length) >= 2}
    longest = {name: b for name, b in longest.items() if b.n and b.accuracy is not None}
    if longest:
        ranked = sorted(longest.items(), key=lambda kv: -kv[1].accuracy)
        st.caption(
            f"On the {ranked[0][1].n:,} test reviews of {ranked[0][1].label} tokens: "
            + ", ".join(f"{name} {100 * b.accuracy:.1f}%" for name, b in ranked)
            + ". (The models read 800 tokens: the first 200 and the last 600 of a longer review.)"
        )


def _gated(model) -> bool:
    return recurrent_cell_name(model) in ("lstm", "gru")


def read_lesson(lesson: dict, text: str) -> dict[str, tuple[Reach | ValueError, Trace | ValueError | None]]:
    """Every lesson model's gradient reach on ``text`` and, for the gated
    ones, the trace retention reads: side by side once compiled."""
    calls = {}
    for name, (path, model) in lesson.items():
        calls[name, "reach"] = lambda path=path: reach_review(path, _mtime(path), text)
        if _gated(model):
            calls[name, "trace"] = lambda path=path: trace_review(path, _mtime(path), text)
    ready = all(compiled(m, "reach", *(["trace"] if _gated(m) else [])) for _, m in lesson.values())
    with st.spinner("Following the gradient back ..."):
        out = side_by_side(calls, ready)
    return {name: (out[name, "reach"], out.get((name, "trace"))) for name in lesson}


def reach_this_review(readings: dict) -> None:
    st.subheader("How far back the gradient reaches: this review")
    for name, (reach, _) in readings.items():
        if isinstance(reach, ValueError):
            st.warning(f"{name.upper()}: {reach}")
            return
    reaches = {name.upper(): reach for name, (reach, _) in readings.items()}
    left, right = st.columns(2)
    with left:
        st.markdown("**Through everything**: ∂logit/∂(word vector)")
        st.altair_chart(why_charts.reach_chart(reaches, "embedding"), width="content")
    with right:
        st.markdown("**Through the recurrence alone**: ∂(w·h_T)/∂(state at t)")
        st.altair_chart(why_charts.reach_chart(reaches, "recurrence"), width="content")
    st.caption(
        "The review from the explore tab. Each curve is divided by its value at the last word; log scales, so a "
        "geometric decay (the Elman RNN's textbook fate) is a straight line falling. w is the direction the "
        "classifier reads the final state in; 'state' is everything the cell carries (for the LSTM, h and c)."
    )


def reach_on_average(analysis: dict) -> None:
    st.subheader(f"How far back the gradient reaches: {analysis['reviews']} test reviews")
    kind = st.radio(
        "Gradient",
        ["through the recurrence alone", "through everything (word vectors)"],
        horizontal=True,
        key="reach_kind",
    )
    key = "recurrence" if kind.startswith("through the recurrence") else "embedding"
    st.altair_chart(why_charts.reach_profile_chart(analysis, key), width="content")
    names = list(analysis["models"])
    at = {n: (_median_at(analysis, n, "trained", key, 32), _median_at(analysis, n, "initial", key, 32)) for n in names}
    st.caption(
        "Median (line) and middle half (band) over the reviews, by distance from the end; trained models beside the "
        "same architectures at initialisation (Glorot input weights, orthogonal recurrent weights, the LSTM's "
        "forget bias at 1), untrained. What is left 32 tokens back, trained / untrained: "
        + ", ".join(f"{n.upper()} {t:.2g} / {i:.2g}" for n, (t, i) in at.items() if t is not None and i is not None)
        + ". Read it as measured, not as the textbook says: which curve falls fastest is an outcome of training."
    )


def kept_in_memory(readings: dict) -> None:
    gated = {n: t for n, (_, t) in readings.items() if t is not None}
    if not gated:
        return
    st.subheader("What the gates keep")
    st.caption(
        "For each word, the share of what the cell wrote there that is still in memory at the end, straight from "
        "the gates: the product of the forget gates after it, ∏f (LSTM: c' = f⊙c + i⊙c̃), or of (1−z) (GRU: "
        "h' = (1−z)⊙h + z⊙h̃); the mean over units. The Elman and Jordan cells have no such gate: they rewrite "
        "their whole state at every word."
    )
    for name, t in gated.items():
        if isinstance(t, ValueError):
            continue
        kept = retention(t)
        for label, values in kept.items():
            st.markdown(f"**{name.upper()}** ({label})")
            st.markdown(why_charts.retention_text(t.tokens, values, 0, min(len(t.tokens), 300)), unsafe_allow_html=True)


def gradient_norms(lesson_metrics: RunMetrics) -> None:
    chart = why_charts.grad_norm_chart(lesson_metrics)
    if chart is None:
        return
    st.subheader("Exploding gradients and clipping, in training")
    st.altair_chart(chart, width="content")
    shares = {
        n.upper(): m.history.get("clipped_share", [])
        for n, m in lesson_metrics.models.items()
        if m.history.get("clipped_share")
    }
    st.caption(
        "The global gradient norm before clipping, per epoch: the median step and the largest. Spikes far above the "
        "median are the exploding side of the same product of Jacobians; clipping (each weight's gradient to norm "
        f"{next(iter(lesson_metrics.models.values())).fit_config.get('clipnorm')}) caps them. Share of steps clipped, "
        "by epoch: " + "; ".join(f"{n} " + ", ".join(f"{s:.0%}" for s in v) for n, v in shares.items()) + "."
    )


def gate_saturation(analysis: dict) -> None:
    chart = why_charts.saturation_chart(analysis)
    if chart is None:
        return
    st.subheader("Gate saturation")
    st.altair_chart(chart, width="content")
    st.caption(
        f"Each dot is a unit: how often, over the tokens of {analysis['reviews']} test reviews, its gate is nearly "
        "shut (< 0.1) and nearly open (> 0.9) (Karpathy, Johnson and Fei-Fei 2015). Units near the top left are "
        "open gates: a forget gate there keeps its memory across long stretches; dots near the origin are gates "
        "that interpolate. A saturated gate passes gradient exactly where it passes memory."
    )


def main() -> None:
    if XLA_CACHE != "":
        keep_compiled_programs(XLA_CACHE or None)  # before the first compile; a no-op after
    st.set_page_config(page_title="Inside LSTM and GRU gates", layout="wide")
    st.title("Inside LSTM and GRU gates")
    st.caption(
        "Sentiment classifiers on IMDB reviews, built from LSTM and GRU cells written from their gate "
        "equations. Type a review and watch, token by token, what each gate lets through."
    )
    models, metrics, metrics_problem = load_run(MODELS_DIR)
    if not models:
        st.warning(
            f"No models found in `{MODELS_DIR}/`. Train them first:\n\n"
            "```\npython train.py --data ../shared/data/aclImdb_v1_labeled.tar.gz\n```"
        )
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
                disagreements(metrics)
    if why_tab.open:
        with why_tab:
            why_gates(models, metrics)


main()
