"""The many-to-one sentiment model: raw review text in, P(positive) out.

    text -> TextVectorization -> HeadTail -> [classifier]
    classifier: ids -> Embedding(mask_zero) -> token dropout -> SpatialDropout1D
                -> Bidirectional(Recurrent(our cell)) x layers
                -> MaskedPool (max and mean over time) -> Dropout -> Dense(sigmoid)

The text preprocessing is inside the saved model, so the app (or anyone with
the `.keras` file) gives it raw strings. Training runs the `classifier` part on
token ids prepared once by tf.data; both share their layers with the full model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import keras
import tensorflow as tf
from keras import ops

from sentiment.core.files import atomic_path
from sentiment.core.settings import ConfigError, option
from sentiment.network.cells import CELLS, PACKAGE, cell_choices, make_cell, parse_cell
from sentiment.network.recurrent import Recurrent

VECTORIZER = "vectorizer"
HEAD_TAIL = "head_tail"
CLASSIFIER = "classifier"
EMBEDDING = "embedding"


@keras.saving.register_keras_serializable(package=PACKAGE)
def standardize(text):
    """Lower-case; keep letters and digits; everything else is a space.

    This drops the reviews' ``<br />`` tags and their stray control characters
    (U+0085 is a line break to Python, so a vocabulary term holding it would
    come back as two terms when a saved model is loaded).
    """
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.regex_replace(text, r"['’]", "")  # don't -> dont
    return tf.strings.regex_replace(text, r"[^\p{L}\p{N}]+", " ")


@keras.saving.register_keras_serializable(package=PACKAGE)
class HeadTail(keras.layers.Layer):
    """Keeps at most ``max_length`` token ids: the first ``head`` and the last
    ``max_length - head`` of a longer review (reviews tend to end with their
    verdict). Input and output are right-padded with 0."""

    def __init__(self, max_length: int, head: int, **kwargs):
        super().__init__(**kwargs)
        if max_length < 1 or not 0 <= head <= max_length:
            raise ValueError(
                "`HeadTail` needs max_length >= 1 and 0 <= head <= max_length. "
                f"Received: max_length={max_length}, head={head}"
            )
        self.max_length = int(max_length)
        self.head = int(head)

    def call(self, ids):
        # One zero column more, so that an empty review still gives one
        # (masked) step rather than a zero-length sequence.
        ids = ops.pad(ids, [[0, 0], [0, 1]])
        length = ops.sum(ops.cast(ops.not_equal(ids, 0), "int32"), axis=1, keepdims=True)
        width = ops.minimum(ops.shape(ids)[1], self.max_length)
        pos = ops.expand_dims(ops.arange(width, dtype="int32"), 0)
        # Past `head`, shift to the last tokens when the review is too long.
        shift = ops.maximum(length - self.max_length, 0)
        index = ops.where(pos >= self.head, pos + shift, pos)
        kept = ops.take_along_axis(ids, ops.cast(index, ids.dtype), axis=1)
        return ops.where(pos < length, kept, ops.zeros_like(kept))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length, "head": self.head}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedPool(keras.layers.Layer):
    """Max and mean over the unmasked time steps, concatenated."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(x)[:2], dtype="bool")
        m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        count = ops.maximum(ops.sum(m, axis=1), 1.0)
        mean = ops.sum(x * m, axis=1) / count
        # An empty review (all masked) pools to zeros rather than -inf. Masked
        # steps count as a value below any state (finite in float16 too).
        low = -6e4 if keras.backend.standardize_dtype(x.dtype) == "float16" else -1e9
        maxed = ops.max(ops.where(m > 0, x, low), axis=1)
        maxed = ops.where(ops.sum(m, axis=1) > 0, maxed, 0.0)
        return ops.concatenate([maxed, mean], axis=-1)

    def compute_mask(self, x, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])


