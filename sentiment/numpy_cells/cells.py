"""The four cells, one time step each, in NumPy: read them beside the
equations of docs/cells.md (and `sentiment.network.cells`, the Keras layers
they are held to).

Notation of the notes: ``W[h,x] + b`` is written ``x @ W + h @ U + b``, with
``W`` the ``kernel``, ``U`` the ``recurrent_kernel`` and each holding every
gate's block side by side, in the order the gates are listed. A step takes

    xw      ``x @ W + b`` for this step, (batch, gates x units): the input's
            share of every gate. It does not depend on the state, so the
            model computes it for the whole review in one matmul before the
            loop, far cheaper than one small matmul a step;
    states  the carried states, ``(h,)`` or ``(h, c)``;
    w       the direction's weights by name;

and returns the new states and every gate, in the order of ``Cell.gates``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def sigmoid(x):
    # σ(x) = 1 / (1 + e^-x), written as (1 + tanh(x/2)) / 2: the same
    # function, but e^-x would overflow (and warn) for x far below 0.
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def lstm_step(xw, states, w):
    """f=σ(W_f[h,x]+b_f)  i=σ(W_i[h,x]+b_i)  c̃=tanh(W_c[h,x]+b_c)  o=σ(W_o[h,x]+b_o)
    c'=f⊙c+i⊙c̃  h'=o⊙tanh(c')"""
    h, c = states
    z_i, z_f, z_c, z_o = np.split(xw + h @ w["recurrent_kernel"], 4, axis=-1)  # Keras's block order
    i, f, c_hat, o = sigmoid(z_i), sigmoid(z_f), np.tanh(z_c), sigmoid(z_o)
    c = f * c + i * c_hat
    h = o * np.tanh(c)
    return (h, c), (i, f, c_hat, o)


def gru_step(xw, states, w):
    """z=σ(W_z[h,x]+b_z)  r=σ(W_r[h,x]+b_r)  h̃=tanh(W[r⊙h,x]+b)  h'=(1−z)⊙h+z⊙h̃

    The reset gate scales ``h`` before its matmul, so the candidate's block of
    ``U`` is applied apart from the gates'. ``z`` is the share of the *new*
    candidate (Keras's own GRU has the opposite sign)."""
    (h,) = states
    x_z, x_r, x_h = np.split(xw, 3, axis=-1)
    U_z, U_r, U_h = np.split(w["recurrent_kernel"], 3, axis=-1)
    z = sigmoid(x_z + h @ U_z)
    r = sigmoid(x_r + h @ U_r)
    h_hat = np.tanh(x_h + (r * h) @ U_h)
    h = (1 - z) * h + z * h_hat
    return (h,), (z, r, h_hat)


def elman_step(xw, states, w):
    """h'=tanh(W[h,x]+b): the one "gate" is the new state itself."""
    (h,) = states
    h = np.tanh(xw + h @ w["recurrent_kernel"])
    return (h,), (h,)


def jordan_step(xw, states, w):
    """h=tanh(W[y,x]+b)  y'=tanh(Vh+c): the previous *output* ``y`` is fed back,
    not the hidden layer ``h``; ``V`` is the ``output_kernel``, ``c`` the
    ``output_bias``."""
    (y,) = states
    h = np.tanh(xw + y @ w["recurrent_kernel"])
    y = np.tanh(h @ w["output_kernel"] + w["output_bias"])
    return (y,), (h,)


@dataclass(frozen=True)
class Cell:
    """A step and the names the traces give what it computes.

    Attributes:
        step: ``step(xw, states, w) -> (states, gates)``.
        gates: the gates' names, in the order ``step`` returns them (and of
            the kernels' blocks).
        states: the states' names, ``hidden`` (the output) first.
        weights: the names of the cell's weights, in the order Keras saves
            them (the order the layer creates them).
    """

    step: Callable
    gates: tuple[str, ...]
    states: tuple[str, ...] = ("hidden",)
    weights: tuple[str, ...] = ("kernel", "recurrent_kernel", "bias")


# By the class name a .keras file's config gives each cell.
CELLS: dict[str, Cell] = {
    "LSTMCell": Cell(lstm_step, ("input", "forget", "candidate", "output"), ("hidden", "cell")),
    "GRUCell": Cell(gru_step, ("update", "reset", "candidate")),
    "ElmanCell": Cell(elman_step, ("candidate",)),
    "JordanCell": Cell(
        jordan_step, ("candidate",), weights=("kernel", "recurrent_kernel", "bias", "output_kernel", "output_bias")
    ),
}
