"""Adding a cell to CELLS is the only edit it needs to build, trace and chart."""

import keras
import numpy as np
import pytest
from keras import ops

from conftest import predict
from sentiment.network import cells
from sentiment.network.cells import RecurrentCell, sigmoid_gate, tanh_value


# Registered as every cell is: Bidirectional copies its layer through the config.
@keras.saving.register_keras_serializable(package="sentiment_tests")
class MinimalGatedCell(RecurrentCell):
    """A cell no module of the project knows: the minimal gated unit (Zhou et
    al., 2016), ``f=σ(W_f[h,x]+b_f)``, ``h̃=tanh(W[f⊙h,x]+b)``, ``h'=(1-f)⊙h+f⊙h̃``."""

    gates = (sigmoid_gate("gate", "f: forget and write at once"), tanh_value("candidate", "h̃"))

    def step_from_projection(self, projected, states, training=False):
        h_tm1 = self._recurrent_input(states[0], training)
        x_f, x_h = ops.split(projected, 2, axis=-1)
        u_f, u_h = ops.split(self.recurrent_kernel, 2, axis=-1)
        f = ops.sigmoid(x_f + ops.matmul(h_tm1, u_f))
        h_hat = ops.tanh(x_h + ops.matmul(f * h_tm1, u_h))
        h = (1 - f) * states[0] + f * h_hat
        return h, [h], (f, h_hat)


@pytest.fixture
def mgu(monkeypatch, tiny_vocab):
    from sentiment.network.model import ModelConfig, build_model

    monkeypatch.setitem(cells.CELLS, "mgu", MinimalGatedCell)
    return build_model(
        ModelConfig(cell="mgu", vocab_size=200, units=4, embedding_dim=5, max_length=12, head=4), tiny_vocab
    )


def test_a_new_cell_builds_predicts_and_traces(mgu):
    from sentiment.analysis.reading import trace
    from sentiment.network.model import recurrent_cell_name

    assert MinimalGatedCell.gate_names == ("gate", "candidate") and MinimalGatedCell.state_names == ("hidden",)
    assert recurrent_cell_name(mgu) == "mgu"
    t = trace(mgu, "a great movie, I loved it")
    assert abs(t.probability - predict(mgu, ["a great movie, I loved it"])[0]) < 1e-5
    assert [layer.names for layer in t.layers] == [["gate", "candidate", "hidden"]] * 2
    gate = t.layers[0].values["gate"]
    assert gate.shape == (6, 4) and 0 < gate.min() and gate.max() < 1


def test_a_new_cell_charts_on_the_ranges_it_declares(mgu):
    from sentiment.analysis.reading import trace
    from sentiment.app.charts import review as charts

    t = trace(mgu, "a great movie, I loved it")
    layer = t.layers[1]
    spec = charts.summary_chart(layer, t.tokens, 0, len(t.tokens)).to_dict(validate=True)
    domains = [part["encoding"]["color"]["scale"]["domain"] for part in spec["vconcat"]]
    assert domains == [[0.0, 1.0], [-1.0, 1.0]]  # the gate; the candidate and the hidden state
    for name in layer.names:
        charts.detail_chart(layer, name, t.tokens, 0, len(t.tokens)).to_dict(validate=True)
        assert 'title="a #0' in charts.shaded_text(layer, name, t.tokens)


def test_an_unbounded_state_gets_a_scale_that_fits_it():
    from sentiment.app.charts import review as charts
    from sentiment.network.cells import LSTMCell

    cell_state = LSTMCell.quantity("cell")
    assert not cell_state.bounded
    assert charts.color_range(cell_state, np.array([[-2.5, 0.3], [1.0, 0.0]])) == (-2.5, 2.5)
    assert charts.color_range(LSTMCell.quantity("forget"), np.array([[3.0]])) == (0.0, 1.0)
    with pytest.raises(ValueError, match="has no gate or state 'update'"):
        LSTMCell.quantity("update")


def test_every_cell_describes_every_gate_and_state():
    for name, cell_cls in cells.CELLS.items():
        for q in (*cell_cls.gates, *cell_cls.states):
            assert q.meaning and q.activation, (name, q)
            assert q.low < q.high
        assert cell_cls.states[0].name == "hidden"  # the output, which the traces check against the layer
        assert isinstance(cell_cls(3), keras.layers.Layer)
