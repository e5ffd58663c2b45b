"""The ablation on IMDB: each arm trained in the lesson models' setting (one
direction, the final state alone feeds the classifier, their size, dropout,
learning rate and clipping, read from the lesson run's metrics.json), on a
fixed subset of the lesson run's training reviews for fewer epochs where the
grid says so (every arm, the full cells too, the same way), with the lesson
models' vocabulary; then scored on the test reviews (accuracy by length) and
on the behavioural suite (`sentiment.experiments.suite`).

The reviews are read and tokenized once, when `ImdbTrainer` is made: the
command makes it only when an IMDB run is due.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
import time

import keras

from sentiment.core.files import file_hash
from sentiment.data.batches import batches, token_counts, token_ids
from sentiment.data.splits import limit
from sentiment.evaluation.metrics import classification_metrics
from sentiment.evaluation.predictions import predict_texts, predict_token_ids
from sentiment.evaluation.results import RunMetrics
from sentiment.evaluation.run_data import RunData
from sentiment.experiments.ablation_arms import apply_start
from sentiment.experiments.ablation_config import AblationConfig
from sentiment.experiments.ablation_results import Arm, ImdbSetting, model_file
from sentiment.experiments.suite import build_suite
from sentiment.experiments.suite_results import run_suite
from sentiment.network.model import (
    ModelConfig,
    build_model,
    classifier_of,
    load_model,
    make_vectorizer,
    preprocessor,
    save_model,
    vocabulary_of,
)
from sentiment.training.fit import FitConfig, fit

PREPROCESSING = ("vocab_size", "max_length", "head")  # what every lesson model reads its reviews with


def lesson_settings(lesson: RunMetrics, cells: list[str], folder: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """({cell: model_config}, {cell: fit_config}) of the lesson models of ``cells``
    (the lesson run's metrics, read from ``folder``).

    Raises:
        ValueError: the lesson run has no model of one of ``cells``, or its models read reviews differently.
    """
    models = lesson.models
    missing = [cell for cell in cells if cell not in models]
    if missing:
        raise ValueError(
            f"The lesson run in {folder} has no {', '.join(missing)} model (it has {', '.join(models)}): "
            "train it with `python train.py --config configs/lesson.toml --data PATH`, or leave the cell out (--cells)."
        )
    configs = {cell: dict(models[cell].model_config) for cell in cells}
    read = {tuple(c.get(k) for k in PREPROCESSING) for c in configs.values()}
    if len(read) > 1:
        raise ValueError(f"The lesson models of {', '.join(cells)} read reviews differently ({sorted(read)}).")
    return configs, {cell: dict(models[cell].fit_config) for cell in cells}


class ImdbTrainer:
    """The lesson run's reviews, tokenized once, and `train`, one arm with one seed."""

    def __init__(
        self, splits: RunData, settings: tuple[dict, dict], vocabulary_from: str, config: AblationConfig,
        models: str | None,
    ):  # fmt: skip
        """``splits``: the lesson run's reviews, made again; ``settings``: its
        models' (`lesson_settings`); ``vocabulary_from``: one of its model files;
        ``models``: the folder the first seed's models are kept in (None: none kept)."""
        start = time.perf_counter()
        self.model_configs, self.fit_configs = settings
        cells = list(self.model_configs)
        self.models, self.epochs = models, config.imdb_epochs
        self.base_seed = splits.seed
        self.train_split = limit(splits.train, config.imdb_reviews or None, splits.seed)
        self.val, self.test = splits.val, limit(splits.test, config.imdb_test_reviews or None, splits.seed)
        # The lesson models share their run's vocabulary (adapted on its whole training split): so do the arms.
        self.vocabulary = vocabulary_of(load_model(vocabulary_from))
        base = ModelConfig(**self.model_configs[cells[0]])
        to_ids = preprocessor(base, self.vocabulary)
        self.ids = {
            part: token_ids(list(split.texts), to_ids)
            for part, split in (("train", self.train_split), ("val", self.val), ("test", self.test))
        }
        self.test_lengths = token_counts(list(self.test.texts), make_vectorizer(base.vocab_size, self.vocabulary))
        self.cases = build_suite()
        whole = len(splits.train)
        subset = (
            f"a fixed, class-balanced {len(self.train_split):,} of the lesson run's {whole:,} training reviews"
            if len(self.train_split) < whole
            else f"all {whole:,} of the lesson run's training reviews"
        )
        lesson_epochs = sorted({int(f.get("epochs", 0)) for f in self.fit_configs.values()})
        self.setting = ImdbSetting(
            source=splits.source,
            train_reviews=len(self.train_split),
            validation_reviews=len(self.val),
            test_reviews=len(self.test),
            epochs=self.epochs,
            model_config=self.model_configs,
            fit_config=self.fit_configs,
            note=(
                f"Every model here, the full cells too, trained the same way: {subset}, {self.epochs} "
                f"epoch{'s' * (self.epochs > 1)} (the lesson models: all of them, "
                f"{'/'.join(map(str, lesson_epochs))} epochs), the lesson models' size, "
                "dropout, learning rate and clipping, one direction, the final state alone read; so compare a "
                "variant with the full cell of this table, not with the lesson models' figures."
            ),
        )
        print(
            f"IMDB: {len(self.train_split):,} training, {len(self.val):,} validation, {len(self.test):,} test reviews "
            f"tokenized ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )

    def train(self, arm: Arm, seed: int) -> dict:
        """``arm`` trained with ``seed`` (initial weights, dropout, batch order; the
        reviews stay the same): its ImdbRun as JSON, and its model kept for the
        first seed."""
        config = ModelConfig(**{**self.model_configs[arm.cell], "cell": arm.spec, "seed": seed}).validate()
        fitting = {f.name for f in dataclasses.fields(FitConfig)}
        recorded = {k: v for k, v in self.fit_configs[arm.cell].items() if k in fitting}
        fit_config = FitConfig(**{**recorded, "epochs": self.epochs, "seed": seed})
        keras.utils.set_random_seed(seed)
        model = build_model(config, self.vocabulary)
        apply_start(classifier_of(model), arm.start, config.max_length, seed)
        train_ds = batches(self.ids["train"], self.train_split.labels, fit_config.batch_size, shuffle=True, seed=seed)
        val_ds = batches(self.ids["val"], self.val.labels, 256, shuffle=False)
        stem = model_file(arm.name)[: -len(".keras")]
        with tempfile.TemporaryDirectory(prefix="ablation-") as workdir:  # fit's checkpoints and logs: not kept
            result = fit(model, train_ds, val_ds, fit_config, workdir, stem)
        test = classification_metrics(
            self.test.labels, predict_token_ids(classifier_of(model), self.ids["test"]), self.test_lengths
        )
        scores = run_suite(functools.partial(predict_texts, model), self.cases)
        file = sha256 = None
        if self.models is not None and seed == self.base_seed:
            path = os.path.join(self.models, model_file(arm.name))
            save_model(model, path)
            file = os.path.join(os.path.basename(self.models), model_file(arm.name))
            sha256 = file_hash(path)
        return {
            "arm": arm.name,
            "seed": seed,
            "test": dataclasses.asdict(test),
            "best_val_accuracy": result.val_accuracy_at_best(),
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch or result.epochs_run,
            "parameters": int(model.count_params()),
            "train_seconds": round(result.seconds, 1),
            "suite": scores.rates(self.cases),
            "file": file,
            "sha256": sha256,
        }
