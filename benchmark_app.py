"""How fast the app answers: first page load after start, and a warm explanation.

    python benchmark_app.py                  # models in saved_models/
    python benchmark_app.py --models DIR --chromium /usr/bin/chromium

Measures (1) in the same Python process as the app would, the time to read and
explain a 1,200-token review (the models read 800 of it) with every saved
model, warm: the traces, integrated gradients, occlusion and the unit ranking.
Two ways, interleaved, each a median over --repeats: "before", the separate,
uncompiled functions the app ran until the compiled pass (they are still the
reference and the fallback: `trace_through_keras`, `integrated_gradients`,
`occlusion`, `unit_contributions`), each stage timed; and "now", what the app
runs: one compiled pass per model (`trace_and_explain`), the models one after
the other and side by side in threads, as the app runs them. (2) The Why
gates? tab's live views. (3) Starting `streamlit run app.py` on 127.0.0.1 and
opening it in headless Chromium, the time from starting the server to every
model's prediction, attributions and heatmaps on screen: with an empty cache
of compiled programs, then again with the programs the first start kept.
Writes app_timing.json to --out (default benchmarks/).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.abspath(__file__))
REVIEW = " ".join(["the film was not bad at all and the acting felt honest"] * 100)  # 1,200 tokens


def page_load_seconds(models: str, chromium: str, env: dict | None = None) -> float:
    from playwright.sync_api import sync_playwright

    from sentiment.app.server import CHROMIUM_ARGS, serve_app

    start = time.perf_counter()
    with serve_app(models, deadline_s=120, env=env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(url)
        n = len([f for f in os.listdir(models) if f.endswith(".keras")])
        page.wait_for_function(
            f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {n} && "
            f"document.querySelectorAll('.vega-embed').length >= {2 * n} && "
            "document.querySelectorAll(\"span[title*='share of P(positive)']\").length > 0",
            timeout=180_000,
        )
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def _ms(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 1)


def warm_timings_ms(models: str, repeats: int = 7) -> dict:
    """Median warm times of the explore tab's work for `REVIEW`: before (the
    separate uncompiled functions, per stage) and now (one compiled pass per
    model), interleaved in this process."""
    from sentiment.analysis import explain as ex
    from sentiment.analysis.traces import trace_through_keras
    from sentiment.network.model import load_model

    loaded = {f[:-6]: load_model(os.path.join(models, f)) for f in sorted(os.listdir(models)) if f.endswith(".keras")}
    stages = {
        "trace": trace_through_keras,
        "integrated_gradients": ex.integrated_gradients,
        "occlusion": ex.occlusion,
        "unit_ranking": ex.unit_contributions,
    }

    def both_in_threads():
        with ThreadPoolExecutor(len(loaded)) as pool:
            return list(pool.map(lambda m: ex.trace_and_explain(m, REVIEW), loaded.values()))

    first = {}
    for name, model in loaded.items():  # the first call of each builds its traced graphs and compiled programs
        for fn in stages.values():
            fn(model, REVIEW)
        start = time.perf_counter()
        ex.trace_and_explain(model, REVIEW)
        first[name] = round(time.perf_counter() - start, 1)
    before = {name: {stage: [] for stage in stages} for name in loaded}
    now = {name: [] for name in loaded}
    totals = {"before": [], "now, one model after the other": [], "now": []}
    for _ in range(repeats):
        total = 0.0
        for name, model in loaded.items():
            for stage, fn in stages.items():
                start = time.perf_counter()
                fn(model, REVIEW)
                before[name][stage].append(time.perf_counter() - start)
                total += before[name][stage][-1]
        totals["before"].append(total)
        total = 0.0
        for name, model in loaded.items():
            start = time.perf_counter()
            ex.trace_and_explain(model, REVIEW)
            now[name].append(time.perf_counter() - start)
            total += now[name][-1]
        totals["now, one model after the other"].append(total)
        start = time.perf_counter()
        both_in_threads()
        totals["now"].append(time.perf_counter() - start)
    steps = {name: ex.explain(model, REVIEW).attribution.steps for name, model in loaded.items()}
    return {
        "models": list(loaded),
        "review_tokens": len(REVIEW.split()),
        "repeats": repeats,
        "before": {
            "per_model_ms": {name: {st: _ms(t) for st, t in per.items()} for name, per in before.items()},
            "all_models_ms": _ms(totals["before"]),
        },
        "now": {
            "per_model_ms": {name: _ms(t) for name, t in now.items()},
            "integrated_gradients_steps": steps,
            "all_models_one_after_the_other_ms": _ms(totals["now, one model after the other"]),
            "all_models_ms": _ms(totals["now"]),
            "first_call_s": first,
        },
        "all_models_ms": _ms(totals["now"]),
    }


def warm_why_gates_ms(lesson: str, repeats: int = 7) -> dict:
    """Median warm time of the Why-gates tab's live views for `REVIEW`: the
    gradient reach of every lesson model and the traces retention reads (the
    gated ones). Before (through Keras's loop, uncompiled), now one model after
    the other, and now side by side in threads, as the app runs them;
    interleaved."""
    from sentiment.analysis import explain as ex
    from sentiment.analysis.gradients import Reach, gradient_reach, reach_of_ids, retention
    from sentiment.analysis.traces import trace, trace_through_keras
    from sentiment.network.model import load_model, recurrent_cell_name

    loaded = {f[:-6]: load_model(os.path.join(lesson, f)) for f in sorted(os.listdir(lesson)) if f.endswith(".keras")}
    gated = {name for name, m in loaded.items() if recurrent_cell_name(m) in ("lstm", "gru")}

    def uncompiled(name):
        model = loaded[name]
        embedding, recurrence = reach_of_ids(model, ex.review_ids(model, REVIEW)[None])
        Reach([], embedding[0], recurrence[0])
        if name in gated:
            retention(trace_through_keras(model, REVIEW))

    def compiled(name):
        gradient_reach(loaded[name], REVIEW)
        if name in gated:
            retention(trace(loaded[name], REVIEW))

    def side_by_side():
        with ThreadPoolExecutor(len(loaded)) as pool:
            list(pool.map(compiled, loaded))

    first = {}
    for name in loaded:  # builds the traced graphs and compiles the programs
        uncompiled(name)
        start = time.perf_counter()
        compiled(name)
        first[name] = round(time.perf_counter() - start, 1)
    runs = {
        "before": lambda: [uncompiled(n) for n in loaded],
        "one after the other": lambda: [compiled(n) for n in loaded],
    }
    runs["side by side"] = side_by_side
    times = {key: [] for key in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - start)
    return {
        "lesson_models": list(loaded),
        "why_gates_before_ms": _ms(times["before"]),
        "why_gates_one_after_the_other_ms": _ms(times["one after the other"]),
        "why_gates_ms": _ms(times["side by side"]),
        "why_gates_first_call_s": first,  # the compiles, with this process's cache of compiled programs (none kept)
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models")
    p.add_argument("--lesson", default=os.path.join("saved_models", "lesson"), help="the last-state models")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--repeats", type=int, default=7, help="warm timings: the median of this many (default: 7)")
    p.add_argument("--page-loads", type=int, default=1, help="first page loads: the median of this many starts")
    p.add_argument("--out", default="benchmarks")
    args = p.parse_args(argv)
    from sentiment.core.files import write_json

    load_before = os.getloadavg()
    result = warm_timings_ms(args.models, args.repeats)
    before, now = result["before"], result["now"]
    print(f"warm, a {result['review_tokens']}-token review (medians of {result['repeats']}):")
    for name, stages in before["per_model_ms"].items():
        print(
            f"  {name}: before (separate, uncompiled) "
            + ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in stages.items())
            + f", total {sum(stages.values()):.0f} ms; now (one compiled pass: trace, integrated gradients "
            f"[{now['integrated_gradients_steps'][name]} steps], occlusion, unit ranking) "
            f"{now['per_model_ms'][name]:.0f} ms"
        )
    print(
        f"  all of {result['models']}: before {before['all_models_ms']:.0f} ms; now "
        f"{now['all_models_one_after_the_other_ms']:.0f} ms one after the other, "
        f"{now['all_models_ms']:.0f} ms side by side (as the app runs them); the first call, compiling: "
        + ", ".join(f"{n} {t:.1f} s" for n, t in now["first_call_s"].items()),
        flush=True,
    )
    if os.path.isdir(args.lesson):
        result.update(warm_why_gates_ms(args.lesson))
        print(
            f"warm, the same review, Why gates? tab's live views (gradient reach of {result['lesson_models']}, "
            f"retention): before {result['why_gates_before_ms']:.0f} ms; now "
            f"{result['why_gates_one_after_the_other_ms']:.0f} ms one after the other, "
            f"{result['why_gates_ms']:.0f} ms side by side (as the app runs them); the first call, compiling: "
            + ", ".join(f"{n} {t:.1f} s" for n, t in result["why_gates_first_call_s"].items()),
            flush=True,
        )
        print(
            f"warm, every live view of the review, both tabs: {result['all_models_ms'] + result['why_gates_ms']:.0f} ms"
            " (the two tabs never run at once: only the open tab runs)",
            flush=True,
        )
    loads = {"cold": [], "kept": []}
    for _ in range(args.page_loads):
        with tempfile.TemporaryDirectory(prefix="xla-cache-") as cache:
            env = {"SENTIMENT_XLA_CACHE": cache}
            loads["cold"].append(page_load_seconds(args.models, args.chromium, env))
            loads["kept"].append(page_load_seconds(args.models, args.chromium, env))
    result["first_page_load_s"] = round(statistics.median(loads["cold"]), 1)
    result["first_page_load_with_kept_programs_s"] = round(statistics.median(loads["kept"]), 1)
    result["first_page_loads_s"] = {k: [round(s, 1) for s in v] for k, v in loads.items()}
    # The machine's load (1-minute average, 2 cores) before and after: these timings are shared-machine timings.
    result["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    print(
        "first page load after start (server start to every prediction, attribution and heatmap shown): "
        f"{result['first_page_load_s']:.1f} s compiling; {result['first_page_load_with_kept_programs_s']:.1f} s "
        "with the compiled programs an earlier start kept"
    )
    write_json(os.path.join(args.out, "app_timing.json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
