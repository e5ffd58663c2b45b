"""Test-set metrics, the paired comparisons of a run's models, the report and the training curves."""

from __future__ import annotations

import os

import numpy as np
from sklearn import metrics

from sentiment.files import atomic_path, write_text
from sentiment.results import ClassificationMetrics, EnsembleResult, LengthBucket, RunMetrics
from sentiment.significance import compare, format_p, mean_std

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


def run_name(cell: str, seed: int) -> str:
    """A training run's name in test_predictions.npz and runs/: "lstm-seed1338"."""
    return f"{cell}-seed{seed}"


BASELINE_LABELS = {"tfidf": "TF-IDF", "nbsvm": "NBSVM"}
ENSEMBLE_LABELS = {"ensemble": "ensemble of the kept models", "ensemble_all": "ensemble of every run"}


def display_name(key: str) -> str:
    """ "lstm" -> "LSTM", "tfidf" -> "TF-IDF", "ensemble" -> "ensemble of the kept models"."""
    return BASELINE_LABELS.get(key) or ENSEMBLE_LABELS.get(key) or key.upper()


def add_comparisons(summary: RunMetrics, labels: np.ndarray, probs: dict[str, np.ndarray], lengths=None) -> None:
    """Fills ``summary.ensembles`` and ``summary.comparisons`` from the test predictions.

    Ensembles (the mean P(positive)): of the kept model of each cell, and, when
    a cell was trained more than once, of every run. Paired tests (McNemar's
    exact test and a bootstrap 95% interval of the accuracy difference): each
    pair of kept models, each kept model and ensemble against each baseline.

    Args:
        summary: the run; its models, runs and baselines name the keys of ``probs``.
        labels: the test labels, in the order of ``probs``.
        probs: P(positive) per test review, by name (cells, runs, baselines).
        lengths: each test review's length in tokens, for the ensembles' accuracy by length.
    """
    labels = np.asarray(labels)
    seed = int(summary.options.get("seed", 0))
    cells = [c for c in summary.models if c in probs]
    summary.ensembles = {}
    if len(cells) > 1:
        summary.ensembles["ensemble"] = EnsembleResult(cells, _mean_test(labels, probs, cells, lengths))
    every = [run_name(c, r.seed) for c in cells for r in summary.runs.get(c, []) if r.seed is not None]
    every = [name for name in every if name in probs]
    if len(every) > len(cells):
        summary.ensembles["ensemble_all"] = EnsembleResult(every, _mean_test(labels, probs, every, lengths))
    ensembled = {name: np.mean([probs[m] for m in e.members], axis=0) for name, e in summary.ensembles.items()}
    baselines = [b for b in summary.baselines if b in probs]
    pairs = [(a, b) for i, a in enumerate(cells) for b in cells[i + 1 :]]
    pairs += [(a, b) for a in [*cells, *ensembled] for b in baselines]
    both = {**probs, **ensembled}
    summary.comparisons = [compare(a, b, labels, both[a], both[b], seed=seed) for a, b in pairs]


