"""Test-set metrics, the TF-IDF baseline, the report and the training curves."""

from __future__ import annotations

import time

import numpy as np
from sklearn import metrics

from sentiment.files import atomic_path, write_text


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict:
    """Accuracy, precision, recall, F1, ROC-AUC and the confusion matrix."""
    pred = (probs >= 0.5).astype(int)
    return {
        "accuracy": float(metrics.accuracy_score(labels, pred)),
        "precision": float(metrics.precision_score(labels, pred, zero_division=0)),
        "recall": float(metrics.recall_score(labels, pred, zero_division=0)),
        "f1": float(metrics.f1_score(labels, pred, zero_division=0)),
        "roc_auc": float(metrics.roc_auc_score(labels, probs)) if len(set(labels)) > 1 else None,
        # rows: true neg/pos; columns: predicted neg/pos
        "confusion_matrix": metrics.confusion_matrix(labels, pred, labels=[0, 1]).tolist(),
        "n": int(len(labels)),
    }


def tfidf_baseline(train_texts, train_labels, val_texts, val_labels, test_texts, test_labels, seed: int) -> dict:
    """TF-IDF of word 1-2 grams + logistic regression; C chosen on validation."""
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
    result = classification_metrics(np.asarray(test_labels), clf.predict_proba(x_test)[:, 1])
    result.update(
        {
            "C": c,
            "val_accuracy": float(val_acc),
            "features": int(x_train.shape[1]),
            "parameters": int(x_train.shape[1] + 1),
            "train_seconds": round(time.perf_counter() - start, 1),
        }
    )
    return result


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def report_markdown(summary: dict) -> str:
    """The LSTM vs GRU vs baseline table and what the run was."""
    rows = [
        "| model | test accuracy | F1 | ROC-AUC | precision | recall | parameters | train time | reviews/s "
        "| best val acc |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in summary["models"].items():
        t = m["test"]
        rows.append(
            f"| {name} | {_pct(t['accuracy'])} | {_pct(t['f1'])} | {t['roc_auc']:.4f} | {_pct(t['precision'])} "
            f"| {_pct(t['recall'])} | {m['parameters']:,} | {m['train_seconds']:.0f} s "
            f"| {m['train_reviews_per_s']:.0f} | {_pct(m['best_val_accuracy'])} |"
        )
    b = summary.get("baseline")
    if b:
        rows.append(
            f"| TF-IDF 1-2 grams + logistic regression (C={b['C']:g}) | {_pct(b['accuracy'])} | {_pct(b['f1'])} "
            f"| {b['roc_auc']:.4f} | {_pct(b['precision'])} | {_pct(b['recall'])} | {b['parameters']:,} "
            f"| {b['train_seconds']:.0f} s | | {_pct(b['val_accuracy'])} |"
        )
    data = summary["data"]
    lines = [
        "# LSTM vs GRU on IMDB",
        "",
        f"Command: `{summary['command']}`  ",
        f"Data: {data['source']}: {data['train']:,} training, {data['val']:,} validation "
        f"({data['val_split']}), {data['test']:,} test reviews; vocabulary {summary['vocabulary_size']:,} words.  ",
        f"Finished: {summary['finished']}; machine: {summary['machine']}.",
        "",
        "All figures are on the test set, which was used for nothing else (model selection "
        "and early stopping used the validation split).",
        "",
        *rows,
        "",
        "Confusion matrices (rows: true negative/positive; columns: predicted negative/positive):",
        "",
    ]
    for name, m in summary["models"].items():
        cm = m["test"]["confusion_matrix"]
        lines.append(f"- {name}: {cm}")
    if b:
        lines.append(f"- baseline: {b['confusion_matrix']}")
    lines += ["", "Model configuration:", "", "```", *(f"{k}: {v}" for k, v in summary["config"].items()), "```", ""]
    return "\n".join(lines)


def write_report(path, summary: dict, choices_md: str | None = None) -> None:
    """report.md: this run's table, then (if given) what each modelling choice gave."""
    text = report_markdown(summary)
    if choices_md:
        text += "\n" + choices_md.strip() + "\n"
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
