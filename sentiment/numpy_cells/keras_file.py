"""Reading a saved sentiment model (`.keras`) without Keras.

A ``.keras`` file is a zip of ``config.json`` (every layer's class and
settings, the vocabulary among them), ``metadata.json`` and
``model.weights.h5`` (the weights, in HDF5, read with h5py). In the HDF5
file a layer's weights are ``.../vars/0``, ``.../vars/1``, ... in the order
the layer created them, under a group named after the layer's class
(``bidirectional``, ``embedding_1``, ...) whose ``vars`` carries the layer's
own name as an attribute: that name is how a layer of the config finds its
weights here.

Only the models `sentiment.network.model.build_model` makes are read (text ->
vectorizer -> HeadTail -> embedding -> recurrent layers -> pooling or the last
state -> Dense(sigmoid)). Anything else raises `KerasFileError`, naming the
file and what was not understood, so that a caller can load the file with
Keras instead.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass

import h5py
import numpy as np

from sentiment.numpy_cells.cells import CELLS, Cell

PACKAGE = "sentiment>"  # how Keras registers our classes: "sentiment>HeadTail"
INFERENCE_NO_OPS = {"Dropout", "SpatialDropout1D"}  # identity at inference
# A cell's settings, all of which the steps here honour (the rest matter in
# training only). A setting not listed may change what the cell computes: a
# cell that has one is refused, not run as if it had not.
CELL_SETTINGS = {
    "name", "trainable", "dtype", "units", "dropout", "recurrent_dropout", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "seed", "unit_forget_bias", "variant",
}  # fmt: skip


class KerasFileError(ValueError):
    """A file the NumPy path cannot read: not a .keras file, or a model
    it does not know how to run. Keras may still load it."""


@dataclass
class RecurrentLayer:
    """One recurrent layer: its cell and each direction's weights."""

    name: str
    cell: Cell
    units: int
    directions: dict[str, dict[str, np.ndarray]]  # "forward" (and "backward") -> weights by name
    return_sequences: bool


@dataclass
class SavedModel:
    """What the forward pass needs from a ``.keras`` file."""

    path: str
    name: str
    vocabulary: list[str]
    max_length: int
    head: int
    embedding: np.ndarray  # (vocabulary, embedding_dim)
    layers: list[RecurrentLayer]
    pooling: str  # "max_mean" (MaskedPool) or "last" (the final state)
    dense_kernel: np.ndarray  # (features, 1)
    dense_bias: np.ndarray  # (1,)


def read_keras_file(path: str | os.PathLike) -> SavedModel:
    """The vocabulary, settings and weights of the sentiment model at ``path``.

    Raises:
        KerasFileError: ``path`` is missing, not a ``.keras`` zip, or holds a
            model the NumPy path does not run; the message says which.
    """
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            files = {
                name: archive.read(name) for name in ("config.json", "model.weights.h5") if name in archive.namelist()
            }
    except (OSError, zipfile.BadZipFile) as err:
        raise KerasFileError(f"{path} is not a .keras file ({type(err).__name__}: {err}).") from err
    missing = {"config.json", "model.weights.h5"} - set(files)
    if missing:
        raise KerasFileError(f"{path} is not a .keras file: it lacks {', '.join(sorted(missing))}.")
    try:
        config = json.loads(files["config.json"])
    except ValueError as err:  # json's errors; UnicodeDecodeError too
        raise KerasFileError(f"{path}: config.json is not JSON ({err}).") from err
    weights = files["model.weights.h5"]
    try:
        h5 = h5py.File(io.BytesIO(weights), "r")
    except OSError as err:  # h5py's for a file that is not HDF5
        raise KerasFileError(f"{path}: model.weights.h5 is not an HDF5 file ({err}).") from err
    with h5:
        try:
            return _Reader(path, h5).model(config)
        except (KeyError, IndexError, TypeError, AttributeError) as err:  # a config or weights laid out otherwise
            raise KerasFileError(
                f"{path}: not laid out as this project's models are "
                f"({type(err).__name__}: {err}); the NumPy path cannot run this model."
            ) from err


