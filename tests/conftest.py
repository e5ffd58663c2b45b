"""Shared fixtures and helpers. Test modules import from here, never from each other."""

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The app keeps XLA's compiled programs on disk: the tests' app, here, not in ~/.cache.
os.environ.setdefault("SENTIMENT_XLA_CACHE", os.path.join(tempfile.gettempdir(), "sentiment-tests-xla-cache"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pytest  # noqa: E402

DATA = os.environ.get("IMDB_ARCHIVE", os.path.join(ROOT, "..", "shared", "data", "aclImdb_v1_labeled.tar.gz"))

# train.py's options for the tiny models the tests train: seconds, not minutes.
TINY_SIZE = ("--units", "4", "--embedding-dim", "4", "--vocab-size", "100")

TINY_REVIEWS = [
    ("a great movie, I loved it. Wonderful acting!", 1),
    ("Brilliant, moving and funny; the best film this year.", 1),
    ("I enjoyed every minute<br /><br />superb cast", 1),
    ("excellent story and beautiful music, highly recommended", 1),
    ("terrible film, awful acting and a boring plot", 0),
    ("the worst movie I have ever seen. Bad, bad, bad.", 0),
    ("dull and predictable\x85 a waste of time", 0),
    ("poor script, horrible dialogue, I hated it", 0),
]

# What write_aclimdb writes, repeated to the size asked for.
REVIEWS = {
    "pos": ["A wonderful film.<br /><br />Loved it", "Great acting, great story", "best movie ever", "superb"],
    "neg": ["Awful.<br />Just awful", "boring and dull", "worst plot", "terrible\x85 acting"],
}


def real_archive() -> str:
    if not os.path.isfile(DATA):
        pytest.skip(f"real IMDB archive not found at {DATA}")
    return DATA


def committed(name: str) -> str:
    """The path of a file committed in saved_models/, or a skip saying how to make it."""
    path = os.path.join(ROOT, "saved_models", name)
    if not os.path.isfile(path):
        pytest.skip(f"no committed {path}: `python train.py` writes it")
    return path


@pytest.fixture(scope="session", params=["lstm", "gru"])
def committed_model(request):
    """Each committed model, loaded once for the whole run."""
    from sentiment.network.model import load_model

    return load_model(committed(f"{request.param}.keras"))


def write_aclimdb(root, splits=("train", "test"), urls=True, per_class=None):
    """aclImdb/{split}/{pos,neg}/<id>_<rating>.txt (+ urls_*.txt); returns the aclImdb folder."""
    base = os.path.join(root, "aclImdb")
    for split in splits:
        for cls, texts in REVIEWS.items():
            texts = (texts * 10)[: per_class or len(texts)]
            folder = os.path.join(base, split, cls)
            os.makedirs(folder, exist_ok=True)
            for i, text in enumerate(texts):
                rating = 9 if cls == "pos" else 2
                with open(os.path.join(folder, f"{i}_{rating}.txt"), "w", encoding="utf-8") as f:
                    f.write(text)
            if urls:
                with open(os.path.join(base, split, f"urls_{cls}.txt"), "w") as f:
                    # two reviews a movie; pos and neg share movie ids on purpose
                    f.writelines(f"http://www.imdb.com/title/tt{i // 2:07d}/usercomments\n" for i in range(len(texts)))
    return base


def make_archive(folder, path):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="aclImdb")
    return path


def predict(model, texts):
    """P(positive) for each text, shape (n,)."""
    import tensorflow as tf

    return model.predict(tf.constant(list(texts)), verbose=0)[:, 0]


def assert_charts_are_vega_lite(at) -> None:
    """Every chart on an AppTest page is valid Vega-Lite (the app's server skips
    Altair's own check of each chart on each run: `skip_the_schema_check`)."""
    import json

    from altair.utils.schemapi import validate_jsonschema
    from altair.vegalite.v6.schema.core import load_schema

    schema = load_schema()
    for chart in at.get("vega_lite_chart"):
        validate_jsonschema(json.loads(chart.proto.spec), schema, rootschema=schema)


def tiny_ids_and_labels(vocab):
    """A tiny model with no dropout (two passes over a batch differ only by
    what a test changes), TINY_REVIEWS as its token ids, and their labels."""
    import numpy as np
    import tensorflow as tf

    from sentiment.network.model import ModelConfig, build_model, text_to_ids

    model = build_model(
        ModelConfig(units=3, embedding_dim=4, vocab_size=200, token_dropout=0, embedding_dropout=0, head_dropout=0),
        vocab,
    )
    ids = text_to_ids(model)(tf.constant([t for t, _ in TINY_REVIEWS]))
    return model, ids, np.array([y for _, y in TINY_REVIEWS], "float32")


@pytest.fixture(scope="session")
def tiny_vocab():
    from sentiment.network.model import make_vectorizer

    vectorizer = make_vectorizer(200)
    vectorizer.adapt([t for t, _ in TINY_REVIEWS])
    return [str(t) for t in vectorizer.get_vocabulary()]


@pytest.fixture(scope="session", params=["lstm", "gru", "elman"])
def tiny_model(request, tiny_vocab):
    from sentiment.network.model import ModelConfig, build_model

    config = ModelConfig(cell=request.param, vocab_size=200, units=6, embedding_dim=5, max_length=12, head=4)
    return build_model(config, tiny_vocab)


def train_py_exit(*args, timeout=300) -> tuple[int, bool, str]:
    """train.py run until it exits, in a fresh interpreter: (its exit status,
    whether TensorFlow had been imported by then, stderr). For the checks
    that must stop a run before anything heavy starts."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['train.py', *{[str(a) for a in args]!r}]\n"
        "try:\n    runpy.run_path('train.py', run_name='__main__')\n"
        "except SystemExit as exit:\n    print(exit.code, 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    words = result.stdout.split()[-2:]
    assert len(words) == 2, result.stdout + result.stderr
    return int(words[0]), words[1] == "True", result.stderr


def run_predict(args, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str]:
    """`python -m sentiment predict` in this process: (exit status, stderr)."""
    import io

    from sentiment.cli import predict

    err = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    old = sys.stderr
    sys.stderr = err
    try:
        code = predict.main([str(a) for a in args])
    finally:
        sys.stderr = old
    return code, err.getvalue()


def run_train(*args, timeout=600):
    """Runs train.py in a subprocess, as a user would. Without an ``--out`` it
    writes to a temporary folder, never to the committed saved_models/."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory(prefix="train-out-") as out:
        extra = [] if "--out" in args else ["--out", out]
        return subprocess.run(
            [sys.executable, os.path.join(ROOT, "train.py"), *args, *extra],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
        )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """Two tiny models (LSTM, GRU) and every artifact, from `train.py --limit` on tiny data."""
    root = tmp_path_factory.mktemp("run")
    data = write_aclimdb(root / "data", per_class=30)
    out = root / "models"
    result = run_train(
        "--data",
        data,
        "--out",
        str(out),
        "--limit",
        "40",
        "--epochs",
        "2",
        *TINY_SIZE,
        "--cells",
        "lstm",
        "gru",
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return out, result


@pytest.fixture(scope="session")
def tiny_lesson(tiny_run, tmp_path_factory):
    """Last-state Elman and LSTM models on the tiny data, with their why_gates.json."""
    from sentiment.cli.why_gates import main as analyse

    out, _ = tiny_run
    data = str(out.parent / "data" / "aclImdb")
    lesson = tmp_path_factory.mktemp("lesson")
    result = run_train(
        "--data",
        data,
        "--out",
        str(lesson),
        "--limit",
        "40",
        "--epochs",
        "1",
        *TINY_SIZE,
        "--cells",
        "elman",
        "lstm",
        "--pooling",
        "last",
        "--no-bidirectional",
        "--adversarial",
        "0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert analyse([str(lesson), "--data", data, "--reviews", "25"]) == 0
    return lesson


@pytest.fixture(scope="session")
def tiny_atlas(tiny_run, tmp_path_factory):
    """The tiny models of `tiny_run`, copied, with their unit atlases (`python -m sentiment units`)."""
    import shutil

    from sentiment.cli.units import main as units

    out, _ = tiny_run
    folder = tmp_path_factory.mktemp("atlas") / "models"
    shutil.copytree(out, folder)
    data = str(out.parent / "data" / "aclImdb")
    assert units([str(folder), "--data", data, "--reviews", "20", "--validation", "20"]) == 0
    return folder


@pytest.fixture(scope="session")
def tiny_suite(tiny_run, tiny_lesson, tmp_path_factory):
    """The tiny models of `tiny_run`, copied, with the behavioural suite's results (`python -m sentiment suite`)."""
    import shutil

    from sentiment.cli.suite import main as run_suite

    out, _ = tiny_run
    folder = tmp_path_factory.mktemp("suite") / "models"
    shutil.copytree(out, folder)
    data = str(out.parent / "data" / "aclImdb")
    assert run_suite(["--models", str(folder), "--lesson", str(tiny_lesson), "--data", data]) == 0
    return folder


def contents(folder) -> dict[str, str]:
    """{relative path: sha256} of every file below ``folder``: to show a command wrote nothing."""
    return {
        os.path.relpath(os.path.join(root, name), folder): hashlib.sha256(
            open(os.path.join(root, name), "rb").read()
        ).hexdigest()
        for root, _, names in os.walk(folder)
        for name in names
    }
