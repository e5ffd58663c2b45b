"""report.md's section on the ablation (`python -m sentiment ablate`), and the
plain-words reading of one arm beside its full cell that the report and the
"Why gates?" tab share, with what the literature found for the same change
(written here once)."""

from __future__ import annotations

import os

from sentiment.experiments.ablation_config import COMMITTED_STEPS
from sentiment.experiments.ablation_results import RESULTS, AblationFileError, AblationResults, load_ablation

# What the literature found for each change, and how its setting differs from ours.
LITERATURE = {
    "no_forget": "Greff et al. 2017: removing the forget gate (NFG) significantly hurt on all three of their tasks; "
    "Jozefowicz et al. 2015: the forget gate is extremely significant on every problem but language modelling.",
    "no_input": "Greff et al. 2017: removing the input gate (NIG) significantly hurt speech and handwriting "
    "recognition, not music modelling; Jozefowicz et al. 2015 found the input gate important.",
    "no_output": "Greff et al. 2017: removing the output gate (NOG) significantly hurt speech and handwriting "
    "recognition, not music modelling; Jozefowicz et al. 2015 found the output gate unimportant.",
    "cifg": "Greff et al. 2017: coupling the input and forget gates (CIFG) simplifies the cell without "
    "significantly hurting on any of their tasks.",
    "no_candidate_tanh": "Greff et al. 2017: a linear candidate (NIAF) significantly hurt speech and handwriting "
    "recognition, not music modelling.",
    "no_output_tanh": "Greff et al. 2017: removing the output activation (NOAF) significantly hurt on all three "
    "tasks: it is needed whenever the cell state is unbounded.",
    "forget_bias_0": "Jozefowicz et al. 2015: a forget-gate bias of 1 (our default) closes most of the gap between "
    "the LSTM and the GRU; at 0 the cell starts by forgetting half its state a step.",
    "chrono": "Tallec and Ollivier 2018: chrono initialisation helps where the dependencies are long.",
    "mgu": "Zhou et al. 2016: the minimal gated unit matches the GRU's accuracy with one gate, fewer parameters "
    "and faster training.",
    "no_reset": "Greff et al. remove the LSTM's gates; the GRU's reset gate has no such study beside it here.",
    "no_update": "Without its update gate the GRU is an Elman RNN with a reset gate: it rewrites its whole state "
    "at every step, as the Elman RNN does.",
}
SETTINGS = (
    "Their setting differs from ours: Greff et al. (5,400 runs, about 15 CPU-years) trained eight variants of a "
    "peephole LSTM on speech (TIMIT), handwriting (IAM Online) and music (JSB Chorales), with an output at every "
    "step and each variant's hyperparameters found by random search; Jozefowicz et al. evaluated over ten thousand "
    "architectures on arithmetic, XML modelling, language modelling (Penn Treebank) and music, each with its own "
    "search. Ours: one label per sequence read from the final state, no peepholes, the lesson models' "
    "hyperparameters (chosen for the full cells) for every variant, and one to three seeds."
)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _steps(steps: list[int | None]) -> str:
    return "/".join("–" if s is None else str(s) for s in steps)


def memory_markdown(results: AblationResults) -> list[str]:
    """Each arm's test accuracy (mean of the seeds) and each seed's step to 95%, by distance; the budget's verdict."""
    arms = results.memory_arms()
    if not arms:
        return []
    settings = results.memory.settings
    distances = sorted({p.distance for arm in arms for p in results.memory_points(arm)})
    lines = [
        "",
        "### The memory task",
        "",
        f"Each arm trained as the memory command trains its cells ({settings.units} units, Adam "
        f"{settings.learning_rate:g}, clipping {settings.clipnorm:g}, batches of {settings.batch} fresh sequences) for "
        f"up to {settings.steps:,} steps, stopping once its validation accuracy reaches {settings.stop_at:g}"
        + (f" (steps of N ≥ {settings.jit_from} compiled with XLA)" if settings.jit_from else "")
        + f". Each cell: test accuracy (mean of {_count(len(results.config.seeds), 'seed')}) · each seed's first "
        "step at 95% validation accuracy (–: never).",
        "",
        "| arm | " + " | ".join(f"N = {d}" for d in distances) + " |",
        "|---|" + "---|" * len(distances),
    ]
    for arm in arms:
        at = {p.distance: p for p in results.memory_points(arm)}
        cells = [f"{_pct(at[d].mean)} · {_steps(at[d].steps_to_95)}" if d in at else "" for d in distances]
        lines.append(f"| {results.arm(arm).label} | " + " | ".join(cells) + " |")
    budget = results.budget()
    if budget.rows:
        lines += [
            "",
            f"Did the committed experiment's {COMMITTED_STEPS} steps decide that {budget.rival.capitalize()} keeps the "
            f"bit further than the {budget.cell.upper()}? Seeds that reached 95%:",
            "",
            f"| N | {budget.rival} by step {COMMITTED_STEPS} | {budget.cell} by step {COMMITTED_STEPS} "
            f"| {budget.rival} by step {budget.steps:,} | {budget.cell} by step {budget.steps:,} |",
            "|---|---|---|---|---|",
            *(
                f"| {r.distance} | {r.rival_by_committed}/{r.seeds} | {r.cell_by_committed}/{r.seeds} "
                f"| {r.rival_by_budget}/{r.seeds} | {r.cell_by_budget}/{r.seeds} |"
                for r in budget.rows
            ),
            "",
            budget.sentence,
        ]
    return lines


