"""How fast the app answers, as a user meets it: from starting the server to
the first verdict, the explanations and each tab; warm; and many users at once.

    python benchmark_app.py                      # models in saved_models/, lesson models in saved_models/lesson/
    python benchmark_app.py --models DIR --lesson DIR --starts 3   # other models; three starts of each kind

Side by side in one run, on this machine:

- start: `streamlit run app.py` started on 127.0.0.1 and the page opened in
  headless Chromium at once; the seconds from starting the server to (1)
  every model's verdict on screen, (2) the word attributions, (3) the gate
  heatmaps; then (4) the compare tab, (5) "What it gets wrong" (to the side-by-side
  view's verdicts) and (6) the "Why gates?" tab opened, each
  timed from its click (after the explore tab had answered) to its content,
  and the latter's views of the review (its lesson models' passes). Twice: with no
  compiled programs kept ("cold": an empty XLA cache), then with the ones the
  first start kept. Beside the starts, in the same run: `python -c "import
  tensorflow, keras"` once before each start, and each start's time to the
  verdicts as a multiple of their median (the verdicts come from NumPy,
  before TensorFlow has loaded: the target is at most 0.6x).
- warm: a 1,200-token review (the models read 800) read by every model as the
  app reads it, once everything is compiled: the verdicts, then each model's
  trace and explanation (side by side, as the app runs them); medians.
- first explanation, two ways, each in a fresh process: the uncompiled
  functions through Keras's loop against compiling the passes (cold) or
  loading them (kept): whether a page asked for before its pass is ready should
  take the uncompiled path or wait.
- sessions at once (--sessions, default 1, 10 and 30: one user, a seminar, a
  class in a room): a fresh server (kept programs) for each count, that many
  pages of one browser opened together, each typing a different review; each
  one's seconds from opening to its first verdicts and to the answer to its
  own review (its attributions): when the server's message with them reached
  the browser, and when the page showed them; the slowest as a multiple of one
  session's alone (the target for 30: at most 4x), any exception on a page or
  in the server's log, the server's peak resident memory, and the CPU seconds
  of the server and of the whole machine. Three times for each count:
  sessions that speak the server's protocol and draw nothing
  (`harness.protocol`: in a class each page has a machine of its own, so the
  server's cores are its own; the target is judged on these), opened as the
  server starts and again on a warm server (one session answered first: then
  the sessions wait for each other, not for the server's warm-up); then
  Chromium's pages on this machine as the server starts, as a user's browser
  draws them, at the lowest CPU priority (`BROWSER_NICE`; 30 pages' drawing
  took 280 of the machine's 332 CPU seconds, docs/benchmark.md).

Writes app_timing.json to --out (default benchmarks/) and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
BROWSER_NICE = 19  # the pages draw with what the server leaves over (sessions at once)
WARM_WORD = "decent"  # the review that warms a server up before a class arrives (in no session's review)
REVIEW = " ".join(["the film was not bad at all and the acting felt honest"] * 100)  # 1,200 tokens


def keras_files(folder: str) -> list[str]:
    return sorted(f for f in os.listdir(folder) if f.endswith(".keras"))


TABS = {
    "compare": ("Compare LSTM vs GRU", "Is the difference real?"),
    "wrong": ("What it gets wrong", "P(positive) of the edit"),  # the side-by-side view's first verdicts
    "why_gates": ("Why gates?", "Gate saturation"),
}


def start(models: str, lesson: str, cache: str, launcher: str) -> dict:
    """One server start, its page opened at once: the seconds from starting
    the server to each stage of the explore tab, then each tab's first open
    from its click. The page's own clock times each stage (`browser.watch`)."""
    from harness import browser
    from harness.server import serve_app

    n = len(keras_files(models))
    stages = {
        "verdicts": browser.verdicts_shown(n),
        "attributions": browser.ATTRIBUTIONS,
        "heatmaps": browser.charts_shown(2 * n),
        **{tab: f"document.body.innerText.includes({shown!r})" for tab, (_, shown) in TABS.items()},
        # The Why gates? tab's views of the review (they wait for the lesson models' passes): retention, drawn last.
        "why_gates_live": "document.querySelectorAll(\"span[title*='kept at the end']\").length > 0",
    }
    env = {"SENTIMENT_XLA_CACHE": cache, "SENTIMENT_LESSON": lesson}
    with serve_app(models, deadline_s=120, env=env, launcher=launcher) as server, browser.chromium() as chrome:
        page = chrome.new_page(viewport=browser.VIEWPORT)
        browser.watch(page, stages)
        opened = time.perf_counter() - server.started
        page.goto(server.url, timeout=120_000)
        browser.wait_until(page, " && ".join(f"({stages[k]})" for k in ("verdicts", "attributions", "heatmaps")))
        out = {"server_up_s": opened}
        clicked = {}
        for tab, (name, _) in TABS.items():
            clicked[tab] = browser.now(page)
            page.get_by_role("tab", name=name).click()
            browser.wait_until(page, stages[tab], timeout_ms=300_000)
        browser.wait_until(page, stages["why_gates_live"], timeout_ms=300_000)
        when = browser.seen(page)
        for stage in ("verdicts", "attributions", "heatmaps"):
            out[f"{stage}_s"] = opened + when[stage]
        for tab in TABS:
            out[f"{tab}_tab_s"] = when[tab] - clicked[tab]
        out["why_gates_live_s"] = when["why_gates_live"] - clicked["why_gates"]
        out["exceptions"] = browser.exceptions(page)
        out["server_log_errors"] = [line for line in server.log().splitlines() if "Traceback" in line]
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def sessions(models: str, lesson: str, cache: str, n: int, client: str, warm: bool = False) -> dict:
    """``n`` sessions opened together on a fresh server (kept programs), each
    typing its own review: seconds from opening to its first verdicts and to
    its answer (its own review's attributions), any exception in the server's
    log, and the server's peak memory. ``client``: "protocol" (no browser) or
    "chromium" (pages drawn on this machine). ``warm``: opened once another
    session has been answered (a class arriving at a running server), not as
    the server starts (when every page also waits for its warm-up)."""
    from harness import browser, protocol
    from harness.server import serve_app

    env = {"SENTIMENT_XLA_CACHE": cache, "SENTIMENT_LESSON": lesson}
    models_n, words = len(keras_files(models)), browser.session_words(n)
    with serve_app(models, deadline_s=120, env=env) as server:
        if warm:  # a review of its own, so that no session's reading is cached by it
            protocol.sessions_at_once(server.url, models_n, [WARM_WORD], 900)
        server_cpu, machine_cpu, begin = server.cpu_seconds(), machine_cpu_seconds(), time.perf_counter()
        if client == "protocol":
            pages = protocol.sessions_at_once(server.url, models_n, words, 900)
            for p in pages:  # the run that answered, finished: what a page shows once it has drawn it
                if "answer_done" in p:
                    p["answer"] = p["answer_done"]
        else:
            pages = browser.sessions_at_once(server.url, models_n, words, 900_000, BROWSER_NICE)
        wall = time.perf_counter() - begin
        server_cpu = _spent(server_cpu, server.cpu_seconds())
        machine_cpu = _spent(machine_cpu, machine_cpu_seconds())
        log = server.log()
        memory = server.peak_memory_mb()
    answered = [p for p in pages if "answer" in p]  # Chromium's pages all are, or the run stops with an error
    return {
        "sessions": len(pages),
        "failed_sessions": [p["failed"] for p in pages if "failed" in p],
        "client": client,
        "opened": "on a warm server" if warm else "as the server starts",
        "server_peak_memory_mb": None if memory is None else round(memory),
        # Who used the cores while the pages were served: the server, and the rest (Chromium's pages, mostly).
        "wall_s": round(wall, 1),
        "server_cpu_s": server_cpu,
        "machine_cpu_s": machine_cpu,
        "first_verdicts_s": [round(p["verdicts"], 1) for p in pages if "verdicts" in p],
        "browser_nice": BROWSER_NICE if client == "chromium" else None,
        "answer_sent_s": [round(p["answer_sent"], 1) for p in answered],
        "slowest_answer_sent_s": round(max(p["answer_sent"] for p in answered), 1) if answered else None,
        # Chromium: shown on the page; protocol: the run that drew it finished (nothing is drawn).
        "answer_is": "shown" if client == "chromium" else "its run done",
        "answer_s": [round(p["answer"], 1) for p in answered],
        "slowest_answer_s": round(max(p["answer"] for p in answered), 1) if answered else None,
        "wrong_answers": sum(len(p["others"]) for p in pages),
        "exceptions_on_pages": sum(p["exceptions"] for p in pages),
        "server_log_errors": [line for line in log.splitlines() if "Traceback" in line],
    }


