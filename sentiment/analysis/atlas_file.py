"""The unit atlas's file: what `sentiment.analysis.atlas` builds, written
beside its model (``<model>.atlas.npz``) with the model file's hash, so that
an atlas of another version of the model is never shown as current. No
TensorFlow here: the app reads an atlas before the models are loaded."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from sentiment.core.files import atomic_path, file_hash

FORMAT = 1  # of the atlas file


class AtlasError(ValueError):
    """An atlas that is missing, unreadable, of another format or of another version of its model."""


def atlas_path(model_path: str | os.PathLike) -> str:
    """``lstm.keras`` -> ``lstm.atlas.npz``, beside it."""
    return os.path.splitext(os.fspath(model_path))[0] + ".atlas.npz"


@dataclass
class Atlas:
    """What every unit of a model's last recurrent layer does over a sample of reviews.

    Arrays are indexed (quantity, direction, unit, ...) in the order of
    ``quantities`` and ``directions``; a position is (review, token) in the
    test sample, whose token ids are ``review_ids``'s reviews' own.
    """

    meta: dict  # model file, hash, cell, sample sizes, seconds, pooling
    quantities: list[str]
    directions: list[str]
    top_values: np.ndarray  # (Q, D, U, TOP)
    top_contexts: np.ndarray  # (Q, D, U, TOP, 2 * CONTEXT + 1) token ids, 0 past a review's ends
    top_reviews: np.ndarray  # (Q, D, U, TOP) index into review_ids
    pooled_by_label: np.ndarray  # (Q, D, U, 2) mean pooled value of negative, positive reviews
    histograms: np.ndarray  # (Q, D, U, 2, BINS) pooled values' counts by label
    edges: np.ndarray  # (Q, BINS + 1)
    correlation: np.ndarray  # (D, U) of the hidden state's pooled value with the label
    threshold: np.ndarray  # (D, U) the best single threshold (chosen on validation)
    sign: np.ndarray  # (D, U) +1: positive above the threshold; -1: below
    threshold_accuracy: np.ndarray  # (D, U) its test accuracy
    classifier_weights: np.ndarray  # (D, U, W) the classifier's weights on the unit's pooled features
    weight_names: list[str]  # what each of W reads: "max", "mean" or "final"
    probe: dict[str, float]  # units read ("1", ..., "all") -> test accuracy
    probe_order: np.ndarray  # (D * U,) flat units, best single threshold first
    factors: np.ndarray  # (factors, features): NMF components over [relu(h), relu(-h)]
    factor_top_contexts: np.ndarray  # (factors, TOP, 2 * CONTEXT + 1)
    factor_top_values: np.ndarray  # (factors, TOP)
    corpus_hidden: np.ndarray  # (tokens, D * U) int8: round(127 h)
    corpus_ids: np.ndarray  # (tokens,) the tokens
    corpus_offsets: np.ndarray  # (reviews + 1,) where each kept review starts
    review_ids: list[str] = field(default_factory=list)  # the test sample's reviews, as the data names them

    @property
    def units(self) -> int:
        return self.top_values.shape[2]

    def index(self, name: str) -> int:
        return self.quantities.index(name)


# -- the file -------------------------------------------------------------------------------------------


_ARRAYS = (
    "top_values", "top_contexts", "top_reviews", "pooled_by_label", "histograms", "edges", "correlation", "threshold",
    "sign", "threshold_accuracy", "classifier_weights", "probe_order", "factors", "factor_top_contexts",
    "factor_top_values", "corpus_hidden", "corpus_ids", "corpus_offsets",
)  # fmt: skip


def save_atlas(atlas: Atlas, model_path: str | os.PathLike) -> str:
    """Writes the atlas beside the model (whole or not at all); its path."""
    path = atlas_path(model_path)
    header = {
        "format": FORMAT,
        "meta": {
            **atlas.meta,
            "model_file": os.path.basename(os.fspath(model_path)),
            "model_hash": file_hash(model_path),
        },
        "quantities": atlas.quantities,
        "directions": atlas.directions,
        "weight_names": atlas.weight_names,
        "probe": atlas.probe,
        "review_ids": atlas.review_ids,
    }
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, header=np.asarray(json.dumps(header)), **{k: getattr(atlas, k) for k in _ARRAYS})
    return path


def load_atlas(model_path: str | os.PathLike) -> Atlas:
    """The atlas beside ``model_path``.

    Raises:
        AtlasError: it is missing, unreadable, of another format, or made
            from another version of the model file; the message says which
            command rebuilds it.
    """
    path = atlas_path(model_path)
    rebuild = f"`python -m sentiment units {os.path.dirname(os.path.abspath(model_path))} --data PATH` rebuilds it"
    if not os.path.isfile(path):
        raise AtlasError(f"No unit atlas for {os.path.basename(os.fspath(model_path))} yet: {rebuild}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            header = json.loads(str(f["header"]))
            arrays = {k: f[k] for k in _ARRAYS}
    except (OSError, ValueError, KeyError) as err:
        raise AtlasError(f"{path} cannot be read ({type(err).__name__}: {str(err)[:200]}): {rebuild}.") from err
    if header.get("format") != FORMAT:
        raise AtlasError(
            f"{path} is of another format ({header.get('format')!r}, this code reads {FORMAT}): {rebuild}."
        )
    if header["meta"].get("model_hash") != file_hash(model_path):
        raise AtlasError(
            f"{path} was made from another version of {os.path.basename(os.fspath(model_path))}: {rebuild}."
        )
    return Atlas(
        meta=header["meta"],
        quantities=header["quantities"],
        directions=header["directions"],
        weight_names=header["weight_names"],
        probe=header["probe"],
        review_ids=header["review_ids"],
        **arrays,
    )
