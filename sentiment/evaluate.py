"""Test-set metrics, the TF-IDF baseline, the report and the training curves."""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn import metrics

from sentiment.files import atomic_path, write_text
from sentiment.results import BaselineResult, ClassificationMetrics, LengthBucket, RunMetrics

# Upper ends of the review-length buckets, in tokens (the models read 800 by default).
LENGTH_EDGES = (100, 200, 400, 800)
PREDICTIONS = "test_predictions.npz"  # beside metrics.json


def length_labels(edges=LENGTH_EDGES) -> list[str]:
    lows = [0, *edges]
    return [f"<={edges[0]}", *(f"{lo + 1}-{hi}" for lo, hi in zip(lows[1:], edges[1:])), f">{edges[-1]}"]


def accuracy_by_length(
    labels: np.ndarray, probs: np.ndarray, lengths: np.ndarray, edges=LENGTH_EDGES
) -> list[LengthBucket]:
    """Accuracy in each length bucket (``lengths`` in tokens), with its count."""
    labels, lengths = np.asarray(labels), np.asarray(lengths)
    bucket = np.searchsorted(np.asarray(edges), lengths, side="left")  # length <= edge[i] -> bucket i
    correct = (np.asarray(probs) >= 0.5).astype(int) == labels
    out = []
    for i, label in enumerate(length_labels(edges)):
        n = int(np.sum(bucket == i))
        out.append(LengthBucket(label, n, float(correct[bucket == i].mean()) if n else None))
    return out


def classification_metrics(
    labels: np.ndarray, probs: np.ndarray, lengths: np.ndarray | None = None
) -> ClassificationMetrics:
    """Accuracy, precision, recall, F1, ROC-AUC, the confusion matrix and,
    given each review's length in tokens, the accuracy by length."""
    pred = (probs >= 0.5).astype(int)
    return ClassificationMetrics(
        accuracy=float(metrics.accuracy_score(labels, pred)),
        precision=float(metrics.precision_score(labels, pred, zero_division=0)),
        recall=float(metrics.recall_score(labels, pred, zero_division=0)),
        f1=float(metrics.f1_score(labels, pred, zero_division=0)),
        roc_auc=float(metrics.roc_auc_score(labels, probs)) if len(set(labels)) > 1 else None,
        # rows: true neg/pos; columns: predicted neg/pos
        confusion_matrix=metrics.confusion_matrix(labels, pred, labels=[0, 1]).tolist(),
        n=int(len(labels)),
        by_length=[] if lengths is None else accuracy_by_length(labels, probs, lengths),
    )


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
    from sentiment.data import StreamedIds, batches

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


def tfidf_baseline(
    train_texts, train_labels, val_texts, val_labels, test_texts, test_labels, seed: int, test_lengths=None
) -> tuple[BaselineResult, np.ndarray]:
    """TF-IDF of word 1-2 grams + logistic regression; C chosen on validation.

    Returns:
        Its figures, and its P(positive) for each test review.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")
    x_train = vectorizer.fit_transform(train_texts)
    x_val, x_test = vectorizer.transform(val_texts), vectorizer.transform(test_texts)
    best = None
    for c in (1.0, 4.0, 16.0):
        clf = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x_train, train_labels)
        val_acc = metrics.accuracy_score(val_labels, clf.predict(x_val))
        if best is None or val_acc > best[0]:
            best = (val_acc, c, clf)
    val_acc, c, clf = best
    probs = clf.predict_proba(x_test)[:, 1]
    return BaselineResult(
        test=classification_metrics(np.asarray(test_labels), probs, test_lengths),
        C=c,
        val_accuracy=float(val_acc),
        features=int(x_train.shape[1]),
        parameters=int(x_train.shape[1] + 1),
        train_seconds=round(time.perf_counter() - start, 1),
    ), probs


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _auc(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def report_markdown(summary: RunMetrics) -> str:
    """The LSTM vs GRU vs baseline table and what the run was."""
    rows = [
        "| model | test accuracy | F1 | ROC-AUC | precision | recall | parameters | train time | reviews/s "
        "| best val acc |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in summary.models.items():
        t = m.test
        rows.append(
            f"| {name} | {_pct(t.accuracy)} | {_pct(t.f1)} | {_auc(t.roc_auc)} | {_pct(t.precision)} "
            f"| {_pct(t.recall)} | {m.parameters:,} | {m.train_seconds:.0f} s | {m.train_reviews_per_s:.0f} "
            f"| {_pct(m.best_val_accuracy)} |"
        )
    b = summary.baseline
    if b:
        rows.append(
            f"| TF-IDF 1-2 grams + logistic regression (C={b.C:g}) | {_pct(b.test.accuracy)} | {_pct(b.test.f1)} "
            f"| {_auc(b.test.roc_auc)} | {_pct(b.test.precision)} | {_pct(b.test.recall)} | {b.parameters:,} "
            f"| {b.train_seconds:.0f} s | | {_pct(b.val_accuracy)} |"
        )
    data = summary.data
    lines = [
        "# LSTM vs GRU on IMDB",
        "",
        f"Command: `{summary.command}`  ",
        f"Data: {data.source}: {data.train:,} training, {data.val:,} validation "
        f"({data.val_split}), {data.test:,} test reviews; vocabulary {summary.vocabulary_size:,} words.  ",
        f"Finished: {summary.finished}; machine: {summary.machine}.",
        "",
        "All figures are on the test set, which was used for nothing else (model selection "
        "and early stopping used the validation split).",
        "",
        *rows,
        "",
        "Confusion matrices (rows: true negative/positive; columns: predicted negative/positive):",
        "",
    ]
    for name, m in summary.models.items():
        lines.append(f"- {name}: {m.test.confusion_matrix}")
    if b:
        lines.append(f"- baseline: {b.test.confusion_matrix}")
    lines += by_length_markdown(summary)
    lines += ["", "Model configuration:", "", "```", *(f"{k}: {v}" for k, v in summary.options.items()), "```", ""]
    return "\n".join(lines)


def by_length_markdown(summary: RunMetrics) -> list[str]:
    """Test accuracy by review length (tokens before the model's limit), one column per model."""
    results = {name: m.test for name, m in summary.models.items()}
    if summary.baseline:
        results["TF-IDF baseline"] = summary.baseline.test
    results = {name: t for name, t in results.items() if t.by_length}
    if not results:
        return []
    buckets = next(iter(results.values())).by_length
    lines = [
        "",
        "Test accuracy by review length (tokens before the models' length limit; reviews in each bucket):",
        "",
        "| length | reviews | " + " | ".join(results) + " |",
        "|---|---|" + "---|" * len(results),
    ]
    for i, bucket in enumerate(buckets):
        cells = " | ".join(_pct(t.by_length[i].accuracy) for t in results.values())
        lines.append(f"| {bucket.label} | {bucket.n:,} | {cells} |")
    return lines


CHOICES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "model_choices.md")


