"""A run folder as one object.

``train.py`` writes a folder (metrics.json, a ``<cell>.keras`` per cell,
test_predictions.npz, report.md); the commands that measure a run afterwards
add their result files to it (suite.json and suite_previous.json, why_gates.json, a
``<model>.atlas.npz`` per model), and the last-state lesson models of "Why
gates?" live in a run of their own beside it (``lesson/``, with memory.json,
and ablation.json with its models in ``ablation/``).
`Run` names every one of these files once, reads each as a typed class, and
says, when one is missing or stale, which command makes it.

Everything a command needs is checked before it starts (`Run.check`,
`Run.data_source`): a long command never meets a bad argument halfway, and
never writes a result made without part of its inputs.

No TensorFlow at import: the app reads a run's files before its models are
loaded; `Run.models` loads TensorFlow when it is first asked for a model.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from sentiment.analysis.atlas_file import Atlas, load_atlas
from sentiment.analysis.why_gates_results import RESULTS as WHY_GATES
from sentiment.analysis.why_gates_results import WhyGatesResults, load_why_gates
from sentiment.core.files import file_hash
from sentiment.data.imdb import check_source
from sentiment.data.splits import DataError
from sentiment.evaluation.results import METRICS, RunMetrics, load_run_metrics
from sentiment.evaluation.run_data import RunData, run_data
from sentiment.experiments.ablation_results import RESULTS as ABLATION
from sentiment.experiments.ablation_results import AblationResults, load_ablation
from sentiment.experiments.memory_results import RESULTS as MEMORY
from sentiment.experiments.memory_results import MemoryResults, load_memory
from sentiment.experiments.suite_results import PREVIOUS as SUITE_PREVIOUS
from sentiment.experiments.suite_results import RESULTS as SUITE
from sentiment.experiments.suite_results import PreviousRates, SuiteResults, load_previous, load_suite, stale_files

LESSON = "lesson"  # the lesson models' folder, inside the main run's unless given


@dataclass(frozen=True)
class Run:
    """A folder train.py wrote (``folder``), and where its lesson models are.

    Reading is lazy: making a Run reads nothing; `metrics` reads metrics.json
    once (`MetricsFileError` says what is wrong and what to do).
    """

    folder: str
    lesson_folder: str = ""  # "": <folder>/lesson

    def __post_init__(self):
        object.__setattr__(self, "folder", os.fspath(self.folder))
        object.__setattr__(self, "lesson_folder", os.fspath(self.lesson_folder or os.path.join(self.folder, LESSON)))

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    @functools.cached_property
    def metrics(self) -> RunMetrics:
        return load_run_metrics(self.path(METRICS))

    def check(self) -> Run:
        """This Run, once metrics.json reads and every model it lists is a file here; else a ValueError saying which."""
        missing = [path for path in self.model_paths().values() if not os.path.isfile(path)]
        if missing:
            raise ValueError(
                f"{self.path(METRICS)} lists {', '.join(missing)}, which is not there: "
                "retrain (`python train.py --out FOLDER`) or point at the folder train.py wrote."
            )
        return self

    def model_paths(self) -> dict[str, str]:
        """{cell: its .keras file} of the models the run kept, in the run's order."""
        return {name: self.path(result.file) for name, result in self.metrics.models.items()}

    def models(self) -> dict:
        """{cell: the loaded Keras model} (`ModelLoadError` names a file that does not load)."""
        # TensorFlow loads here, when a model is first asked for: the app reads a run's files before it.
        from sentiment.network.model import load_model

        return {name: load_model(path) for name, path in self.model_paths().items()}

    @functools.cached_property
    def lesson(self) -> Run | None:
        """The lesson models' run, or None where its folder has no metrics.json."""
        lesson = Run(self.lesson_folder, lesson_folder=self.lesson_folder)
        return lesson if os.path.isfile(lesson.path(METRICS)) else None

    def data_source(self, data: str | None) -> str | None:
        """Where the run's reviews are: ``data`` (checked), else the --data the
        run was trained on where it is here; None: tensorflow-datasets (the run
        was trained from it). A `DataError` says what to pass instead."""
        if data is not None:
            check_source(data)
            return data
        recorded = self.metrics.options.get("data")
        if recorded is None:
            return None
        if not os.path.exists(recorded):
            raise DataError(
                f"The run in {self.folder} was trained on {recorded}, which is not here: pass --data PATH "
                "(the aclImdb folder or its .tar.gz, or the run's own table)."
            )
        return recorded

    def splits(self, data: str | None) -> RunData:
        """The run's train, validation and test reviews, made again as the run made them."""
        return run_data(self.metrics, self.data_source(data))

    # -- the result files the commands add -----------------------------------------------------------

    def suite(self) -> SuiteResults:
        """suite.json (`SuiteFileError` says what makes it)."""
        return load_suite(self.path(SUITE))

    def suite_previous(self) -> PreviousRates:
        """suite_previous.json: the rates of the models a retrain replaced (`SuiteFileError` where there are none)."""
        return load_previous(self.path(SUITE_PREVIOUS))

    def stale_in_suite(self, results: SuiteResults) -> list[str]:
        """The model files the suite was measured on that are missing or changed since."""
        return stale_files(results, self.folder)

    def why_gates(self) -> WhyGatesResults:
        """why_gates.json (`WhyGatesFileError` says what makes it)."""
        return load_why_gates(self.path(WHY_GATES))

    def memory(self) -> MemoryResults:
        """memory.json, beside the lesson models (`MemoryFileError` says what makes it)."""
        return load_memory(os.path.join(self.lesson_folder, MEMORY))

    def memory_path(self) -> str:
        return os.path.join(self.lesson_folder, MEMORY)

    def ablation(self) -> AblationResults:
        """ablation.json, beside the lesson models (`AblationFileError` says what makes it)."""
        return load_ablation(self.ablation_path())

    def ablation_path(self) -> str:
        return os.path.join(self.lesson_folder, ABLATION)

    def ablation_model(self, relative: str) -> str:
        """The path of an ablation model file, as its results name it (relative to the lesson folder)."""
        return os.path.join(self.lesson_folder, relative)

    def ablation_model_changed(self, relative: str, sha256: str) -> bool:
        """Whether an ablation model file is missing or not the one its figures were measured on."""
        path = self.ablation_model(relative)
        return not os.path.isfile(path) or file_hash(path) != sha256

    def atlas(self, name: str) -> Atlas:
        """The unit atlas of model ``name`` (`AtlasError` says what makes it)."""
        return load_atlas(self.model_paths()[name])
