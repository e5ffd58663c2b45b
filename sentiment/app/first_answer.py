"""The explore tab's first answer, drawn before TensorFlow has loaded: what
the models read in training, the review box, and each model's verdict from
its weights in NumPy (`sentiment.numpy_cells`: Keras's P(positive) within
1e-5, tested).

Importing TensorFlow alone takes seconds, and the verdicts used to wait for
it; reading two ``.keras`` files and running them in NumPy takes a fraction
of a second. So app.py draws this first, with nothing imported that loads
TensorFlow (a test runs the page in a fresh Python and checks), and only then
lets the warm-up load it. When Keras has the models, `settle` puts Keras's
verdict in each column: it confirms the NumPy one (the number stays, and the
column says "confirmed by Keras"), or, more than `TOLERANCE` away, replaces
it (and the column says so). A model the NumPy cells do not run (a cell
variant, a layer they do not know) waits for Keras, as every model once did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from sentiment import numpy_cells
from sentiment.analysis.verdict import Verdict, numpy_verdict
from sentiment.app import state
from sentiment.app.cache import File
from sentiment.app.settings import Settings
from sentiment.app.texts import text
from sentiment.evaluation.results import METRICS, MetricsFileError, RunMetrics, load_run_metrics

# The cells in the order of `sentiment.network.cells.CELLS` (a test holds them alike): importing it loads TensorFlow.
CELL_ORDER = ("lstm", "gru", "elman", "jordan")
# The NumPy and Keras verdicts agree within 1e-5 on every committed model; further apart, Keras's is shown.
TOLERANCE = 1e-4

PENDING = "From its weights in NumPy; Keras checks it once TensorFlow has loaded."
CONFIRMED = "From its weights in NumPy; confirmed by Keras."
WAITING = "read by Keras once TensorFlow has loaded (the NumPy cells do not run this model) ..."
KERAS_ONLY = "From Keras (the NumPy cells do not run this model)."

# -- what it reads: the run's model files and metrics.json ---------------------------------------------


def name_of(path: str) -> str:
    """A model's name on the page: its file's, without ``.keras``."""
    return os.path.basename(path)[: -len(".keras")]


def model_files(folder: str) -> list[str]:
    """The .keras files in ``folder``: those of the cells in the network's order, then the rest by name."""
    if not os.path.isdir(folder):
        return []
    names = [n for n in os.listdir(folder) if n.endswith(".keras") and not n.startswith(".")]

    def rank(name: str) -> tuple[int, str]:
        stem = name_of(name)
        return (CELL_ORDER.index(stem) if stem in CELL_ORDER else len(CELL_ORDER), name)

    return [os.path.join(folder, n) for n in sorted(names, key=rank)]


@st.cache_data(show_spinner=False, max_entries=4)
def _metrics(file: File) -> tuple[RunMetrics | None, str | None]:
    try:
        return load_run_metrics(file.path), None
    except MetricsFileError as err:  # missing, unreadable, an older version, malformed: it says which
        return None, str(err)


def metrics(folder: str) -> tuple[RunMetrics | None, str | None]:
    """(metrics or None, problem or None) from ``folder``/metrics.json."""
    return _metrics(File.at(os.path.join(folder, METRICS)))


# -- the verdicts in NumPy, cached by model file -------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=8)
def _numpy_model(file: File) -> numpy_cells.NumpyModel | numpy_cells.KerasFileError:
    try:
        return numpy_cells.load(file.path)
    except numpy_cells.KerasFileError as err:  # a model it does not run: Keras reads it
        return err


def _numpy_verdict(file: File, review: str) -> Verdict | ValueError | None:
    model = _numpy_model(file)
    if isinstance(model, numpy_cells.KerasFileError):
        return None
    try:
        return numpy_verdict(model, review)
    except ValueError as err:  # a review this model cannot read (no words): said in its place
        return ValueError(str(err))  # (a plain ValueError: a NoWordsError does not unpickle from the cache)


@st.cache_data(show_spinner=False, max_entries=256)
def _numpy_verdicts(files: tuple[File, ...], review: str) -> dict:
    return {file.path: _numpy_verdict(file, review) for file in files}


def numpy_verdicts(paths: list[str], review: str) -> dict[str, Verdict | ValueError | None]:
    """{name: each model's verdict on ``review`` in NumPy, or the ValueError that
    says why it has none, or None where the NumPy cells do not run the model}."""
    out = _numpy_verdicts(tuple(File.at(p) for p in paths), review)
    return {name_of(path): out[path] for path in paths}


# -- the page ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstAnswer:
    """The explore tab as `draw` left it, for its render to go on from."""

    review: str | None  # None: nothing to read (the box is empty)
    slots: dict  # {model name: its column's place for the verdict}
    verdicts: dict  # {model name: its verdict in NumPy, a ValueError, or None where Keras is to read it}


# The training rules of sentiment/data/rules.py, as the header names them.
RULE_WORDS = {"negation": "a sentence beside its negation", "contrast": '"X, but Y" read as Y'}


