"""How fast the app answers: first page load after start, and a warm prediction.

    python benchmark_app.py                  # models in saved_models/
    python benchmark_app.py --models DIR --chromium /usr/bin/chromium

Starts `streamlit run app.py` on 127.0.0.1, opens it in headless Chromium and
measures (1) from starting the server to every model's prediction and heatmaps
on screen, and (2) in the same Python process as the app would, the time to
predict and trace a 1,000-token review with every saved model (warm).
Writes app_timing.json to --out (default benchmarks/).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.abspath(__file__))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def page_load_seconds(models: str, chromium: str) -> float:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SENTIMENT_MODELS": models}
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", os.path.join(ROOT, "app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
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
    finally:
        server.terminate()
        server.wait(timeout=20)


def warm_trace_ms(models: str, repeats: int = 20) -> dict:
    from sentiment.inspect import trace
    from sentiment.model import load_model

    loaded = {f[:-6]: load_model(os.path.join(models, f)) for f in sorted(os.listdir(models)) if f.endswith(".keras")}
    review = " ".join(["the film was not bad at all and the acting felt honest"] * 100)  # 1,100 tokens
    for model in loaded.values():
        trace(model, review)  # first call builds the traced graph
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for model in loaded.values():
            trace(model, review)
        times.append(time.perf_counter() - start)
    return {
        "models": list(loaded), "review_tokens": len(review.split()), "all_models_ms": 1000 * statistics.median(times)
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--out", default="benchmarks")
    args = p.parse_args(argv)
    from sentiment.files import write_json

    result = warm_trace_ms(args.models)
    print(f"warm prediction + traces, {result['review_tokens']}-token review, all of {result['models']}: "
          f"{result['all_models_ms']:.0f} ms", flush=True)
    result["first_page_load_s"] = page_load_seconds(args.models, args.chromium)
    print(f"first page load after start (server start to every prediction and heatmap shown): "
          f"{result['first_page_load_s']:.1f} s")
    write_json(os.path.join(args.out, "app_timing.json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
