"""Knowledge distillation from an NBSVM teacher (sentiment.distill, --distill)."""

import numpy as np
import pytest

from conftest import TINY_SIZE, run_train, tiny_ids_and_labels, write_aclimdb
from sentiment.distill import out_of_fold_nbsvm, soft_targets


def _corpus(n: int, seed: int, learnable: bool):
    """Reviews of random filler words; ``learnable``: a positive review also
    says "splendid" or "lovely", a negative one "dreadful" or "awful"."""
    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(300)]
    labels = rng.integers(0, 2, n)
    texts = []
    for y in labels:
        words = list(rng.choice(filler, 25))
        if learnable:
            words.insert(int(rng.integers(0, 25)), rng.choice(["splendid", "lovely"] if y else ["dreadful", "awful"]))
        texts.append(" ".join(words))
    return texts, labels


def test_teacher_learns_what_can_be_learned():
    texts, labels = _corpus(300, seed=0, learnable=True)
    teacher = out_of_fold_nbsvm(texts, labels, folds=3, seed=0)
    assert teacher.accuracy > 0.95
    assert teacher.probs.shape == (300,) and np.all((teacher.probs > 0) & (teacher.probs < 1))
    assert np.mean((teacher.probs > 0.5) == labels) == pytest.approx(teacher.accuracy)
    assert teacher.folds == 3 and teacher.C in (0.1, 0.3, 1.0) and teacher.seconds >= 0


def test_teacher_never_scores_a_review_it_was_fitted_on():
    """Labels that are noise: fitted on them, NBSVM memorises the labels of the
    reviews it saw; out of fold it can only guess."""
    from sentiment.baselines import logistic_regression, nbsvm_features

    texts, labels = _corpus(400, seed=1, learnable=False)
    (x,) = nbsvm_features(texts, labels)
    seen = logistic_regression(1.0, seed=1).fit(x, labels).predict(x)
    assert np.mean(seen == labels) > 0.9  # what leaking the review into its own teacher would give
    teacher = out_of_fold_nbsvm(texts, labels, folds=4, seed=1)
    assert 0.35 < teacher.accuracy < 0.65


def test_soft_targets_mix_label_and_teacher():
    labels = np.array([1, 1, 0, 0])
    teacher = np.array([0.9, 0.0, 0.2, 1.0])
    np.testing.assert_allclose(soft_targets(labels, teacher, 0.4), [0.96, 0.6, 0.08, 0.4], atol=1e-6)
    np.testing.assert_array_equal(soft_targets(labels, teacher, 0.0), labels)
    # The label keeps the majority: a target rounds to its label whatever the teacher says.
    np.testing.assert_array_equal(np.round(soft_targets(labels, 1 - labels, 0.49)), labels)
    assert soft_targets(labels, teacher, 0.3).dtype == np.float32


@pytest.mark.parametrize("weight", [-0.1, 0.5, 1.0])
def test_soft_targets_refuse_a_teacher_weight_that_could_outvote_the_label(weight):
    with pytest.raises(ValueError, match=r"weight must be in \[0, 0.5\), got"):
        soft_targets(np.array([1, 0]), np.array([0.5, 0.5]), weight)


def test_teacher_errors_say_what_was_wrong():
    with pytest.raises(ValueError, match="one teacher probability per label"):
        soft_targets(np.array([1, 0]), np.array([0.5, 0.5, 0.5]), 0.2)
    with pytest.raises(ValueError, match="at least 2 folds, got folds=1"):
        out_of_fold_nbsvm(["a b", "c d"], np.array([0, 1]), folds=1)
    with pytest.raises(ValueError, match=r"each class needs at least 5 reviews .* \[6, 2\]"):
        out_of_fold_nbsvm(["good film"] * 8, np.array([0] * 6 + [1] * 2), folds=5)


def test_training_accuracy_reads_the_label_under_soft_targets(tiny_vocab, tmp_path):
    """Soft targets change the loss, not what training accuracy counts: the
    same weights give the same accuracy against the targets as against the labels."""
    import keras
    import tensorflow as tf

    from sentiment.fitting import Trainer
    from sentiment.model import classifier_of

    model, ids, labels = tiny_ids_and_labels(tiny_vocab)
    accuracies = []
    for targets in (labels, soft_targets(labels, 1 - labels, 0.45)):  # the worst teacher there is
        trainee = Trainer(classifier_of(model))
        trainee.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=["accuracy"])
        logs = trainee.fit(
            tf.data.Dataset.from_tensor_slices((ids, targets)).batch(len(labels)), shuffle=False, verbose=0
        )
        accuracies.append(logs.history["accuracy"][0])
    assert accuracies[0] == accuracies[1] and 0 <= accuracies[0] <= 1


@pytest.mark.slow
def test_distill_run_records_its_teacher(tmp_path):
    from sentiment.results import load_run_metrics

    data = write_aclimdb(tmp_path / "data", per_class=30)
    out = tmp_path / "out"
    result = run_train(
        "--data", data, "--out", str(out), "--limit", "40", "--epochs", "1", *TINY_SIZE,
        "--cells", "gru", "--no-baseline", "--distill", "0.3",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    metrics = load_run_metrics(out / "metrics.json")
    teacher = metrics.teacher
    assert teacher["weight"] == 0.3 and teacher["folds"] == 5 and 0 <= teacher["accuracy"] <= 1
    assert metrics.models["gru"].fit_config["distill"] == 0.3
    assert "out-of-fold accuracy" in result.stdout
    report = (out / "report.md").read_text()
    assert "Distilled from NBSVM" in report and f"{100 * teacher['accuracy']:.2f}%" in report


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0.5", "-0.1"])
def test_a_teacher_weight_out_of_range_is_refused(value):
    result = run_train("--limit", "40", "--distill", value)
    assert result.returncode == 2 and "--distill must be in [0, 0.5)" in result.stderr, result.stderr[-500:]