class _Reader:
    def __init__(self, path: str, h5: h5py.File):
        self.path, self.h5 = path, h5

    def error(self, what: str) -> KerasFileError:
        return KerasFileError(f"{self.path}: {what}; the NumPy path cannot run this model.")

    def model(self, config) -> SavedModel:
        if not isinstance(config, dict) or config.get("class_name") != "Functional":
            raise self.error(f"expected a Functional model in config.json. Received: {_class(config)}")
        by_class = {}
        for layer in config["config"].get("layers", []):
            by_class.setdefault(_class(layer), []).append(layer)
        want = {"InputLayer", "TextVectorization", f"{PACKAGE}HeadTail", "Functional"}
        if set(by_class) != want or any(len(v) != 1 for v in by_class.values()):
            raise self.error(
                "expected the layers InputLayer, TextVectorization, HeadTail and the classifier (Functional). "
                f"Received: {', '.join(_class(x) for x in config['config'].get('layers', []))}"
            )
        vocabulary = self.vocabulary(by_class["TextVectorization"][0])
        head_tail = by_class[f"{PACKAGE}HeadTail"][0]["config"]
        classifier = by_class["Functional"][0]
        self.check_float32(head_tail, "head_tail")
        max_length, head = int(head_tail["max_length"]), int(head_tail["head"])
        name = str(config["config"].get("name", ""))
        return SavedModel(self.path, name, vocabulary, max_length, head, *self.classifier(classifier, vocabulary))

    def vocabulary(self, layer) -> list[str]:
        c = layer["config"]
        expected = {
            "standardize": {"config": f"{PACKAGE}standardize"},
            "split": "whitespace",
            "ngrams": None,
            "output_mode": "int",
            "output_sequence_length": None,
        }
        for key, value in expected.items():
            got = c.get(key)
            if isinstance(value, dict):
                got = {k: got.get(k) for k in value} if isinstance(got, dict) else got
            if got != value:
                raise self.error(f"the vectorizer's {key} is not ours: expected {value!r}. Received: {got!r}")
        vocabulary = c.get("vocabulary")
        if not isinstance(vocabulary, list) or vocabulary[:2] != ["", "[UNK]"]:
            head = vocabulary[:2] if isinstance(vocabulary, list) else vocabulary
            raise self.error(f"the vectorizer's vocabulary should start with '', '[UNK]'. Received: {head!r}")
        return vocabulary

    def check_float32(self, config: dict, name: str) -> None:
        # A mixed-precision model computes in float16; this path only in float32.
        dtype = config.get("dtype", "float32")
        policy = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
        if policy not in ("float32", None):
            raise self.error(f"layer {name!r} computes in {policy}; the NumPy path computes in float32")

    def classifier(self, classifier, vocabulary) -> tuple:
        """``(embedding, layers, pooling, dense kernel, dense bias)``."""
        weights = self.weight_groups(classifier["name"])
        embedding, layers, pooling, dense = None, [], "last", None
        previous = None  # the last layer that changes its input: every layer must read it
        for layer in classifier["config"]["layers"]:
            kind, c, name = _class(layer), layer["config"], layer["name"]
            if kind in ("InputLayer", "NotEqual"):  # the ids, and the mask made from them
                previous = previous or name
                continue
            self.check_float32(c, name)
            source = _source(layer)
            if source != previous:
                raise self.error(f"layer {name!r} reads {source!r}, not {previous!r}: the layers are not a chain")
            previous = name
            if kind in INFERENCE_NO_OPS:
                continue
            if embedding is None:
                if kind != "Embedding" or not c.get("mask_zero"):
                    raise self.error(f"expected an Embedding with mask_zero first. Received: {kind} {name!r}")
                embedding = self.vars(weights, name, 1)[0]
                if embedding.shape[0] != len(vocabulary):
                    raise self.error(
                        f"the embedding has {embedding.shape[0]} rows for a vocabulary of {len(vocabulary)} words"
                    )
            elif dense is not None:
                raise self.error(f"layer {name!r} ({kind}) follows the Dense output")
            elif kind in ("Bidirectional", f"{PACKAGE}Recurrent"):
                if pooling == "max_mean" or (layers and not layers[-1].return_sequences):
                    raise self.error(f"recurrent layer {name!r} follows the pooling or a layer's last state")
                layers.append(self.recurrent(layer, weights[name] if name in weights else None))
            elif kind == f"{PACKAGE}MaskedPool" and layers and pooling == "last":
                pooling = "max_mean"
            elif kind == "Dense" and layers and c.get("activation") == "sigmoid" and c.get("units") == 1:
                kernel, bias = self.vars(weights, name, 2)
                dense = (kernel, bias)
            else:
                raise self.error(f"layer {name!r} of class {kind} is not one it knows here (or not in this place)")
        if dense is None:
            raise self.error("the classifier does not end in a Dense(1, sigmoid) layer")
        if layers[-1].return_sequences != (pooling == "max_mean"):
            raise self.error(
                f"the last recurrent layer {'returns' if layers[-1].return_sequences else 'does not return'} "
                f"sequences, with pooling {pooling!r}"
            )
        return embedding, layers, pooling, *dense

    def recurrent(self, layer, group) -> RecurrentLayer:
        kind, c, name = _class(layer), layer["config"], layer["name"]
        if group is None:
            raise self.error(f"no weights for layer {name!r} in model.weights.h5")
        if kind == "Bidirectional":
            if c.get("merge_mode") != "concat":
                raise self.error(f"Bidirectional {name!r} merges by {c.get('merge_mode')!r}, not 'concat'")
            parts = {"forward": (c["layer"], "forward_layer"), "backward": (c["backward_layer"], "backward_layer")}
        else:
            parts = {"forward": (layer, None)}
        cells, directions, sequences = [], {}, set()
        for direction, (rnn, subgroup) in parts.items():
            rc = rnn["config"]
            if _class(rnn) != f"{PACKAGE}Recurrent":
                raise self.error(f"the {direction} layer of {name!r} is a {_class(rnn)}, not our Recurrent")
            for key in ("stateful", "unroll", "return_state"):
                if rc.get(key):
                    raise self.error(f"recurrent layer {rc.get('name', name)!r} has {key}=True")
            if rc.get("go_backwards", False) != (direction == "backward"):
                raise self.error(f"the {direction} layer of {name!r} has go_backwards={rc.get('go_backwards')}")
            self.check_float32(rc, rc.get("name", name))
            cell_config = rc["cell"]
            registered = _class(cell_config)  # "sentiment>LSTMCell": ours, not Keras's LSTMCell
            cell_class = registered.removeprefix(PACKAGE)
            if registered == cell_class or cell_class not in CELLS:
                raise self.error(
                    f"layer {name!r} runs an unknown cell class {registered!r} (known: {', '.join(CELLS)})"
                )
            cell = CELLS[cell_class]
            settings = cell_config["config"]
            unknown = {k: settings[k] for k in sorted(set(settings) - CELL_SETTINGS)}
            if unknown:
                raise self.error(f"the cell of {name!r} has settings it does not know: {unknown}")
            if settings.get("variant", "full") != "full":
                raise self.error(
                    f"layer {name!r} runs the variant {settings['variant']!r} of {cell_class}; "
                    "the NumPy path runs the full cells only"
                )
            cells.append((cell_class, int(settings["units"])))
            self.check_float32(settings, f"{name}'s cell")
            cell_group = (group[subgroup] if subgroup else group).get("cell")
            if cell_group is None or "vars" not in cell_group:
                raise self.error(f"no cell weights for the {direction} layer of {name!r} in model.weights.h5")
            values = self.vars_of(cell_group["vars"], f"{name} ({direction})", len(cell.weights))
            directions[direction] = dict(zip(cell.weights, values))
            sequences.add(bool(rc.get("return_sequences")))
        if len(set(cells)) != 1 or len(sequences) != 1:
            raise self.error(f"the two directions of {name!r} differ: {cells}")
        (cell_class, units), return_sequences = cells[0], sequences.pop()
        cell = CELLS[cell_class]
        for direction, w in directions.items():
            self.check_shapes(name, direction, cell, units, w)
        return RecurrentLayer(name, cell, units, directions, return_sequences)

    def check_shapes(self, name, direction, cell, units, w):
        width = len(cell.gates) * units
        expected = {"recurrent_kernel": (units, width), "bias": (width,)}
        expected |= {"output_kernel": (units, units), "output_bias": (units,)}
        shapes = {k: v.shape for k, v in w.items()}
        if (
            w["kernel"].ndim != 2
            or w["kernel"].shape[1] != width
            or any(shapes[k] != s for k, s in expected.items() if k in w)
        ):
            raise self.error(
                f"the {direction} weights of {name!r} do not fit a {units}-unit cell with "
                f"{len(cell.gates)} gate blocks. Received shapes: {shapes}"
            )

    def weight_groups(self, classifier_name: str) -> dict:
        """{layer name: its HDF5 group} for the classifier's layers."""
        top = self.h5.get("layers")
        groups = _named_children(top) if top is not None else {}
        if classifier_name not in groups or "layers" not in groups[classifier_name]:
            raise self.error(f"no weights for the classifier {classifier_name!r} in model.weights.h5")
        return _named_children(groups[classifier_name]["layers"])

    def vars(self, weights: dict, name: str, count: int) -> list[np.ndarray]:
        if name not in weights or "vars" not in weights[name]:
            raise self.error(f"no weights for layer {name!r} in model.weights.h5")
        return self.vars_of(weights[name]["vars"], name, count)

    def vars_of(self, group, name: str, count: int) -> list[np.ndarray]:
        if sorted(group) != [str(i) for i in range(count)]:
            raise self.error(f"layer {name!r} should have {count} weights. Received: {sorted(group)}")
        values = [np.asarray(group[str(i)]) for i in range(count)]
        if any(v.dtype != np.float32 for v in values):
            raise self.error(f"layer {name!r} has weights of {[str(v.dtype) for v in values]}, not float32")
        return values


def _class(layer) -> str:
    """A layer's class as the config names it: ours registered as ``sentiment>Name``."""
    if not isinstance(layer, dict):
        return type(layer).__name__
    registered = str(layer.get("registered_name"))
    return registered if registered.startswith(PACKAGE) else str(layer.get("class_name", "?"))


def _source(layer) -> str | None:
    """The name of the layer whose output ``layer`` reads (its first input)."""
    try:
        return layer["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0]
    except (KeyError, IndexError, TypeError):
        return None


def _named_children(group) -> dict:
    """A group's subgroups by the layer name their ``vars`` carries."""
    out = {}
    for child in group.values():
        if isinstance(child, h5py.Group) and "vars" in child:
            name = child["vars"].attrs.get("name")
            if name is not None:
                out[str(name)] = child
    return out
