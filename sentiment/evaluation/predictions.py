"""Every model's P(positive) for every test review: predicted in batches
sorted by length, and kept beside metrics.json as test_predictions.npz (the
paired tests, the ensembles and the app's disagreement browser read it)."""

from __future__ import annotations

import numpy as np

from sentiment.core.files import atomic_path
from sentiment.data.batches import StreamedIds, batches, token_ids
from sentiment.network.model import classifier_of, text_to_ids

PREDICTIONS = "test_predictions.npz"  # beside metrics.json
SST_PREDICTIONS = "sst_test_predictions.npz"  # SST-2's test sentences, where the run was given --sst


def save_test_predictions(
    path, ids: list[str], labels: np.ndarray, lengths: np.ndarray, probs: dict[str, np.ndarray]
) -> None:
    """test_predictions.npz: each review's id, label, length and every model's
    P(positive), compressed (about 0.4 MB for 25,000 reviews), written atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                ids=np.asarray(ids),
                labels=np.asarray(labels, "int8"),
                lengths=np.asarray(lengths, "int32"),
                **{f"p_{name}": np.asarray(p, "float32") for name, p in probs.items()},
            )


def load_test_predictions(path) -> dict:
    """{"ids", "labels", "lengths", "probs": {model: P(positive)}} from test_predictions.npz."""
    with np.load(path, allow_pickle=False) as f:
        return {
            "ids": [str(x) for x in f["ids"]],
            "labels": f["labels"].astype(int),
            "lengths": f["lengths"],
            "probs": {k[2:]: f[k] for k in f.files if k.startswith("p_")},
        }


def predict_token_ids(classifier, ids: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """P(positive) for each review's token ids, in the order given.

    ``classifier`` maps padded token ids to P(positive) (a model's
    ``classifier`` part). Inside, the reviews are batched sorted by length
    (little padding); the probabilities come back in the caller's order.
    """
    if not len(ids):
        return np.zeros(0, "float32")
    if isinstance(ids, StreamedIds):  # a streamed table: batches in the file's order, read as they are used
        ds = batches(ids, np.zeros(len(ids)), batch_size, shuffle=False)
        return classifier.predict(ds.map(lambda x, y: x), verbose=0)[:, 0]
    order = np.argsort([max(len(x), 1) for x in ids], kind="stable")
    # batches() sorts evaluation batches by the same key, stably: in this order already, it keeps it.
    ds = batches([ids[i] for i in order], np.zeros(len(ids), "int32"), batch_size, shuffle=False)
    in_order = classifier.predict(ds.map(lambda x, y: x), verbose=0)[:, 0]
    probs = np.empty_like(in_order)
    probs[order] = in_order
    return probs


def predict_texts(model, texts) -> np.ndarray:
    """A full model's P(positive) for each of ``texts`` (a list, or a streamed
    table's texts): tokenized once, then predicted in batches sorted by length."""
    return predict_token_ids(classifier_of(model), token_ids(texts, text_to_ids(model)))