def write_report(path, summary: RunMetrics, choices_path: str | None = CHOICES) -> None:
    """report.md: this run's tables, then what each modelling choice gave
    (docs/model_choices.md, where there is one)."""
    text = report_markdown(summary)
    if choices_path and os.path.isfile(choices_path):
        with open(choices_path, encoding="utf-8") as f:
            text += "\n" + f.read().strip() + "\n"
    write_text(path, text)


def plot_curves(path, histories: dict[str, dict]) -> None:
    """Loss and accuracy per epoch, training and validation, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, hist in histories.items():
        epochs = range(1, len(hist["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            (line,) = ax.plot(epochs, hist[key], "--", label=f"{name} train")
            ax.plot(epochs, hist[f"val_{key}"], "-", color=line.get_color(), label=f"{name} validation")
    from matplotlib.ticker import MaxNLocator

    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def reevaluate(folder: str, data: str | None) -> str:
    """Predicts the test set again with every model in ``folder`` (and the
    TF-IDF baseline, refitted on the same split), and writes what an older
    train.py did not: test_predictions.npz and the accuracy by length in
    metrics.json. Every other figure is kept; a model whose test accuracy
    differs from the one recorded is an error (the file is not rewritten).

    Returns:
        A summary of what was written.
    """
    from sentiment import data as imdb
    from sentiment.model import classifier_of, load_model, text_to_ids
    from sentiment.results import load_run_metrics, write_run_metrics
    from sentiment.tables import TableConfig

    metrics = load_run_metrics(os.path.join(folder, "metrics.json"))
    seed = int(metrics.options.get("seed", 1337))
    dataset = imdb.load_imdb(data, TableConfig.from_options(metrics.options), seed)
    train_all = imdb.limit(dataset.train, metrics.data.limit, seed)
    test = imdb.limit(dataset.test, metrics.data.limit, seed)
    probs, lengths = {}, None
    for name, result in metrics.models.items():
        model = load_model(os.path.join(folder, result.file))
        if lengths is None:
            lengths = imdb.token_counts(test.texts, model.get_layer("vectorizer"))
        ids = imdb.token_ids(test.texts, text_to_ids(model))
        p = probs[name] = predict_token_ids(classifier_of(model), ids)
        again = classification_metrics(test.labels, p, lengths)
        if abs(again.accuracy - result.test.accuracy) > 1e-9:
            raise ValueError(
                f"{name}: test accuracy {again.accuracy:.5f} now, {result.test.accuracy:.5f} in metrics.json: "
                "not the same model or data; retrain instead."
            )
        result.test.by_length = again.by_length
    if metrics.baseline is not None:
        train, val = imdb.train_val_split(train_all, float(metrics.options.get("val_fraction", 0.1)), seed)
        baseline, probs["tfidf"] = tfidf_baseline(
            train.texts, train.labels, val.texts, val.labels, test.texts, test.labels, seed, lengths
        )
        if abs(baseline.test.accuracy - metrics.baseline.test.accuracy) > 1e-9:
            raise ValueError(
                f"baseline: test accuracy {baseline.test.accuracy:.5f} now, {metrics.baseline.test.accuracy:.5f} "
                "in metrics.json: not the same data; retrain instead."
            )
        metrics.baseline.test.by_length = baseline.test.by_length
    save_test_predictions(os.path.join(folder, PREDICTIONS), test.ids, test.labels, lengths, probs)
    write_run_metrics(os.path.join(folder, "metrics.json"), metrics)
    write_report(os.path.join(folder, "report.md"), metrics)
    return (
        f"{folder}: {PREDICTIONS} ({len(test.ids):,} reviews; {', '.join(probs)}) and accuracy by length "
        "in metrics.json and report.md"
    )


def main(argv=None) -> int:
    """``python -m sentiment.evaluate FOLDER --data PATH``: see `reevaluate`."""
    import argparse
    import sys

    p = argparse.ArgumentParser(description=reevaluate.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="a folder train.py wrote (metrics.json and the .keras files)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the models were trained on")
    args = p.parse_args(argv)
    try:
        print(reevaluate(args.folder, args.data))
    except ValueError as err:  # DataError, MetricsFileError, ModelLoadError and mismatches are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
