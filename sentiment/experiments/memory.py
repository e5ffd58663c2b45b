"""How far each cell remembers: two experiments that vary the distance
between what decides a verdict and where the verdict is read.

1. **The textbook task** (Hochreiter and Schmidhuber 1997; Bengio, Simard and
   Frasconi 1994): a sequence is a polarity token (`POSITIVE` or `NEGATIVE`)
   followed by N distractors drawn from a neutral vocabulary; the label is the
   polarity, read from the final state. Each cell, last-state, 32 units, is
   trained the same way (the same optimizer, clipping, batches and number of
   steps) for each N and seed, on fresh sequences at every step. Recorded: test
   accuracy, the step at which the validation accuracy first reached 95%, and
   the gradient reach (the gradient of the logit with respect to the first
   token's vector, over that with respect to the last one's) at
   initialisation and after training.
2. **A real verdict, pushed away from the end**: short IMDB test reviews each
   model gets right with a clear verdict, with N tokens of neutral filler
   after them (or before them: position and distance told apart). The filler
   is sentences of other test reviews that an NBSVM fitted on the training
   reviews scores near 0.5. Recorded per model: accuracy against N, and the
   filler alone.

The models are the project's own (`build_classifier`, `build_model`, our
cells): nothing here is re-implemented.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict

import keras
import numpy as np
import tensorflow as tf

from sentiment.evaluation.predictions import predict_texts
from sentiment.experiments.memory_results import DISTANCES, TaskSettings
from sentiment.network.cells import CELLS as NETWORK_CELLS
from sentiment.network.model import EMBEDDING, ModelConfig, build_classifier
from sentiment.network.recurrent import Recurrent

# -- 1. the textbook task ------------------------------------------------------------------------------

POSITIVE, NEGATIVE = 1, 2  # token ids; 0 is padding
NEUTRAL = 50  # distractor tokens: ids 3 to 52
VOCAB = 3 + NEUTRAL
CELLS = tuple(sorted(NETWORK_CELLS, key=lambda name: NETWORK_CELLS[name].gated))  # the ungated ones first
GATED = tuple(name for name in CELLS if NETWORK_CELLS[name].chrono)  # those chrono initialisation can open
QUICK_DISTANCES = (2, 8)


FULL = TaskSettings()
QUICK = TaskSettings(units=4, embedding_dim=4, steps=30, batch=8, eval_every=10, eval_size=32, test_size=64)


def make_task(distance: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``size`` sequences of a polarity token and ``distance`` distractors,
    half of them positive (in a random order), and their labels (1: POSITIVE)."""
    labels = rng.permutation(np.arange(size) % 2)
    ids = rng.integers(3, VOCAB, (size, distance + 1))
    ids[:, 0] = np.where(labels == 1, POSITIVE, NEGATIVE)
    return ids.astype("int64"), labels.astype("float32")


def task_model(cell: str, settings: TaskSettings, seed: int) -> keras.Model:
    """The textbook many-to-one model of ``cell``: ids -> embedding -> one
    direction of our cell -> the final state -> sigmoid; no dropout."""
    config = ModelConfig(
        cell=cell, vocab_size=VOCAB, units=settings.units, embedding_dim=settings.embedding_dim,
        bidirectional=False, pooling="last", token_dropout=0.0, embedding_dropout=0.0, head_dropout=0.0, seed=seed,
    )  # fmt: skip
    keras.utils.set_random_seed(seed)
    return build_classifier(config.validate(), VOCAB)


def open_gates(classifier: keras.Model, horizon: int, seed: int) -> None:
    """Chrono initialisation (Tallec and Ollivier 2018): gate biases that make
    each unit keep its state for a time ``T ~ U[1, horizon - 1]`` drawn per
    unit; which gates, and with which sign, the cell says (`RecurrentCell.chrono`)."""
    cell = first_cell(classifier)
    keep = np.log(np.random.default_rng(seed).uniform(1, max(horizon - 1, 2), cell.units)).astype("float32")
    cell.bias.assign(cell.chrono_bias(np.asarray(cell.bias.numpy()), keep))


def set_gate_bias(classifier: keras.Model, gate: str, value: float) -> None:
    """Every unit's bias of ``gate`` at ``value`` (the LSTM's forget gate at 0
    rather than its default 1: the start Jozefowicz et al. 2015 improve on)."""
    cell = first_cell(classifier)
    if gate not in cell.gate_names:
        raise ValueError(f"{cell.name} has no {gate!r} gate to start: it has {', '.join(cell.gate_names)}.")
    bias = np.asarray(cell.bias.numpy()).copy()
    block = cell.gate_names.index(gate) * cell.units
    bias[block : block + cell.units] = value
    cell.bias.assign(bias)


def first_cell(classifier: keras.Model):
    """The cell of the model's first recurrent layer (the forward one of a bidirectional layer)."""
    layer = _first_recurrent_layer(classifier)
    return getattr(layer, "forward_layer", layer).cell


def _first_recurrent_layer(classifier: keras.Model) -> keras.layers.Layer:
    """The model's first recurrent layer (a Bidirectional wrapper, or our `Recurrent`)."""
    return next(layer for layer in classifier.layers if isinstance(getattr(layer, "forward_layer", layer), Recurrent))


