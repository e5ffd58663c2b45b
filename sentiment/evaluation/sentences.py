"""Sentences people type: a run's models scored on SST-2's whole sentences
(sentiment.data.sst), beside their IMDB figures.

IMDB's reviews run to 230 words on average; the treebank's sentences to 17.
A model that reads reviews well may still misread a sentence, which is what
the app is given. So every run given ``--sst`` reports SST-2 dev and test
accuracy for each model, the baselines and the ensembles, the paired tests
between them on the test sentences, and the published figures of models
trained on SST itself for reference.
"""

from __future__ import annotations

import numpy as np

from sentiment.evaluation.metrics import classification_metrics
from sentiment.evaluation.results import RunMetrics, SentenceResults, SentenceScores
from sentiment.evaluation.significance import compare

# Sentence-level SST-2 test accuracy of models trained on SST itself (../shared/data/README.md).
PUBLISHED = (
    ("RNTN", "Socher et al. 2013", 0.854),
    ("BiLSTM with GloVe vectors", "Tai et al. 2015", 0.875),
    ("CNN with word2vec vectors", "Kim 2014", 0.881),
)
SPLITS = ("dev", "test")


def sentence_results(
    summary: RunMetrics,
    labels: dict[str, np.ndarray],
    probs: dict[str, dict[str, np.ndarray]],
    source: str,
    weight: float = 0.0,
    train_phrases: int = 0,
    measured_by: str = "",
) -> SentenceResults:
    """Every model's SST-2 figures, the run's ensembles on the sentences, and
    the paired tests on the test sentences.

    Args:
        summary: the run; its models, runs, baselines and ensembles name the keys of ``probs``.
        labels: ``{"dev": ..., "test": ...}``, the sentences' labels (1 positive).
        probs: ``{"dev": {name: P(positive)}, "test": {...}}``: each model's, in the order of ``labels``.
        source: where the sentences were read.
        weight: SST batches per IMDB batch the recurrent models trained on (0: IMDB alone).
        train_phrases: SST training phrases the run drew from (0 when not trained on them).
        measured_by: the command that scored them.
    """
    for split in SPLITS:
        wrong = {n: len(p) for n, p in probs[split].items() if len(p) != len(labels[split])}
        if wrong:
            raise ValueError(f"sentence_results: {len(labels[split])} {split} labels but {wrong} predictions")
    probs = {split: dict(probs[split]) for split in SPLITS}
    ensembles = [k for k, e in summary.ensembles.items() if all(m in probs["test"] for m in e.members)]
    for split in SPLITS:
        for key in ensembles:
            probs[split][key] = np.mean([probs[split][m] for m in summary.ensembles[key].members], axis=0)
    scores = {
        name: SentenceScores(*(classification_metrics(labels[s], probs[s][name]) for s in SPLITS))
        for name in probs["test"]
        if name in probs["dev"]
    }
    cells = [c for c in summary.models if c in scores]
    baselines = [b for b in summary.baselines if b in scores]
    pairs = [(a, b) for i, a in enumerate(cells) for b in cells[i + 1 :]]
    pairs += [(a, b) for a in [*cells, *ensembles] for b in baselines]
    seed = int(summary.options.get("seed", 0))
    test = probs["test"]
    comparisons = [compare(a, b, labels["test"], test[a], test[b], seed=seed) for a, b in pairs]
    return SentenceResults(
        source=source,
        weight=float(weight),
        train_phrases=int(train_phrases),
        dev=int(len(labels["dev"])),
        test=int(len(labels["test"])),
        scores=scores,
        comparisons=comparisons,
        measured_by=measured_by,
    )