def _mean_test(labels, probs, members, lengths) -> ClassificationMetrics:
    return classification_metrics(labels, np.mean([probs[m] for m in members], axis=0), lengths)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _auc(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _mean_pm(values: list[float | None], scale: float = 100, digits: int = 2, unit: str = "%") -> str:
    """ "90.41 ± 0.12%" (sample standard deviation), or the one value."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    mean, std = mean_std(values)
    if std is None:
        return f"{scale * mean:.{digits}f}{unit}"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}{unit}"


def report_markdown(summary: RunMetrics) -> str:
    """The LSTM vs GRU vs baselines tables, the repeated runs, the paired tests and what the run was."""
    rows = [
        "| model | test accuracy | F1 | ROC-AUC | precision | recall | parameters | train time | reviews/s "
        "| best val acc | seed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in summary.models.items():
        t = m.test
        rows.append(
            f"| {name} | {_pct(t.accuracy)} | {_pct(t.f1)} | {_auc(t.roc_auc)} | {_pct(t.precision)} "
            f"| {_pct(t.recall)} | {m.parameters:,} | {m.train_seconds:.0f} s | {m.train_reviews_per_s:.0f} "
            f"| {_pct(m.best_val_accuracy)} | {'' if m.seed is None else m.seed} |"
        )
    for b in summary.baselines.values():
        rows.append(
            f"| {b.name} (C={b.C:g}) | {_pct(b.test.accuracy)} | {_pct(b.test.f1)} "
            f"| {_auc(b.test.roc_auc)} | {_pct(b.test.precision)} | {_pct(b.test.recall)} | {b.parameters:,} "
            f"| {b.train_seconds:.0f} s | | {_pct(b.val_accuracy)} | |"
        )
    data = summary.data
    repeated = any(len(summary.runs_of(c)) > 1 for c in summary.models)
    kept = "the run with the best validation accuracy of each cell" if repeated else "one run per cell"
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
        f"## Single models ({kept})",
        "",
        *rows,
        *repeats_markdown(summary),
        *ensembles_markdown(summary),
        *comparisons_markdown(summary),
        *cost_markdown(summary),
        "",
        "Confusion matrices (rows: true negative/positive; columns: predicted negative/positive):",
        "",
    ]
    for name, m in summary.models.items():
        lines.append(f"- {name}: {m.test.confusion_matrix}")
    for key, b in summary.baselines.items():
        lines.append(f"- {display_name(key)}: {b.test.confusion_matrix}")
    lines += by_length_markdown(summary)
    lines += pretraining_markdown(summary)
    lines += teacher_markdown(summary)
    lines += ["", "Model configuration:", "", "```", *(f"{k}: {v}" for k, v in summary.options.items()), "```", ""]
    return "\n".join(lines)


def repeats_markdown(summary: RunMetrics) -> list[str]:
    """Mean ± standard deviation over each cell's runs (--seeds): the run-to-run noise."""
    if not any(len(summary.runs_of(c)) > 1 for c in summary.models):
        return []
    lines = [
        "",
        "## Repeated runs: mean ± standard deviation over seeds",
        "",
        "Each cell trained with different seeds (initial weights, dropout, batch order) on the same split.",
        "",
        "| cell | runs | test accuracy | F1 | ROC-AUC | best val acc | train time | reviews/s "
        "| each run's test accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in summary.models:
        runs = summary.runs_of(cell)
        each = ", ".join(f"{100 * r.test.accuracy:.2f}% (seed {r.seed})" for r in runs)
        lines.append(
            f"| {cell} | {len(runs)} | {_mean_pm([r.test.accuracy for r in runs])} "
            f"| {_mean_pm([r.test.f1 for r in runs])} | {_mean_pm([r.test.roc_auc for r in runs], 1, 4, '')} "
            f"| {_mean_pm([r.best_val_accuracy for r in runs])} "
            f"| {_mean_pm([r.train_seconds for r in runs], 1, 0, ' s')} "
            f"| {_mean_pm([r.train_reviews_per_s for r in runs], 1, 0, '')} | {each} |"
        )
    return lines


def ensembles_markdown(summary: RunMetrics) -> list[str]:
    if not summary.ensembles:
        return []
    lines = [
        "",
        "## Ensembles (the mean of the members' P(positive); not single models)",
        "",
        "| ensemble | members | test accuracy | F1 | ROC-AUC |",
        "|---|---|---|---|---|",
    ]
    for key, e in summary.ensembles.items():
        lines.append(
            f"| {display_name(key)} | {', '.join(e.members)} | {_pct(e.test.accuracy)} | {_pct(e.test.f1)} "
            f"| {_auc(e.test.roc_auc)} |"
        )
    return lines


def comparisons_markdown(summary: RunMetrics) -> list[str]:
    """The paired tests as a table and one plain sentence each."""
    if not summary.comparisons:
        return []
    n = summary.comparisons[0].n
    lines = [
        "",
        f"## Is the difference real? Paired tests on the {n:,} test reviews",
        "",
        "McNemar's exact test on the reviews exactly one of the two models gets right, and a paired "
        "bootstrap (10,000 resamples of the test reviews) 95% interval of the accuracy difference. "
        "Kept models only (chosen on validation).",
        "",
        "| first | second | difference (points) | 95% CI | only first right | only second right | p (McNemar) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in summary.comparisons:
        lines.append(
            f"| {display_name(c.first)} | {display_name(c.second)} | {100 * c.difference:+.2f} "
            f"| [{100 * c.ci_low:+.2f}, {100 * c.ci_high:+.2f}] | {c.only_first:,} | {c.only_second:,} "
            f"| {format_p(c.p_value)} |"
        )
    lines += ["", *(f"- {c.sentence(display_name(c.first), display_name(c.second))}" for c in summary.comparisons)]
    return lines


def cost_markdown(summary: RunMetrics) -> list[str]:
    """Parameters and speed of the kept models side by side, per gate block where they differ."""
    from sentiment.cells import CELLS

    if len(summary.models) < 2:
        return []
    lines = ["", "## Cost side by side", "", "| cell | weight blocks | parameters | train reviews/s | test reviews/s |"]
    lines.append("|---|---|---|---|---|")
    for cell, m in summary.models.items():
        blocks = len(CELLS[cell].gates) if cell in CELLS else ""  # one weight block per gate or candidate
        runs = summary.runs_of(cell)
        lines.append(
            f"| {cell} | {blocks} | {m.parameters:,} | {_mean_pm([r.train_reviews_per_s for r in runs], 1, 0, '')} "
            f"| {_mean_pm([r.test_reviews_per_s for r in runs], 1, 0, '')} |"
        )
    lstm, gru = summary.models.get("lstm"), summary.models.get("gru")
    if lstm and gru:
        saved = lstm.parameters - gru.parameters
        lines += [
            "",
            f"The GRU's three weight blocks to the LSTM's four save {saved:,} parameters "
            f"({saved / lstm.parameters:.1%} of the model: the word embedding holds most of them); it trained at "
            f"{gru.train_reviews_per_s:,.0f} reviews/s to the LSTM's {lstm.train_reviews_per_s:,.0f} "
            f"({gru.train_reviews_per_s / lstm.train_reviews_per_s:.2f}x) on this machine.",
        ]
    return lines


def by_length_markdown(summary: RunMetrics) -> list[str]:
    """Test accuracy by review length (tokens before the model's limit), one column per model."""
    results = {name: m.test for name, m in summary.models.items()}
    results.update({f"{display_name(k)} baseline": b.test for k, b in summary.baselines.items()})
    results.update({display_name(k): e.test for k, e in summary.ensembles.items()})
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


def pretraining_markdown(summary: RunMetrics) -> list[str]:
    """What language-model pre-training (--pretrain-epochs) reached, for the models that had it."""
    had = {name: m.pretraining for name, m in summary.models.items() if m.pretraining}
    if not had:
        return []
    lines = [
        "",
        "Language-model pre-training on the training texts (`sentiment/pretrain.py`; validation "
        "perplexity of the full softmax after each epoch, forward and backward together):",
        "",
    ]
    for name, p in had.items():
        perplexity = ", ".join(f"{v:,.0f}" for v in p["val_perplexity"]) or "not measured"
        lines.append(f"- {name}: {len(p['loss'])} epochs in {p['seconds']:.0f} s; perplexity {perplexity}")
    return lines


def teacher_markdown(summary: RunMetrics) -> list[str]:
    """The NBSVM teacher of a --distill run: how its targets were made."""
    t = summary.teacher
    if not t:
        return []
    return [
        "",
        f"Distilled from NBSVM (`--distill {t['weight']}`, `sentiment/distill.py`): each training review's target "
        f"is {1 - t['weight']:.2f} × its label + {t['weight']:.2f} × the P(positive) of an NBSVM that did not see "
        f"it ({t['folds']} folds of the training reviews, C = {t['C']}; out-of-fold accuracy "
        f"{100 * t['accuracy']:.2f}%, {t['seconds']:.0f} s). Validation and test reviews are not used.",
    ]


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


def reevaluate(folder: str, data: str | None, add_baselines: tuple[str, ...] = ()) -> str:
    """Predicts the test set again with every model in ``folder`` (and the
    baselines, refitted on the same split), and writes what an older
    train.py did not: test_predictions.npz, the accuracy by length, the
    ensembles and the paired tests (McNemar, bootstrap) in metrics.json and
    report.md. Every other figure is kept; a model whose test accuracy
    differs from the one recorded is an error (the file is not rewritten).

    Args:
        folder: what train.py wrote.
        data: the data the models were trained on.
        add_baselines: baselines (``sentiment.baselines.BASELINES``) to fit
            where the run has none of that name, e.g. ``("nbsvm",)``.

    Returns:
        A summary of what was written.
    """
    from sentiment import data as imdb
    from sentiment.baselines import BASELINES
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
    # The other runs of --seeds: predicted again where their model is here, else as saved.
    saved_path = os.path.join(folder, PREDICTIONS)
    saved = load_test_predictions(saved_path)["probs"] if os.path.isfile(saved_path) else {}
    for cell, runs in metrics.runs.items():
        for run in runs:
            name = run_name(cell, run.seed)
            path = os.path.join(folder, run.file)
            if os.path.isfile(path):
                model = load_model(path)
                probs[name] = predict_token_ids(classifier_of(model), imdb.token_ids(test.texts, text_to_ids(model)))
            elif name in saved and len(saved[name]) == len(test.ids):
                probs[name] = saved[name]
    unknown = [b for b in add_baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"no baseline called {', '.join(unknown)}: choose from {', '.join(BASELINES)}")
    if metrics.baselines or add_baselines:
        train, val = imdb.train_val_split(train_all, float(metrics.options.get("val_fraction", 0.1)), seed)
    for key in add_baselines:
        if key not in metrics.baselines:
            metrics.baselines[key], probs[key] = BASELINES[key](
                train.texts, train.labels, val.texts, val.labels, test.texts, test.labels, seed, lengths
            )
    for key, recorded in metrics.baselines.items():
        if key in probs:
            continue  # fitted just now
        again, probs[key] = BASELINES[key](
            train.texts, train.labels, val.texts, val.labels, test.texts, test.labels, seed, lengths
        )
        if abs(again.test.accuracy - recorded.test.accuracy) > 1e-9:
            raise ValueError(
                f"{key} baseline: test accuracy {again.test.accuracy:.5f} now, {recorded.test.accuracy:.5f} "
                "in metrics.json: not the same data; retrain instead."
            )
        recorded.test.by_length = again.test.by_length
    add_comparisons(metrics, test.labels, probs, lengths)
    save_test_predictions(os.path.join(folder, PREDICTIONS), test.ids, test.labels, lengths, probs)
    write_run_metrics(os.path.join(folder, "metrics.json"), metrics)
    write_report(os.path.join(folder, "report.md"), metrics)
    return (
        f"{folder}: {PREDICTIONS} ({len(test.ids):,} reviews; {', '.join(probs)}), accuracy by length and "
        "paired tests in metrics.json and report.md"
    )


def main(argv=None) -> int:
    """``python -m sentiment.evaluate FOLDER --data PATH``: see `reevaluate`."""
    import argparse
    import sys

    p = argparse.ArgumentParser(description=reevaluate.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="a folder train.py wrote (metrics.json and the .keras files)")
    p.add_argument("--data", help="the aclImdb folder or its .tar.gz the models were trained on")
    p.add_argument(
        "--baselines",
        nargs="+",
        default=[],
        metavar="NAME",
        help="also fit these baselines where the run has none (tfidf, nbsvm), e.g. for a run from before NBSVM",
    )
    args = p.parse_args(argv)
    try:
        print(reevaluate(args.folder, args.data, tuple(args.baselines)))
    except ValueError as err:  # DataError, MetricsFileError, ModelLoadError and mismatches are ValueErrors
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