def machine_cpu_seconds() -> float | None:
    """CPU time every core of the machine has spent busy since boot (Linux's /proc/stat); None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user ... steal; guest time is inside user


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 1)


def atlas_views(models: str, lesson: str, cache: str) -> dict:
    """With the page of a warm server answered: seconds from a click to the
    page drawn again (every view of the explore tab, as a rerun draws it), for
    another unit's page (LSTM's second-ranked unit) and for the hypothesis
    search of the other model (its units, then its matches). Needs atlases."""
    from harness import browser
    from harness.server import serve_app

    env = {"SENTIMENT_XLA_CACHE": cache, "SENTIMENT_LESSON": lesson}
    with serve_app(models, deadline_s=120, env=env) as server, browser.chromium() as chrome:
        page = chrome.new_page(viewport={"width": 1400, "height": 11000})
        page.goto(server.url, timeout=120_000)
        page.get_by_text("Passages of").wait_for(timeout=300_000)
        out = {}
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="One unit along the review").first
        box.click()
        option = page.get_by_role("option").nth(1)
        unit = option.inner_text().split()[1]  # "unit 35 (#2, +0.20 to the logit)"
        start = time.perf_counter()
        option.click()
        browser.wait_until(page, f"document.body.innerText.includes('Unit {unit} (forward) across')")
        page.get_by_text("Passages of").wait_for(timeout=60_000)
        out["unit_page_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        page.locator('[data-testid="stRadio"]').filter(has_text="Model").get_by_text("GRU", exact=True).click()
        browser.wait_until(page, "document.body.innerText.includes('GRU: ')")
        page.get_by_text("Passages of").wait_for(timeout=60_000)
        out["hypothesis_search_s"] = round(time.perf_counter() - start, 2)
        out["exceptions"] = browser.exceptions(page)
    return out


WARM = """
import json, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
from sentiment.analysis.reading import trace_and_explain
from sentiment.analysis.passes import passes_of
from sentiment.analysis.reader import reader_of
from sentiment.app.warmup import EXPLORE
from sentiment.network.model import load_model

