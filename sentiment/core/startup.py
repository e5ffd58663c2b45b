"""TensorFlow loaded quietly: the command-line tools (train.py, python -m sentiment ...
import it through `load_tensorflow`, so that a machine without
a GPU does not greet the user with CUDA notices that read like errors.

No TensorFlow at import time here.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# What TensorFlow's native code prints while it loads, harmless here: absl's
# notice, INFO/WARNING lines (e.g. "Could not find cuda drivers") and the
# CPU-instructions note. Anything else it prints is passed on.
_LOAD_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] "
    r"|To enable the following instructions: "
)


def load_tensorflow(verbose: bool = False) -> None:
    """Imports TensorFlow and Keras. Unless ``verbose``: without the log lines
    they print on a machine without a GPU (one of them, "failed call to
    cuInit", reads like an error), and with TensorFlow's Python warnings (such
    as tf.function retracing, which small runs trigger) turned off."""
    if verbose:
        import keras  # noqa: F401

        return
    if "tensorflow" not in sys.modules:
        # C++ logging: only fatal errors (errors that matter become Python exceptions).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        # Some lines are printed while the libraries load, before that setting
        # is read: catch the process's stderr meanwhile and pass on all but those.
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as caught:
            os.dup2(caught.fileno(), 2)
            try:
                import keras  # noqa: F401  (and TensorFlow, its backend)
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                caught.seek(0)
                for line in caught.read().decode("utf-8", "replace").splitlines(keepends=True):
                    if not _LOAD_NOISE.match(line):
                        sys.stderr.write(line)
    import absl.logging
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # e.g. tf.function retracing warnings
    absl.logging.set_verbosity(absl.logging.ERROR)
