"""Recurrent cells written from the gate equations.

Each cell keeps Keras's weight layout so it can be compared with the built-in
cells: ``kernel`` (input_dim, G*units), ``recurrent_kernel`` (units, G*units)
and ``bias`` (G*units,), with the G gate blocks in the order of ``gates``.

A cell describes itself: ``gates`` and ``states`` list what it computes at a
step, each a `Quantity` with its activation, range and meaning, so that the
traces, charts, app and benchmark ask the cell rather than guess by name.
``step_from_projection(x @ kernel + bias, states)`` does one time step and
returns every gate's value too; it is the only place the gate math lives.
``step(x, states)`` projects the input and calls it (what ``call``, used by
``keras.layers.RNN``, runs); a loop that projected a whole sequence at once
(one matmul instead of one a step, `sentiment.analysis.passes`) calls
``step_from_projection`` directly. A cell that writes ``step`` alone says so
(``reads_projection`` is False) and is run from its raw input everywhere.

Notation follows the reference notes: ``W[h, x]`` is written as the two
matmuls ``x @ kernel + h @ recurrent_kernel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from keras import ops

from sentiment.network.keras_internals import DropoutRNNCell

PACKAGE = "sentiment"


@dataclass(frozen=True)
class Quantity:
    """A gate or state a cell computes at every step.

    Attributes:
        name: as in the traces (``"forget"``, ``"hidden"``, ...).
        activation: the function that makes it (``"sigmoid"``, ``"tanh"``), or
            how it is formed, for a state.
        low, high: the values it can take (``-inf``/``inf``: unbounded).
        meaning: one line for a reader of the charts.
    """

    name: str
    activation: str
    low: float
    high: float
    meaning: str

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def is_gate(self) -> bool:
        """A sigmoid gate: a share in (0, 1) of something let through."""
        return self.activation == "sigmoid"


def sigmoid_gate(name: str, meaning: str) -> Quantity:
    return Quantity(name, "sigmoid", 0.0, 1.0, meaning)


def tanh_value(name: str, meaning: str, activation: str = "tanh") -> Quantity:
    return Quantity(name, activation, -1.0, 1.0, meaning)


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1). Received: {name}={value}")
    return value


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Shared machinery of our cells: weights, dropout, config, `call`.

    Subclasses set ``gates`` (in the order of the kernel's blocks) and
    ``states`` (in the order of the state list, ``hidden`` first: it is the
    output), and implement ``step_from_projection`` (or, for a cell whose
    input is not read through one projection, ``step``). ``gate_names``,
    ``state_names`` and ``reads_projection`` follow from them.
    """

    gates: tuple[Quantity, ...] = ()
    states: tuple[Quantity, ...] = (tanh_value("hidden", "h, what the layer outputs"),)
    # Training default that belongs to the cell: the size of the adversarial
    # step on word vectors (`--adversarial`), chosen per cell on validation
    # (docs/model_choices.md, round 2). A new cell inherits 0.05.
    default_adversarial: float = 0.05
    reads_projection: bool = False  # set for each subclass: whether it implements step_from_projection

    def __init__(
        self,
        units: int,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units = units
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = units
        n_states = len(self.state_names)
        self.state_size = units if n_states == 1 else [units] * n_states

    # Chrono initialisation (Tallec and Ollivier 2018): the gates whose bias
    # starts at +log(T) or -log(T), T drawn per unit, so that the unit keeps its
    # state for about T steps; empty: the cell has no gate that keeps anything.
    chrono: dict[str, int] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.gated = any(q.is_gate for q in cls.gates)
        cls.gate_names = tuple(q.name for q in cls.gates)
        cls.state_names = tuple(q.name for q in cls.states)
        cls.reads_projection = cls.step_from_projection is not RecurrentCell.step_from_projection

    @classmethod
    def quantity(cls, name: str) -> Quantity:
        """The gate or state called ``name``."""
        for q in (*cls.gates, *cls.states):
            if q.name == name:
                return q
        raise ValueError(
            f"{cls.__name__} has no gate or state {name!r}: it has {', '.join(cls.gate_names + cls.state_names)}."
        )

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    def chrono_bias(self, bias, log_keep):
        """``bias`` (a NumPy copy of this cell's) with its `chrono` gates'
        blocks set to ±``log_keep`` (one value per unit)."""
        if not self.chrono:
            raise ValueError(f"{type(self).__name__} has no gate that keeps its state: nothing for chrono to open.")
        value = bias.copy()
        for gate, sign in self.chrono.items():
            block = self.gate_names.index(gate) * self.units
            value[block : block + self.units] = sign * log_keep
        return value

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs a known input feature size. Received: input_shape={input_shape}"
            )
        width = self.num_gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, width), initializer=self.kernel_initializer, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        self.bias = self.add_weight(shape=(width,), initializer=self._bias_initializer(), name="bias")

    def _bias_initializer(self):
        return self.bias_initializer

    def step(self, inputs, states, training=False):
        """One time step from this step's input.

        Args:
            inputs: (batch, input_dim), after input dropout.
            states: the carried states, in the order of ``state_names``.
            training: whether recurrent dropout applies.

        Returns:
            ``(output, new_states, gates)``: ``output`` is ``new_states[0]``
            (the hidden state), ``gates`` a tuple of tensors in the order of
            ``gate_names``.
        """
        return self.step_from_projection(self.project(inputs), states, training)

    def step_from_projection(self, projected, states, training=False):
        """`step` from ``project(inputs)``, the input's share of every gate:
        where a cell's gate math lives."""
        raise NotImplementedError(f"{type(self).__name__} implements neither step_from_projection nor step.")

    def project(self, inputs):
        """``x @ kernel + bias``: the input's share of every gate, for one step
        (batch, input_dim) or a whole sequence (..., input_dim) in one matmul."""
        return ops.matmul(inputs, self.kernel) + self.bias

    def _recurrent_input(self, h_tm1, training):
        if training and self.recurrent_dropout > 0:
            return h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return h_tm1

    def drop_inputs(self, inputs, training=False):
        """Input dropout with the sequence's one mask (training only).

        Args:
            inputs: one step, (batch, input_dim), or a whole sequence,
                (batch, time, input_dim); the mask is the same for every step.
        """
        if not (training and self.dropout > 0):
            return inputs
        if len(inputs.shape) == 3:
            return inputs * ops.expand_dims(self.get_dropout_mask(inputs[:, 0, :]), 1)
        return inputs * self.get_dropout_mask(inputs)

    def call(self, inputs, states, training=False):
        output, new_states, _ = self.step(self.drop_inputs(inputs, training), states, training)
        return output, new_states

    def get_config(self):
        config = {
            "units": self.units,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTMCell(RecurrentCell):
    """Long short-term memory cell.

    ``f=σ(W_f[h,x]+b_f)``, ``i=σ(W_i[h,x]+b_i)``, ``c̃=tanh(W_c[h,x]+b_c)``,
    ``c'=f⊙c+i⊙c̃``, ``o=σ(W_o[h,x]+b_o)``, ``h'=o⊙tanh(c')``.

    Args:
        units: size of the hidden and cell state.
        unit_forget_bias: start the forget-gate bias at 1, so that early in
            training the cell remembers by default (Jozefowicz et al., 2015).
        dropout, recurrent_dropout: rates of the per-sequence dropout masks
            on the inputs and on ``h`` entering the recurrence (training only).
    """

    gates = (
        sigmoid_gate("input", "i: how much of the candidate is written to the cell"),
        sigmoid_gate("forget", "f: how much of the cell state is kept"),
        tanh_value("candidate", "c̃: the new content proposed for the cell"),
        sigmoid_gate("output", "o: how much of the cell state is shown as h"),
    )
    chrono = {"forget": 1, "input": -1}  # f open, i as shut: b_f = log(T), b_i = -b_f
    states = (
        Quantity("hidden", "o⊙tanh(c)", -1.0, 1.0, "h = o⊙tanh(c), what the layer outputs"),
        Quantity("cell", "f⊙c+i⊙c̃", -math.inf, math.inf, "c, the memory: f⊙c + i⊙c̃, unbounded"),
    )
    default_adversarial = 0.1

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def initializer(shape, dtype=None):
            return ops.concatenate(
                [
                    base((units,), dtype=dtype),
                    ops.ones((units,), dtype=dtype),
                    base((units * 2,), dtype=dtype),
                ]
            )

        return initializer

    def step_from_projection(self, projected, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        z = projected + ops.matmul(self._recurrent_input(h_tm1, training), self.recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = ops.sigmoid(z_i)
        f = ops.sigmoid(z_f)
        c_hat = ops.tanh(z_c)
        o = ops.sigmoid(z_o)
        c = f * c_tm1 + i * c_hat
        h = o * ops.tanh(c)
        return h, [h, c], (i, f, c_hat, o)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRUCell(RecurrentCell):
    """Gated recurrent unit, exactly the reference equations.

    ``z=σ(W_z[h,x]+b_z)``, ``r=σ(W_r[h,x]+b_r)``, ``h̃=tanh(W[r⊙h,x]+b)``,
    ``h'=(1−z)⊙h+z⊙h̃``: the reset gate scales ``h`` before the recurrent
    matmul, and ``z`` is the share of the *new* candidate (Keras's built-in GRU
    uses the opposite sign, ``h'=z⊙h+(1−z)⊙h̃``).
    """

    gates = (
        sigmoid_gate("update", "z: the share of the new candidate in h"),
        sigmoid_gate("reset", "r: how much of the past feeds the candidate"),
        tanh_value("candidate", "h̃: the new content proposed for h"),
    )
    chrono = {"update": -1}  # z, the share of the new candidate, small: b_z = -log(T)
    states = (Quantity("hidden", "(1-z)⊙h+z⊙h̃", -1.0, 1.0, "h: (1-z)⊙h + z⊙h̃, what the layer outputs"),)

    def step_from_projection(self, projected, states, training=False):
        h_tm1 = states[0]
        # Few, wide ops a step (faster than a slice and an activation per gate,
        # docs/benchmark.md): one split of the kernel, one sigmoid for z and r.
        x_zr, x_h = ops.split(projected, [2 * self.units], axis=-1)
        h_in = self._recurrent_input(h_tm1, training)
        u_zr, u_h = ops.split(self.recurrent_kernel, [2 * self.units], axis=-1)
        z, r = ops.split(ops.sigmoid(x_zr + ops.matmul(h_in, u_zr)), 2, axis=-1)
        h_hat = ops.tanh(x_h + ops.matmul(r * h_in, u_h))
        h = h_tm1 + z * (h_hat - h_tm1)  # = (1 - z) * h + z * h_hat
        return h, [h], (z, r, h_hat)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ElmanCell(RecurrentCell):
    """Elman RNN, the baseline the gates improve on: ``h'=tanh(W[h,x]+b)``."""

    gates = (tanh_value("candidate", "tanh(W[h,x]+b), which becomes h"),)

    def step_from_projection(self, projected, states, training=False):
        h = ops.tanh(projected + ops.matmul(self._recurrent_input(states[0], training), self.recurrent_kernel))
        return h, [h], (h,)


@keras.saving.register_keras_serializable(package=PACKAGE)
class JordanCell(RecurrentCell):
    """Jordan RNN: the recurrence feeds back the previous *output*, not the
    hidden layer: ``h=tanh(W[y,x]+b)``, ``y'=tanh(V h+c)``; ``y`` is the
    carried state and the output (``hidden`` in the traces, as for every cell).

    Weights: ``kernel``/``recurrent_kernel``/``bias`` as the Elman cell's (with
    ``y`` in place of ``h``), plus ``output_kernel`` (V) and ``output_bias`` (c).
    """

    gates = (tanh_value("candidate", "h = tanh(W[y,x]+b): the hidden layer, not fed back"),)
    states = (tanh_value("hidden", "y = tanh(V h + c): the output, fed back as the state"),)

    def build(self, input_shape):
        super().build(input_shape)
        self.output_kernel = self.add_weight(
            shape=(self.units, self.units), initializer=self.recurrent_initializer, name="output_kernel"
        )
        self.output_bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="output_bias")

    def step_from_projection(self, projected, states, training=False):
        h = ops.tanh(projected + ops.matmul(self._recurrent_input(states[0], training), self.recurrent_kernel))
        y = ops.tanh(ops.matmul(h, self.output_kernel) + self.output_bias)
        return y, [y], (h,)


CELLS: dict[str, type[RecurrentCell]] = {
    "lstm": LSTMCell,
    "gru": GRUCell,
    "elman": ElmanCell,
    "jordan": JordanCell,
}


def make_cell(name: str, units: int, **kwargs) -> RecurrentCell:
    """The cell called ``name`` (one of ``CELLS``)."""
    key = str(name).lower()
    if key not in CELLS:
        raise ValueError(f"Unknown cell {name!r}: choose one of {', '.join(sorted(CELLS))}.")
    return CELLS[key](units, **kwargs)
