"""The sentiment models in NumPy: a saved ``.keras`` file run without
TensorFlow or Keras, to the same P(positive) (within 1e-5, tested), and
each cell's step written beside its equations, to be read as a lesson.

    keras_file  reading a .keras file: its settings, vocabulary and weights (h5py)
    text        text to token ids, exactly as the model's TextVectorization and HeadTail
    cells       the LSTM, GRU, Elman and Jordan steps, one screen each
    model       the forward pass: embedding, recurrent layers, pooling, sigmoid

    from sentiment.numpy_cells import load
    model = load("saved_models/gru.keras")
    model.predict(["a wonderful film", "dull"])   # P(positive), float32
    model.trace("a wonderful film")                # every gate and state at every word

Nothing here imports TensorFlow or Keras (an import-linter contract and a
test hold it): ``python -m sentiment predict`` runs the models this way and
starts in a fraction of TensorFlow's import. A file it cannot run raises
`KerasFileError`, naming the file and what it did not understand; Keras
(`sentiment.network.model.load_model`) may still load it.
"""

from sentiment.numpy_cells.keras_file import KerasFileError
from sentiment.numpy_cells.model import NumpyModel, load

__all__ = ["KerasFileError", "NumpyModel", "load"]
