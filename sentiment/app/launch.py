"""``python app.py``: Streamlit's server started at once, in this process,
while a thread loads TensorFlow, the models and their compiled passes.

`streamlit run app.py` runs no app code before a browser connects, so its
first page waits for TensorFlow to load (seconds) and the models after it.
Started here, the server listens within a second and everything the first
page needs is loading meanwhile; each page then runs app.py, as under
`streamlit run`, and finds the models (`sentiment.app.warmup`) ready or on
their way.
"""

from __future__ import annotations

import os
import sys
import threading

from sentiment.app.settings import Settings, from_environment


def warm_up(settings: Settings) -> None:
    """Where compiled programs are kept (before the first compile), and every
    model queued to load and compile: those of the explore tab first."""
    # TensorFlow loads here, in this thread, while the server starts (seconds): not at this module's import.
    from sentiment.analysis.passes import keep_compiled_programs
    from sentiment.app import loaders

    if settings.xla_cache != "":
        keep_compiled_programs(settings.xla_cache or None)  # a no-op once a cache is set
    loaders.warmup().start(loaders.model_files(settings.models), loaders.model_files(settings.lesson))


def serve(script: str) -> int:
    """Serves ``script`` (app.py) as ``streamlit run`` would, its options
    taken from the command line, with `warm_up` under way."""
    threading.Thread(target=warm_up, args=(from_environment(),), name="sentiment-start", daemon=True).start()
    from streamlit.web import cli  # Streamlit's command line, while the thread loads TensorFlow

    sys.argv = ["streamlit", "run", os.path.abspath(script), *sys.argv[1:]]
    return cli.main()
