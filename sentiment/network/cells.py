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

A cell can also run as a *variant* (``variant="no_forget"``; Greff et al.
2017, "LSTM: A Search Space Odyssey"; Zhou et al. 2016, the minimal gated
unit): the same class with a gate fixed at a constant or tied to another
gate. The class describes the full cell; an instance describes what it
computes: a gate its variant does not compute is absent from its ``gates``
and has no weight block, so the traces, charts and unit atlas of a variant
show only what it really computes (docs/cells.md, "Variants").

Notation follows the reference notes: ``W[h, x]`` is written as the two
matmuls ``x @ kernel + h @ recurrent_kernel``.
"""

from __future__ import annotations

import functools
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


@dataclass(frozen=True)
class Variant:
    """A cell with a gate fixed at a constant or tied to another one.

    Attributes:
        equations: what it computes, in the notation of the notes.
        absent: the gates it does not compute (fixed, or tied to another
            gate): no weight block, no trace.
        changed: the gates and states whose description is not the full
            cell's (matched by name).
        source: where the variant comes from.
    """

    equations: str
    absent: tuple[str, ...] = ()
    changed: tuple[Quantity, ...] = ()
    source: str = ""


FULL = "full"


class _on_class_or_instance:
    """A method that reads the instance's description when called on a cell,
    and the class's (the full cell's) when called on the class."""

    def __init__(self, method):
        functools.update_wrapper(self, method)
        self.method = method

    def __get__(self, instance, owner):
        return functools.partial(self.method, owner if instance is None else instance)


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

    These class attributes describe the full cell. A subclass may list
    ``variants`` (name -> `Variant`) that its step computes when
    ``self.variant`` says so; an instance's ``gates``, ``gate_names``,
    ``states``, ``gated`` and ``chrono`` are its variant's, and its weights
    have one block per gate it computes.
    """

    gates: tuple[Quantity, ...] = ()
    states: tuple[Quantity, ...] = (tanh_value("hidden", "h, what the layer outputs"),)
    # Training default that belongs to the cell: the size of the adversarial
    # step on word vectors (`--adversarial`), chosen per cell on validation
    # (docs/model_choices.md, round 2). A new cell inherits 0.05.
    default_adversarial: float = 0.05
    reads_projection: bool = False  # set for each subclass: whether it implements step_from_projection
    variants: dict[str, Variant] = {FULL: Variant("the cell's own equations")}

    def __init__(
        self,
        units: int,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        seed: int | None = None,
        variant: str = FULL,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self._describe(variant)
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
        # A variant that names a gate or state the cell lacks would describe a
        # cell nobody wrote: fail where the class is defined, not in a chart.
        if FULL not in cls.variants or cls.variants[FULL].absent or cls.variants[FULL].changed:
            raise TypeError(f"{cls.__name__}.variants must have {FULL!r}, the cell itself, unchanged.")
        for name, variant in cls.variants.items():
            unknown = set(variant.absent) - set(cls.gate_names)
            unknown |= {q.name for q in variant.changed} - set(cls.gate_names + cls.state_names)
            if unknown:
                raise TypeError(f"{cls.__name__}'s variant {name!r} names no gate or state of it: {sorted(unknown)}.")

    def _describe(self, variant: str) -> None:
        """The instance's description: its variant's gates and states (the
        class keeps the full cell's, which class-level readers expect)."""
        cls = type(self)
        key = variant.lower() if isinstance(variant, str) else variant
        if key not in cls.variants:
            raise ValueError(
                f"{cls.__name__} has no variant {variant!r}: choose one of {', '.join(cls.variants)}. "
                f"Received: variant={variant!r}"
            )
        spec = cls.variants[key]
        changed = {q.name: q for q in spec.changed}
        self.variant = key
        self.gates = tuple(changed.get(q.name, q) for q in cls.gates if q.name not in spec.absent)
        self.states = tuple(changed.get(q.name, q) for q in cls.states)
        self.gate_names = tuple(q.name for q in self.gates)
        self.state_names = tuple(q.name for q in self.states)
        self.gated = any(q.is_gate for q in self.gates)
        # An absent gate has no bias for chrono to set; what the variant keeps
        # (or not) then rests on the gates left.
        self.chrono = {gate: sign for gate, sign in cls.chrono.items() if gate in self.gate_names}

    @_on_class_or_instance
    def quantity(self, name: str) -> Quantity:
        """The gate or state called ``name``: the full cell's on the class,
        the variant's on an instance."""
        for q in (*self.gates, *self.states):
            if q.name == name:
                return q
        owner = self.__name__ if isinstance(self, type) else self._label()
        raise ValueError(
            f"{owner} has no gate or state {name!r}: it has {', '.join(self.gate_names + self.state_names)}."
        )

    def _label(self) -> str:
        """The class's name, and the variant when it is not the full cell."""
        name = type(self).__name__
        return name if self.variant == FULL else f"{name} (variant {self.variant!r})"

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    def chrono_bias(self, bias, log_keep):
        """``bias`` (a NumPy copy of this cell's) with its `chrono` gates'
        blocks set to ±``log_keep`` (one value per unit)."""
        if not self.chrono:
            raise ValueError(f"{self._label()} has no gate that keeps its state: nothing for chrono to open.")
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
            "variant": self.variant,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTMCell(RecurrentCell):
    """Long short-term memory cell.

    ``f=σ(W_f[h,x]+b_f)``, ``i=σ(W_i[h,x]+b_i)``, ``c̃=tanh(W_c[h,x]+b_c)``,
    ``c'=f⊙c+i⊙c̃``, ``o=σ(W_o[h,x]+b_o)``, ``h'=o⊙tanh(c')``.

    Variants (Greff et al. 2017; their abbreviation in brackets). A removed
    gate is fixed at 1, what its product does when the gate is wide open, so
    ``no_forget``, ``no_input`` and ``no_output`` are the full cell with that
    gate's bias at +∞:

    - ``no_forget`` (NFG): ``f=1``, ``c'=c+i⊙c̃``;
    - ``no_input`` (NIG): ``i=1``, ``c'=f⊙c+c̃``;
    - ``no_output`` (NOG): ``o=1``, ``h'=tanh(c')``;
    - ``cifg`` (CIFG): ``i=1−f``, ``c'=f⊙c+(1−f)⊙c̃``: the input gate is
      tied to the forget gate, so it has no weights and no trace of its own;
    - ``no_candidate_tanh`` (NIAF): ``c̃=W_c[h,x]+b_c``, linear;
    - ``no_output_tanh`` (NOAF): ``h'=o⊙c'``, unbounded.

    Args:
        units: size of the hidden and cell state.
        unit_forget_bias: start the forget-gate bias at 1, so that early in
            training the cell remembers by default (Jozefowicz et al., 2015).
            Nothing to start for a variant without a forget gate.
        dropout, recurrent_dropout: rates of the per-sequence dropout masks
            on the inputs and on ``h`` entering the recurrence (training only).
        variant: ``"full"`` or one of the above.
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
    variants = {
        FULL: RecurrentCell.variants[FULL],
        "no_forget": Variant(
            "f = 1: c' = c + i⊙c̃",
            absent=("forget",),
            changed=(Quantity("cell", "c+i⊙c̃", -math.inf, math.inf, "c, the memory: c + i⊙c̃, never forgets"),),
            source="Greff et al. 2017 (NFG)",
        ),
        "no_input": Variant(
            "i = 1: c' = f⊙c + c̃",
            absent=("input",),
            changed=(Quantity("cell", "f⊙c+c̃", -math.inf, math.inf, "c, the memory: f⊙c + c̃, all the candidate"),),
            source="Greff et al. 2017 (NIG)",
        ),
        "no_output": Variant(
            "o = 1: h' = tanh(c')",
            absent=("output",),
            changed=(Quantity("hidden", "tanh(c)", -1.0, 1.0, "h = tanh(c), the whole cell state shown"),),
            source="Greff et al. 2017 (NOG)",
        ),
        "cifg": Variant(
            "i = 1 − f: c' = f⊙c + (1−f)⊙c̃",
            absent=("input",),
            changed=(
                sigmoid_gate("forget", "f: how much of the cell state is kept; 1−f of the candidate is written"),
                Quantity("cell", "f⊙c+(1-f)⊙c̃", -math.inf, math.inf, "c, the memory: f⊙c + (1−f)⊙c̃"),
            ),
            source="Greff et al. 2017 (CIFG)",
        ),
        "no_candidate_tanh": Variant(
            "c̃ = W_c[h,x] + b_c, linear",
            changed=(
                Quantity("candidate", "linear", -math.inf, math.inf, "c̃ = W_c[h,x]+b_c: new content, not squashed"),
            ),
            source="Greff et al. 2017 (NIAF)",
        ),
        "no_output_tanh": Variant(
            "h' = o⊙c'",
            changed=(Quantity("hidden", "o⊙c", -math.inf, math.inf, "h = o⊙c, what the layer outputs, unbounded"),),
            source="Greff et al. 2017 (NOAF)",
        ),
    }

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias or "forget" not in self.gate_names:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer
        before = self.gate_names.index("forget") * units
        after = (len(self.gate_names) - 1) * units - before

        def initializer(shape, dtype=None):
            # For the full cell these are the calls it always made (a seeded
            # initializer gives the same bias as before variants existed).
            parts = [base((before,), dtype=dtype)] if before else []
            parts.append(ops.ones((units,), dtype=dtype))
            parts += [base((after,), dtype=dtype)] if after else []
            return ops.concatenate(parts)

        return initializer

    def step_from_projection(self, projected, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        z = projected + ops.matmul(self._recurrent_input(h_tm1, training), self.recurrent_kernel)
        blocks = dict(zip(self.gate_names, ops.split(z, len(self.gate_names), axis=-1)))
        # A gate the variant does not compute is None: fixed at 1, so its
        # product is skipped rather than multiplied by ones. (For the full
        # cell these are the same ops in the same order as ever.)
        i = ops.sigmoid(blocks["input"]) if "input" in blocks else None
        f = ops.sigmoid(blocks["forget"]) if "forget" in blocks else None
        c_hat = blocks["candidate"] if self.variant == "no_candidate_tanh" else ops.tanh(blocks["candidate"])
        o = ops.sigmoid(blocks["output"]) if "output" in blocks else None
        if self.variant == "cifg":
            i = 1.0 - f
        c = (c_tm1 if f is None else f * c_tm1) + (c_hat if i is None else i * c_hat)
        shown = c if self.variant == "no_output_tanh" else ops.tanh(c)
        h = shown if o is None else o * shown
        values = {"input": i, "forget": f, "candidate": c_hat, "output": o}
        return h, [h, c], tuple(values[name] for name in self.gate_names)

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GRUCell(RecurrentCell):
    """Gated recurrent unit, exactly the reference equations.

    ``z=σ(W_z[h,x]+b_z)``, ``r=σ(W_r[h,x]+b_r)``, ``h̃=tanh(W[r⊙h,x]+b)``,
    ``h'=(1−z)⊙h+z⊙h̃``: the reset gate scales ``h`` before the recurrent
    matmul, and ``z`` is the share of the *new* candidate (Keras's built-in GRU
    uses the opposite sign, ``h'=z⊙h+(1−z)⊙h̃``).

    Variants:

    - ``no_reset``: ``r=1``, ``h̃=tanh(W[h,x]+b)``;
    - ``no_update``: ``z=1``, ``h'=h̃=tanh(W[r⊙h,x]+b)``: the update gate is
      removed as the LSTM's gates are, fixed at 1 (its bias at +∞), which
      leaves a reset-gated Elman cell. Not ``z=1/2``: that keeps a leak of
      half the state a step that no weight controls, a path to the past the
      variant is meant to take away, and a constant no training would find;
    - ``mgu``: the minimal gated unit (Zhou et al. 2016), ``r=z``, one gate
      ``f=σ(W_f[h,x]+b_f)``, ``h̃=tanh(W[f⊙h,x]+b)``, ``h'=(1−f)⊙h+f⊙h̃``.
      A GRU with its reset gate tied to its update gate, as the CIFG ties
      the LSTM's input gate to its forget gate, so a variant here, not a
      cell of its own. Its gate is traced as ``update``, not the paper's
      ``f``: it has the update gate's sign (the share of the *new*
      candidate, the opposite of the LSTM's forget gate) and place.
    """

    gates = (
        sigmoid_gate("update", "z: the share of the new candidate in h"),
        sigmoid_gate("reset", "r: how much of the past feeds the candidate"),
        tanh_value("candidate", "h̃: the new content proposed for h"),
    )
    chrono = {"update": -1}  # z, the share of the new candidate, small: b_z = -log(T)
    states = (Quantity("hidden", "(1-z)⊙h+z⊙h̃", -1.0, 1.0, "h: (1-z)⊙h + z⊙h̃, what the layer outputs"),)
    variants = {
        FULL: RecurrentCell.variants[FULL],
        "no_reset": Variant(
            "r = 1: h̃ = tanh(W[h,x]+b)",
            absent=("reset",),
            changed=(tanh_value("candidate", "h̃ = tanh(W[h,x]+b): the new content, from all of the past"),),
            source="the GRU's gates removed as Greff et al. 2017 remove the LSTM's",
        ),
        "no_update": Variant(
            "z = 1: h' = h̃ = tanh(W[r⊙h,x]+b)",
            absent=("update",),
            changed=(tanh_value("hidden", "h = h̃: the candidate replaces the state", "h̃"),),
            source="the GRU's gates removed as Greff et al. 2017 remove the LSTM's",
        ),
        "mgu": Variant(
            "r = z = f: f = σ(W_f[h,x]+b_f), h̃ = tanh(W[f⊙h,x]+b), h' = (1−f)⊙h + f⊙h̃",
            absent=("reset",),
            changed=(
                sigmoid_gate("update", "f: the share of the new candidate in h, and of the past fed to it"),
                tanh_value("candidate", "h̃ = tanh(W[f⊙h,x]+b): the new content proposed for h"),
                Quantity("hidden", "(1-f)⊙h+f⊙h̃", -1.0, 1.0, "h: (1-f)⊙h + f⊙h̃, what the layer outputs"),
            ),
            source="Zhou et al. 2016, the minimal gated unit",
        ),
    }

    def step_from_projection(self, projected, states, training=False):
        h_tm1 = states[0]
        # Few, wide ops a step (faster than a slice and an activation per gate,
        # docs/benchmark.md): one split of the kernel, one sigmoid for z and r.
        sigmoids = sum(q.is_gate for q in self.gates) * self.units
        x_zr, x_h = ops.split(projected, [sigmoids], axis=-1)
        h_in = self._recurrent_input(h_tm1, training)
        u_zr, u_h = ops.split(self.recurrent_kernel, [sigmoids], axis=-1)
        gate = ops.sigmoid(x_zr + ops.matmul(h_in, u_zr))
        # An absent gate is None: fixed at 1, its product skipped.
        if self.variant == FULL:
            z, r = ops.split(gate, 2, axis=-1)
        elif self.variant == "mgu":
            z = r = gate
        else:
            z, r = (gate, None) if "update" in self.gate_names else (None, gate)
        h_hat = ops.tanh(x_h + ops.matmul(h_in if r is None else r * h_in, u_h))
        h = h_hat if z is None else h_tm1 + z * (h_hat - h_tm1)  # = (1 - z) * h + z * h_hat
        values = {"update": z, "reset": r, "candidate": h_hat}
        return h, [h], tuple(values[name] for name in self.gate_names)


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


def cell_choices() -> list[str]:
    """Every name `make_cell` takes: each cell of ``CELLS``, then each of its
    variants as ``"cell:variant"`` (the full cell is its bare name)."""
    return [spec for name, cls in CELLS.items() for spec in (name, *(f"{name}:{v}" for v in cls.variants if v != FULL))]


def parse_cell(spec: str) -> tuple[str, str]:
    """``"lstm:no_forget"`` -> ``("lstm", "no_forget")``; ``"gru"`` -> ``("gru", "full")``.

    Raises:
        ValueError: an unknown cell or variant, listing the valid names.
    """
    name, _, variant = str(spec).lower().partition(":")
    if name not in CELLS:
        raise ValueError(
            f"Unknown cell {spec!r}: choose one of {', '.join(sorted(CELLS))}, or a variant, one of "
            f"{', '.join(c for c in cell_choices() if ':' in c)}. Received: cell={spec!r}"
        )
    variant = variant or FULL
    if variant not in CELLS[name].variants:
        raise ValueError(
            f"Unknown variant {variant!r} of cell {name!r}: choose one of "
            f"{', '.join(c for c in cell_choices() if c.partition(':')[0] == name)}. Received: cell={spec!r}"
        )
    return name, variant


def make_cell(name: str, units: int, **kwargs) -> RecurrentCell:
    """The cell called ``name``: one of ``CELLS``, or ``"cell:variant"``
    (`cell_choices`), as in ``ModelConfig.cell``."""
    key, variant = parse_cell(name)
    if ":" in str(name) and kwargs.get("variant", variant) != variant:
        raise ValueError(
            f"Two variants asked for: {variant!r} in the name and {kwargs['variant']!r}. "
            f"Received: name={name!r}, variant={kwargs['variant']!r}"
        )
    kwargs.setdefault("variant", variant)
    return CELLS[key](units, **kwargs)