def trained_on(metrics: RunMetrics | None) -> str:
    """What the models read in training, in a sentence (where metrics.json says)."""
    if metrics is None:
        return ""
    s = metrics.sentences
    phrases = f", {s.train_phrases:,} short phrases of the Stanford Sentiment Treebank" if s and s.weight else ""
    rules = [RULE_WORDS.get(r, r) for r in metrics.options.get("rules") or []]
    made = f", sentences made from the reviews by rule ({'; '.join(rules)})" if rules else ""
    sst = f" On {s.test:,} single sentences (SST-2) they score {_sst_figures(metrics)}." if s else ""
    if phrases or made:
        return f"The models read in training {metrics.data.train:,} movie reviews of IMDB{phrases}{made}.{sst}"
    return (
        f"The models read {metrics.data.train:,} movie reviews of IMDB in training: long reviews, 230 words on "
        f"average.{sst} A sentence you type is not what they were trained on."
    )


def _sst_figures(metrics: RunMetrics) -> str:
    scores = metrics.sentences.scores
    return ", ".join(
        f"{name.upper()} {100 * scores[name].test.accuracy:.1f}%" for name in metrics.models if name in scores
    )


def review_input() -> str | None:
    """The example picker and the text box; the review to explain, or None."""
    review = state.review_box()
    if len(review) > state.MAX_CHARS:
        st.info(f"The review has {len(review):,} characters; the first {state.MAX_CHARS:,} are used.")
        review = review[: state.MAX_CHARS]
    if not review.strip():
        st.info(text("explore", "Empty"))
        return None
    return review


def show(slot, name: str, shown: Verdict | ValueError | None, note: str, warn: bool = False) -> None:
    """One model's column (``slot``, drawn anew): its verdict and P(positive),
    what it read of a long review, and where the verdict comes from (``note``;
    ``warn``: as a warning)."""
    with slot.container():
        if shown is None:
            st.info(f"**{name.upper()}**: {note}")
            return
        if isinstance(shown, ValueError):
            st.warning(f"**{name.upper()}**: {shown}")
        else:
            st.metric(f"{name.upper()} says", "positive" if shown.positive else "negative")
            st.progress(shown.probability, text=f"P(positive) = {shown.probability:.3f}")
            if shown.truncated:
                st.caption(
                    f"This review has {shown.total_tokens:,} words; the model reads {shown.tokens}: "
                    f"the first {shown.head} and the last {shown.tokens - shown.head}."
                )
        if note:
            (st.warning if warn else st.caption)(note)


def draw(settings: Settings) -> FirstAnswer:
    """The explore tab down to each model's verdict, from NumPy (no TensorFlow)."""
    st.caption(trained_on(metrics(settings.models)[0]))
    review = review_input()
    if review is None:
        return FirstAnswer(None, {}, {})
    paths = model_files(settings.models)
    verdicts = numpy_verdicts(paths, review)
    slots = {name_of(path): column.empty() for path, column in zip(paths, st.columns(len(paths)))}
    for name, slot in slots.items():
        v = verdicts[name]
        show(slot, name, v, WAITING if v is None else "" if isinstance(v, ValueError) else PENDING)
    return FirstAnswer(review, slots, verdicts)


def settled(numpy: Verdict | ValueError | None, keras: Verdict | ValueError | None) -> tuple:
    """What a model's column shows once Keras has read the review: ``(verdict, note, warn)``.

    Args:
        numpy: its first answer (None: the NumPy cells do not run the model).
        keras: Keras's (None: Keras could not load the model; the page names it above).
    """
    if keras is None:
        if numpy is None:
            return None, "could not be loaded (see above).", False
        return numpy, "Keras could not load this model (see above): this verdict is the NumPy cells' alone.", True
    if numpy is None:
        return keras, KERAS_ONLY, False
    if isinstance(numpy, ValueError) and isinstance(keras, ValueError):
        return keras, "", False
    if isinstance(numpy, Verdict) and isinstance(keras, Verdict):
        gap = abs(numpy.probability - keras.probability)
        if gap <= TOLERANCE:
            return numpy, CONFIRMED, False  # the same number stays: they agree to the digits shown
        said = f"P(positive) = {numpy.probability:.5f}, {gap:.1e} away"
    else:
        said = "no verdict" if isinstance(numpy, ValueError) else f"P(positive) = {numpy.probability:.5f}"
    return keras, f"Keras's verdict: its weights in NumPy gave {said}, beyond {TOLERANCE:g}. Please report it.", True


def settle(answer: FirstAnswer, keras: dict[str, Verdict | ValueError]) -> dict[str, Verdict]:
    """Each column once Keras has read the review (``keras``: {name: its
    verdict or a ValueError} of every model Keras loaded), confirmed or
    replaced, and said which; the verdicts Keras gave, which the rest explains."""
    for name, slot in answer.slots.items():
        show(slot, name, *settled(answer.verdicts[name], keras.get(name)))
    return {name: v for name, v in keras.items() if isinstance(v, Verdict)}
