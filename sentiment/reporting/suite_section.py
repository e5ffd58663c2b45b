"""report.md's section on the behavioural suite: each model's failure rate by
capability, and the templates the main models fail most."""

from __future__ import annotations

from sentiment.experiments.suite import NEGATED_POSITIVES, TOLERANCE
from sentiment.experiments.suite_results import SuiteResults, label, pooled


def suite_markdown(results: SuiteResults) -> list[str]:
    """report.md's section: each model's failure rate by capability, and the
    templates the main models fail most."""
    caps = results.capabilities()
    counts = {c: sum(case.capability == c for case in results.cases) for c in caps}
    meta = results.meta
    lines = [
        "",
        "## Behavioural suite: what flips a verdict",
        "",
        f"Command: `{meta.get('command', 'python -m sentiment suite')}`; {len(results.cases):,} cases from "
        f"{len({c.template for c in results.cases})} templates (CheckList, Ribeiro et al. 2020: minimum "
        f"functionality, invariance, directional expectation with tolerance {TOLERANCE}). Failure rate by "
        "capability (lower is better):",
        "",
        "| model | " + " | ".join(f"{c} ({counts[c]})" for c in caps) + " | all |",
        "|---|" + "---|" * (len(caps) + 1),
    ]
    for name, s in results.scores.items():
        rates = s.rates(results.cases)
        cells = " | ".join(f"{100 * rates[c]['rate']:.1f}%" for c in caps)
        lines.append(f"| {label(name)} | {cells} | {100 * s.failed.mean():.1f}% |")
    main = results.main_models()
    negated = {name: pooled(results.scores[name].template_rates(results.cases), NEGATED_POSITIVES) for name in main}
    if negated:
        each = ", ".join(f"{label(n)} {100 * r['rate']:.1f}%" for n, r in negated.items())
        cases = next(iter(negated.values()))["cases"]
        templates = ", ".join(NEGATED_POSITIVES)
        lines += ["", f"Negated positives ({templates}: {cases} cases, all negative) failed: {each}."]
    for name in main:
        worst = sorted(results.scores[name].template_rates(results.cases).items(), key=lambda kv: -kv[1]["rate"])[:5]
        listed = "; ".join(f"{t} {100 * r['rate']:.0f}%" for t, r in worst)
        lines += ["", f"{label(name)} fails most: {listed}."]
    if "seconds" in meta:
        lines += ["", f"Time: {meta['seconds']}."]
    return lines