def imdb_markdown(results: AblationResults) -> list[str]:
    """The IMDB table (accuracy over seeds, beside the full cell), accuracy by length, the suite's failure rates."""
    rows = results.imdb_rows()
    if not rows or results.imdb is None:
        return []
    lines = [
        "",
        "### IMDB and the behavioural suite",
        "",
        results.imdb.setting.note,
        "",
        "| arm | seeds | test accuracy | against its full cell (points) | within the seeds' noise |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        accuracy = f"{100 * row.mean:.2f}%" + ("" if row.sd is None else f" ± {100 * row.sd:.2f}")
        difference = "" if row.difference is None else f"{100 * row.difference:+.2f}"
        noise = {None: "" if row.difference is None else "one seed", True: "yes", False: "no"}[row.within_noise]
        lines.append(f"| {results.arm(name).label} | {len(row.seeds)} | {accuracy} | {difference} | {noise} |")
    buckets = next((row.by_length for row in rows.values() if row.by_length), [])
    if buckets:
        lines += [
            "",
            "Test accuracy by review length (tokens; mean of the seeds):",
            "",
            "| arm | " + " | ".join(f"{label} ({n:,})" for label, n, _ in buckets) + " |",
            "|---|" + "---|" * len(buckets),
        ]
        for name, row in rows.items():
            lines.append(f"| {results.arm(name).label} | " + " | ".join(_pct(a) for _, _, a in row.by_length) + " |")
    capabilities = list(dict.fromkeys(c for row in rows.values() for c in row.suite))
    if capabilities:
        lines += [
            "",
            "Behavioural suite: failure rate by capability (lower is better; mean of the seeds):",
            "",
            "| arm | " + " | ".join(capabilities) + " |",
            "|---|" + "---|" * len(capabilities),
        ]
        for name, row in rows.items():
            lines.append(
                f"| {results.arm(name).label} | " + " | ".join(_pct(row.suite.get(c)) for c in capabilities) + " |"
            )
    return lines


def ablation_markdown(results: AblationResults) -> list[str]:
    """report.md's section: the memory task, IMDB and the suite, the readings, the literature."""
    lines = [
        "",
        "## Switch a gate off: the ablation",
        "",
        f"Command: `{results.command or 'python -m sentiment ablate'}`"
        + (
            f"; time so far: {', '.join(f'{k} {v / 60:.0f} min' for k, v in results.seconds.items())}."
            if results.seconds
            else "."
        ),
        *memory_markdown(results),
        *imdb_markdown(results),
    ]
    readings = [
        f"- **{results.arm(a.name).label}**: {arm_reading(results, a.name)}"
        for a in results.arms
        if not a.is_full and a.gated
    ]
    if readings:
        lines += ["", "### Each change, in plain words", "", *readings, "", SETTINGS]
    return lines


def ablation_section(folder: str) -> list[str]:
    """The section of the ablation.json in ``folder``, where there is one that reads (else nothing)."""
    try:
        return ablation_markdown(load_ablation(os.path.join(folder, RESULTS)))
    except AblationFileError:
        return []


# -- one arm, in plain words ------------------------------------------------------------------------


def memory_reading(results: AblationResults, name: str) -> str | None:
    """How far the arm keeps the bit beside its full cell, in a sentence; None: no memory runs of both."""
    full = results.full_of(name)
    if not results.memory_points(name) or not results.memory_points(full):
        return None
    mine, theirs = results.longest_solved(name), results.longest_solved(full)
    last = results.memory_points(name)[-1]
    full_last = {p.distance: p for p in results.memory_points(full)}.get(last.distance)

    def reach(distance):
        return "at no distance" if distance is None else f"up to N = {distance}"

    if (mine or 0) > (theirs or 0):
        verdict = "keeps the bit further than the full cell: on this task the change helps"
    elif (mine or 0) < (theirs or 0):
        verdict = "keeps the bit less far than the full cell: this task needs what the change takes away"
    else:
        verdict = "keeps the bit as far as the full cell"
    at = f"; at N = {last.distance}: {_pct(last.mean)} against {_pct(full_last.mean)}" if full_last is not None else ""
    return f"On the memory task it {verdict} (every seed kept it {reach(mine)}; the full cell {reach(theirs)}{at})."


def imdb_reading(results: AblationResults, name: str) -> str | None:
    """The arm's IMDB accuracy and suite beside its full cell's, in a sentence; None: not measured."""
    rows = results.imdb_rows()
    row, full = rows.get(name), rows.get(results.full_of(name))
    if row is None or full is None or row.difference is None:
        return None
    points = 100 * row.difference
    close = 100 * results.config.imdb_close
    if row.within_noise or (row.within_noise is None and abs(points) < close):
        verdict = "no cost this table can tell apart from the seeds' noise"
    elif points < 0:
        verdict = f"a cost of {-points:.1f} points"
    else:
        verdict = f"a gain of {points:.1f} points"
    seeds = f"seeds: {len(row.seeds)} and {len(full.seeds)}"
    suite = ""
    worst = sorted(set(row.suite) & set(full.suite), key=lambda c: -abs(row.suite[c] - full.suite[c]))[:2]
    if worst:
        suite = (
            " Behavioural suite: "
            + ", ".join(f"{c} fails {_pct(row.suite[c])} (full cell {_pct(full.suite[c])})" for c in worst)
            + "."
        )
    return f"On IMDB: {100 * row.mean:.2f}% against the full cell's {100 * full.mean:.2f}% ({seeds}): {verdict}.{suite}"


def arm_reading(results: AblationResults, name: str) -> str:
    """The arm beside its full cell in plain words, and what the literature found for the same change."""
    arm = results.arm(name)
    parts = [memory_reading(results, name), imdb_reading(results, name)]
    said = " ".join(p for p in parts if p) or "Not measured yet."
    key = arm.start if arm.variant == "full" else arm.variant
    return f"{said} {LITERATURE.get(key, '')}".strip()
