"""The served app in headless Chromium, as a user sees it: for the browser
tests, benchmark_app.py and docs/screenshots.py.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright; a
Streamlit page scrolls inside its own container, so pages get a tall viewport.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from harness.server import CHROMIUM_ARGS

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 1800}

# What is on the explore tab when each stage has arrived, for `models` models.
ATTRIBUTIONS = "document.querySelectorAll(\"span[title*='share of P(positive)']\").length > 0"


def verdicts_shown(models: int) -> str:
    return f"document.querySelectorAll('[data-testid=\"stMetric\"]').length >= {models}"


def charts_shown(charts: int) -> str:
    return f"document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= {charts}"


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (a Playwright browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def type_review(page, review: str, timeout_ms: int = 120_000) -> None:
    """Types ``review`` into the explore tab's box and applies it (Ctrl+Enter)."""
    box = page.get_by_role("textbox", name="Review", exact=True)
    box.wait_for(timeout=timeout_ms)
    box.fill(review)
    box.press("Control+Enter")


def answered(word: str) -> str:
    """The attributions of a review that holds ``word`` are on the page."""
    return f"document.querySelectorAll(\"span[title^='{word} #'][title*='share of P(positive)']\").length > 0"


def shaded(word: str) -> str:
    """The review that holds ``word``, shaded by a gate: the last view the explore tab draws."""
    return f"document.querySelectorAll(\"span[title^='{word} #'][title*='(mean)']\").length > 0"


def wait_until(page, condition: str, timeout_ms: int = 180_000) -> None:
    """Waits for a JavaScript ``condition`` on the page."""
    page.wait_for_function(condition, timeout=timeout_ms, polling=50)


def _watcher(conditions: dict[str, str]) -> str:
    """A script that notes, in the page, when each JavaScript condition first holds (every 50 ms)."""
    checks = ", ".join(f"{name!r}: () => ({js})" for name, js in conditions.items())
    return (
        f"window.__seen = {{}}; const __checks = {{{checks}}};"
        "setInterval(() => { for (const [k, f] of Object.entries(__checks)) {"
        " try { if (!(k in window.__seen) && f()) window.__seen[k] = performance.now(); } catch (e) {} } }, 50);"
    )


def watch(page, conditions: dict[str, str]) -> None:
    """Notes, in the page, when each JavaScript condition first holds, from
    before the page's own scripts run; `seen` reads the notes. Call it before
    ``page.goto``."""
    page.add_init_script(_watcher(conditions))


def seen(page) -> dict[str, float]:
    """Seconds from the page's navigation start to when each watched condition first held."""
    return {k: v / 1000 for k, v in page.evaluate("window.__seen").items()}


def now(page) -> float:
    """The page's clock: seconds since its navigation start."""
    return page.evaluate("performance.now()") / 1000


def exceptions(page) -> list[str]:
    """The exceptions the page shows (Streamlit's red boxes)."""
    boxes = page.locator("[data-testid='stException']")
    return [boxes.nth(i).inner_text() for i in range(boxes.count())]


# Reviews for several sessions at once, each with a word the others lack, so
# that each page's answer can be told from another's: words every model here
# knows (the tests' tiny ones too: a word out of the vocabulary is [UNK]), and
# none of the page's first review (the "Clearly positive" example).
WORDS = ["wonderful", "great", "movie", "ever", "awful", "just", "boring", "dull", "worst", "terrible"]
# Twenty more for a class in a room (benchmark_app.py's 30 sessions): common enough for the 20,000-word vocabulary.
MORE_WORDS = [
    "funny", "brilliant", "excellent", "fantastic", "perfect", "charming", "clever", "fun", "enjoyable", "touching",
    "bad", "poor", "stupid", "weak", "silly", "horrible", "lame", "mediocre", "pointless", "predictable",
]  # fmt: skip


def session_words(n: int) -> list[str]:
    """``n`` words for ``n`` sessions at once, one each (at most 30)."""
    words = WORDS + MORE_WORDS
    if not 1 <= n <= len(words):
        raise ValueError(f"sessions at once: got {n}, wanted 1 to {len(words)} (one distinct word each)")
    return words[:n]


def session_review(word: str) -> str:
    return f"The film was {word} from start to finish, and the whole cast was {word} too."


def sessions_at_once(
    url: str, models: int, words: list[str] = WORDS, timeout_ms: int = 300_000, browser_nice: int = 0
) -> list[dict]:
    """One page per word, all opened together in one browser (one Streamlit
    session each), each typing its review as soon as its box is there.
    ``browser_nice`` > 0 runs Chromium at that lower CPU priority: the pages
    then stand for browsers on machines of their own, drawing with what the
    server leaves over rather than taking the cores from it.

    Returns:
        Per page: "verdicts" (its first) and "answer" (its own review's
        attributions on the page), seconds from its navigation start;
        "answer_sent" (seconds from opening the page until the server's
        message with those attributions reached the browser); "others" (words
        of other reviews on the page once its run is done: none expected);
        "exceptions" (shown on the page).
    """
    # In a thread of its own: a synchronous Playwright may be running an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _sessions(url, models, words, timeout_ms, browser_nice)).result()


@contextlib.contextmanager
def _niced(nice: int) -> Iterator[str]:
    """The Chromium to launch: Debian's, or a script that starts it under ``nice``."""
    if nice <= 0:
        yield CHROMIUM
        return
    with tempfile.TemporaryDirectory(prefix="niced-chromium-") as folder:
        script = os.path.join(folder, "chromium")
        with open(script, "w", encoding="ascii") as f:
            f.write(f'#!/bin/sh\nexec nice -n {int(nice)} {CHROMIUM} "$@"\n')
        os.chmod(script, stat.S_IRWXU)
        yield script


async def _sessions(url: str, models: int, words: list[str], timeout_ms: int, nice: int) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        with _niced(nice) as executable:
            chrome = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            tabs = await chrome.new_context(viewport=VIEWPORT)

            async def one(word: str) -> dict:
                page = await tabs.new_page()
                await page.add_init_script(_watcher({"verdicts": verdicts_shown(models), "answer": answered(word)}))
                sent, opened = {}, time.perf_counter()
                # The attributions' element, as the server sends it: the word's span with its share.
                marks = (f'title="{word} #'.encode(), b"share of P(positive)")

                def frame(payload) -> None:
                    if "answer_sent" not in sent and isinstance(payload, bytes) and all(m in payload for m in marks):
                        sent["answer_sent"] = time.perf_counter() - opened

                page.on("websocket", lambda socket: socket.on("framereceived", frame))
                await page.goto(url, timeout=timeout_ms)
                box = page.get_by_role("textbox", name="Review", exact=True)
                await box.wait_for(timeout=timeout_ms)
                await box.fill(session_review(word))
                await box.press("Control+Enter")
                await page.wait_for_function(answered(word), timeout=timeout_ms, polling=50)
                # Then the whole run: the review shaded by a gate is drawn last (and what an earlier run drew is gone).
                await page.wait_for_function(shaded(word), timeout=timeout_ms, polling=50)
                await page.wait_for_timeout(500)
                seen = {k: v / 1000 for k, v in (await page.evaluate("window.__seen")).items()}
                others = [w for w in words if w != word and await page.locator(f"span[title^='{w} #']").count()]
                shown = await page.locator("[data-testid='stException']").count()
                return {**seen, **sent, "others": others, "exceptions": shown}

            return list(await asyncio.gather(*(one(w) for w in words)))
        finally:
            await chrome.close()