paths, review, repeats = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
models = [load_model(p) for p in paths]
for m in models:
    reader_of(m).warm_verdicts()
    passes_of(m).warm(*EXPLORE)
    trace_and_explain(m, review)
verdicts, readings = [], []
with ThreadPoolExecutor(len(models)) as pool:
    for _ in range(repeats):
        t = time.perf_counter()
        list(pool.map(lambda m: reader_of(m).verdict(review), models))
        verdicts.append(time.perf_counter() - t)
        t = time.perf_counter()
        list(pool.map(lambda m: trace_and_explain(m, review), models))
        readings.append(time.perf_counter() - t)
print(json.dumps({"verdicts_ms": 1000 * statistics.median(verdicts), "explain_ms": 1000 * statistics.median(readings)}))
"""

FIRST = """
import json, sys, time
from sentiment.analysis import explain
from sentiment.analysis.passes import keep_compiled_programs, passes_of
from sentiment.analysis.reading import trace_and_explain
from sentiment.app.warmup import EXPLORE
from sentiment.network.model import load_model

path, review, route, cache = sys.argv[1:5]
keep_compiled_programs(cache)
model = load_model(path)
t = time.perf_counter()
if route == "uncompiled":
    units = explain.unit_contributions(model, review)
    explain.Explanation(explain.integrated_gradients(model, review), explain.occlusion(model, review), *units)
    from sentiment.analysis.traces import trace_through_keras
    trace_through_keras(model, review)
