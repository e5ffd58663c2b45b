"""End to end in a real browser: the app served on 127.0.0.1, driven by headless Chromium."""

import os

import pytest

from conftest import ROOT
from sentiment.app.server import CHROMIUM_ARGS, serve_app

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(ROOT, "artifacts")
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def app_url(tiny_run, tiny_lesson):
    out, _ = tiny_run
    with serve_app(out, env={"SENTIMENT_LESSON": str(tiny_lesson)}) as url:
        yield url


def test_review_gets_predictions_and_heatmaps_in_chromium(app_url):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(app_url, timeout=60_000)
            box = page.get_by_role("textbox", name="Review", exact=True)
            box.wait_for(timeout=60_000)
            box.fill("A dull, boring film. The acting was awful and I hated the ending.")
            box.press("Control+Enter")
            page.wait_for_timeout(500)
            page.get_by_text("LSTM says").wait_for(timeout=60_000)
            page.get_by_text("GRU says").wait_for(timeout=60_000)
            page.wait_for_function(
                "document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 4", timeout=60_000
            )
            page.wait_for_selector("span[title*='boring']", timeout=60_000)  # the shaded review
            page.get_by_text("Which words decided it").wait_for(timeout=60_000)
            page.wait_for_selector("span[title*='share of P(positive)']", timeout=60_000)  # the attributions
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=os.path.join(ARTIFACTS, "app.png"), full_page=True)

            page.get_by_role("tab", name="Why gates?").click()
            page.get_by_text("Gate saturation").wait_for(timeout=120_000)
            page.get_by_text("How far back the gradient reaches: this review").wait_for(timeout=60_000)
            page.wait_for_selector("span[title*='kept at the end']", timeout=60_000)  # retention under the review
            page.wait_for_function(
                "document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 6", timeout=60_000
            )
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=os.path.join(ARTIFACTS, "why_gates.png"), full_page=True)
        finally:
            browser.close()
