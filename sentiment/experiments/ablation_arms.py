"""The ablation's arms: what `AblationConfig` asks to train, each a cell, a
variant of it or another start of it (`Arm`), resolved against the cells
themselves, so a name that is no cell or variant is refused, listing the
valid ones, before anything trains; and a start applied to a built model."""

from __future__ import annotations

import keras

from sentiment.experiments import memory
from sentiment.experiments.ablation_config import DEFAULT, STARTS, AblationConfig
from sentiment.experiments.ablation_results import FULL, Arm, arm_name
from sentiment.network.cells import CELLS, cell_choices, parse_cell

START_SOURCES = {"forget_bias_0": "Jozefowicz et al. 2015", "chrono": "Tallec and Ollivier 2018"}
START_LABELS = {"forget_bias_0": "forget-gate bias 0", "chrono": "chrono start"}


def arms_of(config: AblationConfig) -> list[Arm]:
    """Every arm of the grid, in the order of its tables: the reference cells,
    then for each gated cell the full cell, its other starts and its variants.

    Raises:
        ValueError: a cell or variant that is not one, or not of the kind asked for; the message lists the valid ones.
    """
    arms = [_reference(name) for name in config.reference]
    for cell in config.cells:
        if cell not in CELLS or not CELLS[cell].gated:
            gated = [name for name, cls in CELLS.items() if cls.gated]
            raise ValueError(f"cells: {cell!r} is no gated cell: choose from {', '.join(gated)}. Received: {cell!r}")
    variants = config.variants or [c for c in cell_choices() if ":" in c and c.partition(":")[0] in config.cells]
    specs = [parse_cell(spec) for spec in variants]  # a ValueError listing the valid names
    strays = [f"{c}:{v}" for c, v in specs if c not in config.cells]
    if strays:
        raise ValueError(
            f"variants: {', '.join(strays)} of a cell not in cells ({', '.join(config.cells)}): add the cell or drop "
            f"the variant. Received: {', '.join(variants)}"
        )
    for cell in config.cells:
        arms.append(_full(cell))
        arms += [_started(cell, start) for start in config.starts if starts_here(cell, start)]
        arms += [_variant(c, v) for c, v in specs if c == cell and v != FULL]
    return arms


def starts_here(cell: str, start: str) -> bool:
    """Whether the full ``cell`` has the gate ``start`` sets (no forget gate: no forget-gate bias to start)."""
    if start == "forget_bias_0":
        return "forget" in CELLS[cell].gate_names
    return bool(CELLS[cell].chrono)


def _reference(name: str) -> Arm:
    if name not in CELLS or CELLS[name].gated:
        ungated = [n for n, cls in CELLS.items() if not cls.gated]
        raise ValueError(
            f"reference: {name!r} is no ungated cell: choose from {', '.join(ungated)}. Received: {name!r}"
        )
    return Arm(name, name, FULL, DEFAULT, name.capitalize(), CELLS[name].variants[FULL].equations, gated=False)


def _full(cell: str) -> Arm:
    return Arm(cell, cell, FULL, DEFAULT, cell.upper(), "the full cell, from its default start")


def _started(cell: str, start: str) -> Arm:
    label = f"{cell.upper()}, {START_LABELS[start]}"
    return Arm(arm_name(cell, start), cell, FULL, start, label, STARTS[start], START_SOURCES[start])


def _variant(cell: str, variant: str) -> Arm:
    spec = CELLS[cell].variants[variant]
    words = variant.upper() if variant in ("cifg", "mgu") else variant.replace("_", " ")
    return Arm(f"{cell}:{variant}", cell, variant, DEFAULT, f"{cell.upper()} {words}", spec.equations, spec.source)


def apply_start(classifier: keras.Model, start: str, horizon: int, seed: int) -> None:
    """The start ``start`` set on a built model's first recurrent layer: chrono
    over ``horizon`` steps, or the forget gate's bias at 0; the default: nothing."""
    if start == "chrono":
        memory.open_gates(classifier, horizon, seed)
    elif start == "forget_bias_0":
        memory.set_gate_bias(classifier, "forget", 0.0)
    elif start != DEFAULT:
        raise ValueError(f"No start {start!r}: choose from {DEFAULT}, {', '.join(STARTS)}.")