def first_token_reach(classifier: keras.Model, ids: np.ndarray) -> float:
    """The median, over sequences, of |∂logit/∂x_0| / |∂logit/∂x_T|: how
    much of the gradient that reaches the last token's vector reaches the
    first's (the polarity token's), through the recurrence."""
    embedding = classifier.get_layer(EMBEDDING)
    # The mask the recurrent layer was called with (Keras lists it after the sequence): an input of the reader too.
    masks = keras.tree.flatten(_first_recurrent_layer(classifier).input)[1:]
    reader = keras.Model([embedding.output, *masks], classifier.output)
    vectors = tf.gather(embedding.embeddings, ids)
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        p = reader([vectors, *([tf.ones(ids.shape, tf.bool)] if masks else [])], training=False)[:, 0]
        logit = tf.math.log(p) - tf.math.log1p(-p)
    norms = tf.norm(tape.gradient(logit, vectors), axis=-1).numpy()
    return float(np.median(norms[:, 0] / np.maximum(norms[:, -1], 1e-30)))


def train_run(
    cell: str, distance: int, seed: int, settings: TaskSettings, chrono: bool = False, forget_bias: float | None = None
) -> dict:
    """One run: the model trained on fresh sequences at every step; its figures.
    ``chrono``: the gates' biases start open over the task's distance
    (`open_gates`); ``forget_bias``: the forget gate's bias starts there
    (`set_gate_bias`). The run stops early where ``settings.stop_at`` says."""
    rng = np.random.default_rng(seed)
    valid_x, valid_y = make_task(distance, settings.eval_size, np.random.default_rng(10_000 + seed))
    test_x, test_y = make_task(distance, settings.test_size, np.random.default_rng(20_000 + seed))
    model = task_model(cell, settings, seed)
    if chrono:
        open_gates(model, distance + 1, seed)
    if forget_bias is not None:
        set_gate_bias(model, "forget", forget_bias)
    jit = settings.jit_from is not None and distance >= settings.jit_from
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate, clipnorm=settings.clipnorm),
        loss="binary_crossentropy",
        **({"jit_compile": True} if jit else {}),  # else Keras's default, as the committed runs
    )
    reach_initial = first_token_reach(model, test_x[:64])
    start, passed, curve, step = time.perf_counter(), None, [], 0
    for step in range(1, settings.steps + 1):
        x, y = make_task(distance, settings.batch, rng)
        model.train_on_batch(x, y)
        if step % settings.eval_every == 0:
            accuracy = _accuracy(model, valid_x, valid_y)
            curve.append(round(accuracy, 4))
            if passed is None and accuracy >= 0.95:
                passed = step
            if settings.stop_at is not None and accuracy >= settings.stop_at:
                break
    return {
        "cell": cell,
        "distance": distance,
        "seed": seed,
        "chrono": chrono,
        "accuracy": _accuracy(model, test_x, test_y),
        "passed_95_at": passed,
        "validation_curve": curve,
        "steps_run": step,
        "reach_initial": reach_initial,
        "reach_trained": first_token_reach(model, test_x[:64]),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    p = model.predict_on_batch(x)[:, 0]
    return float(np.mean((p >= 0.5) == (y == 1)))


def textbook_task(
    cells=CELLS, distances=DISTANCES, seeds=(0, 1, 2), settings: TaskSettings = FULL, chrono: bool = False
) -> dict:
    """Every run of the grid, and per cell and distance the mean and spread (min, max) of test accuracy."""
    runs = []
    for distance in distances:
        for cell in cells:
            for seed in seeds:
                runs.append(train_run(cell, distance, seed, settings, chrono))
                r = runs[-1]
                print(f"{cell}{' (chrono)' if chrono else ''} N={distance} seed {seed}: {100 * r['accuracy']:.1f}% "
                      f"({r['seconds']:.0f} s)", flush=True)  # fmt: skip
    summary = {}
    for cell in cells:
        rows = []
        for distance in distances:
            accs = [r["accuracy"] for r in runs if r["cell"] == cell and r["distance"] == distance]
            rows.append({"distance": distance, "mean": float(np.mean(accs)), "min": min(accs), "max": max(accs)})
        summary[cell] = rows
    return {"settings": asdict(settings), "seeds": list(seeds), "runs": runs, "summary": summary}


# -- 2. a real verdict, pushed away ---------------------------------------------------------------------

FILLER_BAND = 0.05  # a filler sentence: NBSVM's P(positive) within 0.5 ± this
LENGTHS = (0, 25, 50, 100, 200, 400, 700)
QUICK_LENGTHS = (0, 10)
SHORT = 60  # tokens: the reviews pushed away are at most this long
SAMPLE_SEED = 0  # of the reviews pushed away, and of each one's filler
CLEAR = 0.3  # ... and read right by the model with |P(positive) - 0.5| at least this
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences(texts: list[str], shortest: int = 5) -> list[str]:
    """Every sentence of ``texts`` (split after . ! ?) of ``shortest`` to 40 words."""
    out = []
    for text in texts:
        out += [s.strip() for s in _SENTENCE.split(text) if shortest <= len(s.split()) <= 40]
    return out


def filler_pool(
    candidates: list[str], probabilities: np.ndarray, band: float = FILLER_BAND, at_least: int = 50
) -> tuple[list[str], float]:
    """The sentences a bag-of-n-grams model scores within 0.5 ± ``band``:
    neutral filler; where fewer than ``at_least`` are, the ``at_least``
    nearest to 0.5. Returns them and the band they are within."""
    distance = np.abs(np.asarray(probabilities) - 0.5)
    inside = np.flatnonzero(distance <= band)
    if len(inside) < at_least:
        inside = np.argsort(distance, kind="stable")[:at_least]
    return [candidates[i] for i in inside], float(distance[inside].max())


MODEL_BAND = 0.3  # ... and each model's P(positive) of the sentence alone within 0.5 ± this
NEUTRAL_SAMPLE = 4000  # sentences of the NBSVM pool the models score (a seeded sample)


def neutral_for(models: list[keras.Model], pool: list[str], seed: int = 0, at_least: int = 50) -> list[str]:
    """The sentences of (a seeded sample of) ``pool`` that every model scores
    within 0.5 ± MODEL_BAND alone; the ``at_least`` nearest where fewer are."""
    rng = np.random.default_rng(seed)
    if len(pool) > NEUTRAL_SAMPLE:
        pool = [pool[i] for i in np.sort(rng.choice(len(pool), NEUTRAL_SAMPLE, replace=False))]
    if not models:
        return pool
    worst = np.max([np.abs(predict_texts(m, pool) - 0.5) for m in models], axis=0)
    inside = np.flatnonzero(worst <= MODEL_BAND)
    if len(inside) < at_least:
        inside = np.argsort(worst, kind="stable")[:at_least]
    return [pool[i] for i in np.sort(inside)]


def filler(pool: list[str], tokens: int, rng: np.random.Generator) -> str:
    """About ``tokens`` words of filler: sentences of the pool in a random
    order, cut to that many words (the models' own tokens are near words)."""
    words: list[str] = []
    while len(words) < tokens:
        words += pool[int(rng.integers(len(pool)))].split()
    return " ".join(words[:tokens])


def pushed(review: str, padding: str, after: bool) -> str:
    """The review with the filler after it (the verdict far from the end) or before it."""
    if not padding:
        return review
    return f"{review} {padding}" if after else f"{padding} {review}"


def clear_and_short(reader, texts: list[str], labels: np.ndarray) -> np.ndarray:
    """Indices of the reviews of at most SHORT tokens (as the model reads
    them) that the model gets right with a clear verdict (|P - 0.5| >= CLEAR)."""
    keep = []
    for i, (text, label) in enumerate(zip(texts, labels)):
        ids, _ = reader.read(text)
        if 0 < len(ids) <= SHORT:
            p = reader.verdict(text).probability
            if (p >= 0.5) == bool(label) and abs(p - 0.5) >= CLEAR:
                keep.append(i)
    return np.asarray(keep, "int64")


def separation(p: np.ndarray, positive: np.ndarray) -> float | None:
    """The ROC-AUC of P(positive) between the positive and the negative reviews:
    how well the model still tells them apart, whatever the filler's own pull
    (0.5: not at all); None with one class only."""
    pos, neg = p[positive], p[~positive]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    return float(greater)


def pushed_away(
    model: keras.Model, reader, texts: list[str], labels: np.ndarray, pool: list[str],
    lengths=LENGTHS, reviews: int = 500,
) -> dict:  # fmt: skip
    """One model's reviews (`clear_and_short`, a seeded sample of ``reviews``),
    with N words of filler after them and before them, for each N of
    ``lengths``: accuracy and the share of verdicts flipped (they were all
    right without filler); and the filler alone: its mean P(positive) and the
    share read as positive."""
    chosen = clear_and_short(reader, texts, labels)
    rng = np.random.default_rng(SAMPLE_SEED)
    if len(chosen) > reviews:
        chosen = np.sort(rng.choice(chosen, reviews, replace=False))
    out = {"reviews": int(len(chosen)), "after": [], "before": [], "filler_alone": []}
    truth = np.asarray(labels)[chosen] == 1
    for n in lengths:
        fillers = [filler(pool, n, np.random.default_rng([SAMPLE_SEED, int(i), n])) for i in chosen]
        for order, after in (("after", True), ("before", False)):
            p = predict_texts(model, [pushed(texts[i], f, after) for i, f in zip(chosen, fillers)])
            row = {"tokens": n, "accuracy": None, "auc": None}  # None: no review was chosen
            if len(p):
                row["accuracy"] = float(np.mean((p >= 0.5) == truth))
                row["auc"] = separation(p, truth)
            out[order].append(row)
        if n and fillers:
            alone = predict_texts(model, fillers[:200])
            out["filler_alone"].append(
                {"tokens": n, "mean": float(alone.mean()), "positive": float((alone >= 0.5).mean())}
            )
    return out
