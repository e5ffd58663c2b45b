"""How fast the app answers: first page load after start, and a warm prediction.

    python benchmark_app.py                  # models in saved_models/
    python benchmark_app.py --models DIR --chromium /usr/bin/chromium

Starts `streamlit run app.py` on 127.0.0.1, opens it in headless Chromium and
measures (1) from starting the server to every model's prediction and heatmaps
on screen, and (2) in the same Python process as the app would, the time to
explain a 1,100-token review with every saved model (warm): traces,
integrated gradients, occlusion and the unit ranking, each timed.
Writes app_timing.json to --out (default benchmarks/).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.abspath(__file__))


def page_load_seconds(models: str, chromium: str) -> float:
    from playwright.sync_api import sync_playwright

    from sentiment.app_server import CHROMIUM_ARGS, serve_app

    start = time.perf_counter()
    with serve_app(models, deadline_s=120) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(url)
        n = len([f for f in os.listdir(models) if f.endswith(".keras")])
        page.wait_for_function(
            f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {n} && "
            f"document.querySelectorAll('.vega-embed').length >= {2 * n}",
            timeout=120_000,
        )
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def warm_timings_ms(models: str, repeats: int = 5) -> dict:
    """Median warm time of each stage the explore tab runs, per model, for one
    1,100-token review (the models read 800 tokens of it), and for all models."""
    from sentiment import explain as ex
    from sentiment.model import load_model
    from sentiment.traces import trace

    loaded = {f[:-6]: load_model(os.path.join(models, f)) for f in sorted(os.listdir(models)) if f.endswith(".keras")}
    review = " ".join(["the film was not bad at all and the acting felt honest"] * 100)  # 1,100 tokens
    stages = {
        "trace": trace,
        "integrated_gradients": ex.integrated_gradients,
        "occlusion": ex.occlusion,
        "unit_ranking": ex.unit_contributions,
    }
    for model in loaded.values():  # the first call of each builds its traced graphs
        for fn in stages.values():
            fn(model, review)
    per_stage = {name: {stage: [] for stage in stages} for name in loaded}
    totals = []
    for _ in range(repeats):
        total = 0.0
        for name, model in loaded.items():
            for stage, fn in stages.items():
                start = time.perf_counter()
                fn(model, review)
                elapsed = time.perf_counter() - start
                per_stage[name][stage].append(elapsed)
                total += elapsed
        totals.append(total)
    return {
        "models": list(loaded),
        "review_tokens": len(review.split()),
        "per_model_ms": {
            name: {stage: round(1000 * statistics.median(t), 1) for stage, t in stages_.items()}
            for name, stages_ in per_stage.items()
        },
        "all_models_ms": round(1000 * statistics.median(totals), 1),
    }


def warm_why_gates_ms(lesson: str, repeats: int = 5) -> dict:
    """Median warm time of the Why-gates tab's live views for the same review:
    the gradient reach of every lesson model, and the traces retention reads
    (the gated ones)."""
    from sentiment.gradients import gradient_reach, retention
    from sentiment.model import load_model, recurrent_cell_name
    from sentiment.traces import trace

    loaded = {f[:-6]: load_model(os.path.join(lesson, f)) for f in sorted(os.listdir(lesson)) if f.endswith(".keras")}
    review = " ".join(["the film was not bad at all and the acting felt honest"] * 100)
    gated = [m for m in loaded.values() if recurrent_cell_name(m) in ("lstm", "gru")]

    def views():
        for model in loaded.values():
            gradient_reach(model, review)
        for model in gated:
            retention(trace(model, review))

    views()  # traces the graphs
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        views()
        times.append(time.perf_counter() - start)
    return {"lesson_models": list(loaded), "why_gates_ms": round(1000 * statistics.median(times), 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models")
    p.add_argument("--lesson", default=os.path.join("saved_models", "lesson"), help="the last-state models")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--out", default="benchmarks")
    args = p.parse_args(argv)
    from sentiment.files import write_json

    result = warm_timings_ms(args.models)
    for name, stages in result["per_model_ms"].items():
        print(f"{name}: " + ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in stages.items()))
    print(
        f"warm, {result['review_tokens']}-token review, traces + attributions + occlusion + unit ranking by "
        f"all of {result['models']}: {result['all_models_ms']:.0f} ms",
        flush=True,
    )
    if os.path.isdir(args.lesson):
        result.update(warm_why_gates_ms(args.lesson))
        print(
            f"warm, the same review, Why gates? tab's live views (gradient reach of {result['lesson_models']}, "
            f"retention): {result['why_gates_ms']:.0f} ms; with the explore tab's: "
            f"{result['why_gates_ms'] + result['all_models_ms']:.0f} ms",
            flush=True,
        )
    result["first_page_load_s"] = page_load_seconds(args.models, args.chromium)
    print(
        f"first page load after start (server start to every prediction and heatmap shown): "
        f"{result['first_page_load_s']:.1f} s"
    )
    write_json(os.path.join(args.out, "app_timing.json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