@dataclass
class ModelConfig:
    """The model: everything that defines its architecture (recorded beside it)."""

    cell: str = option(
        "lstm",
        "the recurrent cell: one of sentiment.network.cells.CELLS, or one of its variants as cell:variant "
        "(lstm:no_forget, gru:mgu, ...: docs/cells.md)",
    )
    vocab_size: int = option(20000, "vocabulary size, padding and [UNK] included")
    max_length: int = option(800, "tokens kept per review")
    head: int = option(200, "of those, how many from the start (the rest from the end)")
    embedding_dim: int = option(128, "size of the word vectors")
    units: int = option(64, "recurrent units per direction")
    layers: int = option(1, "stacked recurrent layers")
    bidirectional: bool = option(True, "read each review in both directions")
    pooling: str = option(
        "max_mean",
        "what the classifier reads: max_mean (the max and mean of every step's state, a short path from every "
        "word to the loss) or last (only the final state, the textbook many-to-one model)",
    )
    token_dropout: float = option(0.25, "share of words dropped in training", flag=False)
    embedding_dropout: float = option(0.25, "spatial dropout on the embeddings", flag=False)
    dropout: float = option(0.0, "cell input dropout", flag=False)
    recurrent_dropout: float = option(0.0, "dropout on the cells' recurrent state", flag=False)
    head_dropout: float = option(0.5, "dropout before the classifier", flag=False)
    seed: int = option(1337, "random seed: initial weights, dropout, validation split, batch order")

    POOLINGS = ("max_mean", "last")

    def validate(self) -> "ModelConfig":
        """Raises ``ConfigError`` (a ValueError naming the field) for a setting out of range."""
        try:
            parse_cell(self.cell)
        except ValueError as err:
            problem = f"must be one of {', '.join(cell_choices())}"
            raise ConfigError("cell", problem, self.cell, message=str(err)) from None
        for name in ("vocab_size", "max_length", "embedding_dim", "units", "layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, "must be at least 1", value)
        if self.vocab_size < 3:
            raise ConfigError("vocab_size", "must be at least 3", self.vocab_size)
        if not 0 <= self.head <= self.max_length:
            raise ConfigError("head", f"must be in [0, max_length={self.max_length}]", self.head)
        if self.pooling not in self.POOLINGS:
            raise ConfigError("pooling", f"must be one of {', '.join(self.POOLINGS)}", self.pooling)
        for name in ("token_dropout", "embedding_dropout", "dropout", "recurrent_dropout", "head_dropout"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(name, "must be in [0, 1)", value)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def make_vectorizer(vocab_size: int, vocabulary: list[str] | None = None) -> keras.layers.TextVectorization:
    """Word-level TextVectorization with our `standardize`; ids 0 = pad, 1 = [UNK]."""
    return keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=standardize,
        output_mode="int",
        vocabulary=vocabulary,
        name=VECTORIZER,
    )


def build_classifier(
    config: ModelConfig,
    vocab_size: int,
    recurrent_layer: Callable[[int, bool], keras.layers.Layer] | None = None,
) -> keras.Model:
    """Token ids (batch, time) -> P(positive) (batch, 1).

    Args:
        config: the architecture.
        vocab_size: rows of the embedding.
        recurrent_layer: ``recurrent_layer(n, return_sequences)`` makes the
            n-th recurrent layer; by default our `Recurrent` over
            ``config.cell``. The benchmark passes Keras's built-in layers here
            to compare like with like.
    """
    ids = keras.Input(shape=(None,), dtype="int64", name="token_ids")
    x = keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=True, name=EMBEDDING)(ids)
    # Whole words dropped (their vectors zeroed), then whole embedding channels.
    x = keras.layers.Dropout(config.token_dropout, noise_shape=(None, None, 1), seed=config.seed, name="token_dropout")(
        x
    )
    x = keras.layers.SpatialDropout1D(config.embedding_dropout, seed=config.seed, name="embedding_dropout")(x)
    last_state = config.pooling == "last"
    # Layer names may not hold the ":" of a variant ("lstm:cifg"); a full
    # cell's layers keep the names they always had.
    stem = config.cell.replace(":", "_")
    for n in range(config.layers):
        # With pooling="last" the top layer gives only its final state (after
        # the review's last word: masked steps carry the state).
        sequences = not (last_state and n == config.layers - 1)
        if recurrent_layer is None:
            cell = make_cell(
                config.cell,
                config.units,
                dropout=config.dropout,
                recurrent_dropout=config.recurrent_dropout,
                seed=config.seed + n,
            )
            rnn = Recurrent(cell, return_sequences=sequences, name=f"{stem}_{n}")
        else:
            rnn = recurrent_layer(n, sequences)
        x = keras.layers.Bidirectional(rnn, name=f"bi_{stem}_{n}")(x) if config.bidirectional else rnn(x)
    if not last_state:
        x = MaskedPool(name="pool")(x)
    x = keras.layers.Dropout(config.head_dropout, seed=config.seed, name="head_dropout")(x)
    # float32 under mixed precision (--mixed-precision): the probability and the loss need its range.
    # Otherwise the global policy's (float64 in the gradient tests' finite differences).
    mixed = keras.config.dtype_policy().name.startswith("mixed_")
    prob = keras.layers.Dense(1, activation="sigmoid", dtype="float32" if mixed else None, name="positive")(x)
    return keras.Model(ids, prob, name=CLASSIFIER)


