"""What every tab is given: `Context`, made once per page run by app.py.

A tab is a module with a ``TITLE`` and a ``render(ctx)``; app.py lists the
tabs, and a tab reads everything it needs from its context (the settings, the
run, the models that loaded, the explore tab's review and its first answer)
and reaches the explore tab through ``ctx.open_in_explore``, never through
another tab. It is made after the first answer: making it loads the models.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from sentiment.app import loaders, state
from sentiment.app.first_answer import FirstAnswer
from sentiment.app.settings import Settings
from sentiment.evaluation.results import RunMetrics
from sentiment.run import Run


@dataclass(frozen=True)
class Context:
    settings: Settings
    run: Run  # the models' folder, and its lesson models'
    models: dict  # {name: (path, Keras model)}: every model of the run's folder that loaded
    metrics: RunMetrics | None  # None where metrics.json cannot be read: ``metrics_problem`` says why
    metrics_problem: str | None
    review: str  # the explore tab's review (kept across tabs)
    explore_title: str
    answer: FirstAnswer | None  # the explore tab down to its NumPy verdicts, drawn before (None: another tab is open)

    def open_in_explore(self, text: str) -> None:
        """Puts ``text`` into the explore tab and opens it (a button's callback)."""
        state.open_review(text, self.explore_title)

    @property
    def test_reviews_here(self) -> bool:
        """Whether the run's test reviews can be read on this machine (to open one by its id)."""
        return self.metrics is not None and loaders.data_source(self.run, self.settings.data) is not None

    def open_test_review(self, review_id: str) -> None:
        """Puts test review ``review_id`` into the explore tab and opens it (a button's callback)."""
        self.open_in_explore(loaders.test_review(self.run, self.metrics, self.settings.data, review_id))


def make_context(settings: Settings, explore_title: str, answer: FirstAnswer | None = None) -> Context:
    """The page run's context; a model file that does not load is named on the page, the others still work."""
    run = Run(settings.models, settings.lesson)
    models, errors = loaders.load_models(run.folder)
    metrics, problem = loaders.metrics(run.folder)
    for file, message in errors.items():
        st.error(f"**{file}** could not be loaded: {message}")
    return Context(settings, run, models, metrics, problem, state.review(), explore_title, answer)
