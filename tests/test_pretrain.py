"""Language-model pre-training (sentiment.pretrain) on a tiny made-up language."""

import numpy as np
import pytest


def _counting_language(vocab: int = 40, reviews: int = 128, width: int = 16, seed: int = 0):
    """Reviews where each word is the one after the previous (ids 2..vocab-1,
    wrapping round), right-padded with 0: the next and the previous word are
    perfectly predictable, the first word is not."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(reviews):
        n, first = int(rng.integers(4, width)), int(rng.integers(0, vocab - 2))
        rows.append([(first + k) % (vocab - 2) + 2 for k in range(n)] + [0] * (width - n))
    return np.array(rows, "int64")


def _classifier(vocab: int, bidirectional: bool):
    from sentiment.model import ModelConfig, build_classifier

    config = ModelConfig(
        cell="gru",
        units=8,
        embedding_dim=8,
        vocab_size=vocab,
        token_dropout=0,
        embedding_dropout=0,
        bidirectional=bidirectional,
        pooling="max_mean" if bidirectional else "last",
    )
    return build_classifier(config, vocab)


def test_each_direction_predicts_its_neighbour_word_and_padding_is_left_out():
    from sentiment.pretrain import LanguageModel

    ids = np.array([[5, 6, 7, 0, 0], [9, 10, 0, 0, 0], [3, 0, 0, 0, 0]], "int64")
    lm = LanguageModel(_classifier(20, bidirectional=True))
    (forward_states, forward_targets), (backward_states, backward_targets) = lm.pairs(ids, training=False)
    # Forward: 5->6, 6->7, 9->10; backward (read from the end): 7->6, 6->5, 10->9.
    np.testing.assert_array_equal(forward_targets, [6, 7, 10])
    np.testing.assert_array_equal(backward_targets, [5, 6, 9])
    assert forward_states.shape == backward_states.shape == (3, 8)
    # The backward state that predicts 5 has read 7 and 6 only (the padding
    # before them changed nothing): the one that predicts 4 in "4 6 7".
    alone = lm.pairs(np.array([[4, 6, 7]], "int64"), training=False)[1]
    np.testing.assert_array_equal(alone[1], [4, 6])
    np.testing.assert_allclose(backward_states[0], alone[0][0], atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("bidirectional", [True, False])
def test_pretraining_learns_the_language_and_trains_only_the_reading_layers(bidirectional):
    import tensorflow as tf

    from sentiment.pretrain import pretrain

    ids = _counting_language()
    classifier = _classifier(40, bidirectional)
    before = {w.path: w.numpy().copy() for w in classifier.weights}
    ds = tf.data.Dataset.from_tensor_slices(ids).batch(32)
    result = pretrain(classifier, ds, ds, epochs=6, learning_rate=0.02, seed=1)
    assert len(result["loss"]) == len(result["val_perplexity"]) == 6
    # Chance is a perplexity of about 40; a learned language is far below it.
    assert result["val_perplexity"][0] > 25 and result["val_perplexity"][-1] < 0.5 * result["val_perplexity"][0]
    for w in classifier.weights:
        changed = not np.array_equal(before[w.path], w.numpy())
        assert changed == (not w.path.startswith("positive")), w.path  # the classifier's head is left alone


def test_pretrain_refuses_zero_epochs_and_a_model_without_our_layer():
    import keras
    import tensorflow as tf

    from sentiment.pretrain import pretrain

    ds = tf.data.Dataset.from_tensor_slices(_counting_language()).batch(32)
    with pytest.raises(ValueError, match="`epochs` must be at least 1. Received: epochs=0"):
        pretrain(_classifier(40, True), ds, None, epochs=0, learning_rate=0.01)
    ids = keras.Input(shape=(None,), dtype="int64")
    x = keras.layers.Embedding(40, 4, name="embedding")(ids)
    plain = keras.Model(ids, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(x)), name="plain")
    with pytest.raises(ValueError, match="'plain' has no recurrent layer of ours"):
        pretrain(plain, ds, None, epochs=1, learning_rate=0.01)
