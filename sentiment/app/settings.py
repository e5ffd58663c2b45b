"""Where the app finds its models and data: environment variables.

    SENTIMENT_MODELS    the folder of models (default: saved_models)
    SENTIMENT_LESSON    the last-state models of "Why gates?" (default: <models>/lesson)
    SENTIMENT_DATA      where the test reviews are (default: the --data the models were trained on)
    SENTIMENT_XLA_CACHE where compiled programs are kept between starts (default: ~/.cache/sentiment;
                        empty: nowhere)

Read at every page run, so that a test (or a second app in one process) can
point the app elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    models: str
    lesson: str
    data: str | None
    xla_cache: str | None  # None: the default folder; "": keep nothing


def from_environment() -> Settings:
    models = os.environ.get("SENTIMENT_MODELS", "saved_models")
    return Settings(
        models=models,
        lesson=os.environ.get("SENTIMENT_LESSON", os.path.join(models, "lesson")),
        data=os.environ.get("SENTIMENT_DATA"),
        xla_cache=os.environ.get("SENTIMENT_XLA_CACHE"),
    )