def build_model(config: ModelConfig, vocabulary: list[str]) -> keras.Model:
    """Raw strings (batch,) -> P(positive) (batch, 1), built on ``vocabulary``
    (as returned by an adapted TextVectorization's ``get_vocabulary()``)."""
    config.validate()
    keras.utils.set_random_seed(config.seed)
    text = keras.Input(shape=(), dtype="string", name="review")
    classifier = build_classifier(config, vocab_size=len(vocabulary))
    name = f"{config.cell.replace(':', '_')}_sentiment"
    return keras.Model(text, classifier(_kept_ids(text, config, vocabulary)), name=name)


def _kept_ids(text, config: ModelConfig, vocabulary: list[str]):
    ids = make_vectorizer(config.vocab_size, vocabulary)(text)
    return HeadTail(config.max_length, config.head, name=HEAD_TAIL)(ids)


def preprocessor(config: ModelConfig, vocabulary: list[str]) -> keras.Model:
    """Raw strings -> the token ids a model of ``config`` reads: the layers
    `build_model` puts before the classifier, on their own (what training
    tokenizes its reviews with, once for every model of a run)."""
    text = keras.Input(shape=(), dtype="string", name="review")
    return keras.Model(text, _kept_ids(text, config, vocabulary))


def text_to_ids(model: keras.Model) -> keras.Model:
    """The preprocessing part of a full model: raw strings -> kept token ids."""
    return keras.Model(model.input, model.get_layer(HEAD_TAIL).output)


def classifier_of(model: keras.Model) -> keras.Model:
    return model.get_layer(CLASSIFIER)


def vocabulary_of(model: keras.Model) -> list[str]:
    return model.get_layer(VECTORIZER).get_vocabulary()


def recurrent_cell_name(model: keras.Model) -> str:
    """The cell the model runs, as its key in `sentiment.network.cells.CELLS`."""
    for layer in classifier_of(model).layers:
        inner = getattr(layer, "forward_layer", layer)
        if isinstance(inner, Recurrent):
            return next(k for k, v in CELLS.items() if isinstance(inner.cell, v))
    raise ValueError(f"Model {model.name!r} has no recurrent layer of ours.")


class ModelLoadError(ValueError):
    """A model file that is missing, unreadable or not one of ours."""


def load_model(path: str | os.PathLike) -> keras.Model:
    """Loads a saved sentiment model in Keras safe mode (no code from the file runs)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelLoadError(f"No model file at {path}: train one with `python train.py`.")
    if os.path.getsize(path) == 0:
        raise ModelLoadError(f"Model file {path} is empty: delete it and train again.")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many kinds for a broken zip/config
        raise ModelLoadError(
            f"Could not load model file {path} ({type(err).__name__}: {str(err)[:300]}). "
            "It may be truncated, corrupted or from another version: train it again."
        ) from err
    try:
        classifier_of(model)
        model.get_layer(VECTORIZER)
        recurrent_cell_name(model)
    except (ValueError, KeyError) as err:
        raise ModelLoadError(f"{path} is not a sentiment model of this project: {err}") from err
    return model


def save_model(model: keras.Model, path: str | os.PathLike) -> None:
    """Saves ``model`` without its optimizer state (which would triple the file),
    through a temporary file, so a crash never leaves half a model."""
    # A compiled sub-model (the classifier we train) would be rebuilt with its
    # optimizer; without its compile config it carries only its weights.
    copy = keras.Model.from_config(_without_compile_config(model.get_config()))
    copy.set_weights(model.get_weights())
    with atomic_path(path, suffix=".keras") as tmp:
        copy.save(tmp)


def _without_compile_config(config):
    if isinstance(config, dict):
        return {k: _without_compile_config(v) for k, v in config.items() if k != "compile_config"}
    if isinstance(config, list):
        return [_without_compile_config(v) for v in config]
    return config
