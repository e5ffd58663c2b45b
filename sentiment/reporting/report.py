"""A run's report: report.md (the tables of LSTM vs GRU vs the baselines,
repeated runs, ensembles, paired tests, cost, accuracy by length) and
curves.png (loss and accuracy per epoch)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from sentiment.core.files import atomic_path, write_text
from sentiment.evaluation.results import RunMetrics, display_name
from sentiment.evaluation.sentences import PUBLISHED
from sentiment.evaluation.significance import format_p, mean_std
from sentiment.network.cells import CELLS


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
        *sentences_markdown(summary),
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


def sentences_markdown(summary: RunMetrics) -> list[str]:
    """SST-2: each model on whole sentences beside its IMDB test accuracy, the
    published figures of models trained on SST, and the paired tests there."""
    sst = summary.sentences
    if sst is None:
        return []
    imdb = {name: m.test.accuracy for name, m in summary.models.items()}
    imdb.update({k: b.test.accuracy for k, b in summary.baselines.items()})
    imdb.update({k: e.test.accuracy for k, e in summary.ensembles.items()})
    trained = (
        f"the recurrent models trained on IMDB and {sst.train_phrases:,} SST phrases ({sst.weight:g} SST batches "
        "per IMDB batch); the baselines on IMDB alone"
        if sst.weight
        else "every model trained on IMDB alone"
    )
    lines = [
        "",
        "## Sentences people type: SST-2",
        "",
        f"The Stanford Sentiment Treebank's whole sentences ({sst.source}; neutral ones dropped): "
        f"{sst.dev:,} dev and {sst.test:,} test sentences, {trained}. Dev is for choosing between runs; "
        "test is read once, as IMDB's is.",
        "",
        "| model | IMDB test accuracy | SST-2 dev accuracy | SST-2 test accuracy | SST-2 test F1 "
        "| SST-2 test ROC-AUC |",
        "|---|---|---|---|---|---|",
    ]
    shown = [*summary.models, *summary.baselines, *summary.ensembles]
    for name in [n for n in shown if n in sst.scores]:
        s = sst.scores[name]
        lines.append(
            f"| {display_name(name)} | {_pct(imdb.get(name))} | {_pct(s.dev.accuracy)} | {_pct(s.test.accuracy)} "
            f"| {_pct(s.test.f1)} | {_auc(s.test.roc_auc)} |"
        )
    for model, paper, accuracy in PUBLISHED:
        lines.append(f"| {model} ({paper}), trained on SST: published | | | {100 * accuracy:.1f}% | | |")
    if sst.comparisons:
        lines += ["", f"Paired tests on the {sst.test:,} test sentences (as above):", ""]
        lines += [f"- {c.sentence(display_name(c.first), display_name(c.second))}" for c in sst.comparisons]
    if sst.measured_by:
        lines += ["", f"Measured by `{sst.measured_by}`."]
    return lines


def cost_markdown(summary: RunMetrics) -> list[str]:
    """Parameters and speed of the kept models side by side, per gate block where they differ."""
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


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHOICES = os.path.join(ROOT, "docs", "model_choices.md")


def write_report(path, summary: RunMetrics, choices_path: str | None = CHOICES, sections: Sequence[str] = ()) -> None:
    """report.md: this run's tables, ``sections`` (lines of markdown: measurements
    made on the run's models afterwards, e.g. the behavioural suite), then what
    each modelling choice gave (docs/model_choices.md, where there is one)."""
    text = report_markdown(summary) + "\n".join(sections)
    if choices_path and os.path.isfile(choices_path):
        with open(choices_path, encoding="utf-8") as f:
            text += "\n" + f.read().strip() + "\n"
    write_text(path, text)


def plot_curves(path, histories: dict[str, dict]) -> None:
    """Loss and accuracy per epoch, training and validation, one line per model."""
    # matplotlib only when a run writes its curves; the Agg backend (no screen) before pyplot loads.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, hist in histories.items():
        epochs = range(1, len(hist["loss"]) + 1)
        for ax, key in zip(axes, ("loss", "accuracy")):
            (line,) = ax.plot(epochs, hist[key], "--", label=f"{name} train")
            ax.plot(epochs, hist[f"val_{key}"], "-", color=line.get_color(), label=f"{name} validation")
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