else:
    passes_of(model).warm(*EXPLORE)
    trace_and_explain(model, review)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def tensorflow_import() -> float:
    """Seconds of `python -c "import tensorflow, keras"`, a whole process: what the verdicts used to wait for."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow, keras"], check=True, capture_output=True, env=env)
    return time.perf_counter() - begin


def in_fresh_python(code: str, *args: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="saved_models")
    p.add_argument("--lesson", default=os.path.join("saved_models", "lesson"), help="the last-state models")
    p.add_argument("--repeats", type=int, default=7, help="warm timings: the median of this many (default: 7)")
    p.add_argument("--starts", type=int, default=1, help="server starts of each kind, cold and kept (median)")
    p.add_argument(
        "--sessions",
        type=int,
        nargs="+",
        default=[1, 10, 30],
        help="pages at once on one server, a fresh server for each count (default: one user, a seminar, a class)",
    )
    p.add_argument("--out", default="benchmarks")
    args = p.parse_args(argv)
    from harness.server import LAUNCHERS
    from sentiment.core.files import write_json

    load_before = os.getloadavg()
    paths = [os.path.join(args.models, f) for f in keras_files(args.models)]
    result = {"command": "python " + " ".join(["benchmark_app.py", *(argv or sys.argv[1:])]), "models": paths}
    result["start"], result["start_runs"] = {}, {}
    kept_by = {launcher: tempfile.mkdtemp(prefix="xla-cache-") for launcher in LAUNCHERS}
    imports = []  # TensorFlow's import, once before each start: side by side with them

    def timed_start(cache: str, launcher: str) -> dict:
        imports.append(round(tensorflow_import(), 2))
        return start(args.models, args.lesson, cache, launcher)

    for launcher, kept in kept_by.items():
        # The first start fills `kept` (a cold start); the others are cold in empty caches, or read `kept`.
        runs = {"cold": [timed_start(kept, launcher)], "kept": []}
        for _ in range(args.starts - 1):
            with tempfile.TemporaryDirectory(prefix="xla-cache-") as empty:
                runs["cold"].append(timed_start(empty, launcher))
        runs["kept"] = [timed_start(kept, launcher) for _ in range(args.starts)]
        result["start"][launcher] = {kind: _medians(r) for kind, r in runs.items()}
        result["start_runs"][launcher] = runs
    result["tensorflow_import_s"] = {"runs": imports, "median": round(statistics.median(imports), 2)}
    print(f'`python -c "import tensorflow, keras"`: {result["tensorflow_import_s"]["median"]} s (median; {imports})')
    for launcher, kinds in result["start"].items():
        for kind, figures in kinds.items():
            figures["verdicts_over_import"] = round(figures["verdicts_s"] / result["tensorflow_import_s"]["median"], 2)
            print(
                f"{launcher}, {kind}: verdicts {figures['verdicts_s']} s "
                f"({figures['verdicts_over_import']}x the import), attributions {figures['attributions_s']} s, "
                f"heatmaps {figures['heatmaps_s']} s after the server started; then the compare tab "
                f"{figures['compare_tab_s']} s, What it gets wrong {figures['wrong_tab_s']} s, the Why gates? tab "
                f"{figures['why_gates_tab_s']} s from their click "
                f"(its views of the review {figures['why_gates_live_s']} s)",
                flush=True,
            )
    kept = kept_by["python app.py"]
    result["sessions"] = {}
    for client, warm in (("protocol", False), ("protocol", True), ("chromium", False)):
        label = client + (", warm" if warm else "")
        result["sessions"][label] = runs = {}
        for n in args.sessions:
            runs[str(n)] = t = sessions(args.models, args.lesson, kept, n, client, warm)
            alone = runs.get("1")
            if alone and alone["slowest_answer_s"] and t["slowest_answer_s"]:  # target for 30: at most 4x one alone
                t["slowest_sent_over_one"] = round(t["slowest_answer_sent_s"] / alone["slowest_answer_sent_s"], 2)
                t["slowest_over_one"] = round(t["slowest_answer_s"] / alone["slowest_answer_s"], 2)
            print(f"{n} session{'s' if n != 1 else ''} at once ({label}): {len(t['failed_sessions'])} failed; "
                  f"slowest answer sent {t['slowest_answer_sent_s']} s after opening "
                  f"({t.get('slowest_sent_over_one', '-')}x one session's), {t['answer_is']} {t['slowest_answer_s']} s "
                  f"({t.get('slowest_over_one', '-')}x), first verdicts {max(t['first_verdicts_s'], default=None)} "
                  f"s at the latest; answers to another's review {t['wrong_answers']}, "
                  f"exceptions on pages {t['exceptions_on_pages']}, in the server log {len(t['server_log_errors'])}; "
                  f"server peak memory {t['server_peak_memory_mb']} MB; CPU seconds in those {t['wall_s']} s: the "
                  f"server {t['server_cpu_s']}, the whole machine {t['machine_cpu_s']}", flush=True)  # fmt: skip
    result["atlas_views_s"] = a = atlas_views(args.models, args.lesson, kept)
    print(f"warm, a click away: another unit's page {a['unit_page_s']} s, the other model's hypothesis search "
          f"{a['hypothesis_search_s']} s; exceptions: {len(a['exceptions'])}", flush=True)  # fmt: skip
    firsts, programs = {}, tempfile.mkdtemp(prefix="xla-cache-")
    # The uncompiled functions; then compiling the passes, and the same again with what that kept.
    for route, cache in (("uncompiled", tempfile.mkdtemp()), ("compiled", programs), ("compiled", programs)):
        key = route if route == "uncompiled" else f"compiled, {'kept' if 'compiled, cold' in firsts else 'cold'}"
        firsts[key] = round(in_fresh_python(FIRST, paths[0], REVIEW, route, cache)["seconds"], 2)
    result["first_explanation_s"] = {"model": paths[0], **firsts}
    print(f"first explanation of {paths[0]} in a fresh process: {firsts}", flush=True)
    warm = in_fresh_python(WARM, json.dumps(paths), REVIEW, str(args.repeats))
    result["warm_ms"] = {k: round(v, 1) for k, v in warm.items()}
    print(f"warm, a 1,200-token review, {len(paths)} models side by side: verdicts {warm['verdicts_ms']:.0f} ms, "
          f"traces and explanations {warm['explain_ms']:.0f} ms", flush=True)  # fmt: skip
    for folder in kept_by.values():
        shutil.rmtree(folder, ignore_errors=True)
    result["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]  # 1-minute averages
    result["machine"] = f"{os.cpu_count()} CPUs"
    write_json(os.path.join(args.out, "app_timing.json"), result)
    return 0


def _medians(runs: list[dict]) -> dict:
    numbers = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    out = {k: round(statistics.median(r[k] for r in runs), 2) for k in numbers}
    out["exceptions"] = sum(len(r["exceptions"]) + len(r["server_log_errors"]) for r in runs)
    return out


if __name__ == "__main__":
    sys.exit(main())
