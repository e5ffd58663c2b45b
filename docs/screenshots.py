"""Take the README's screenshots of the app with the committed models.

    python docs/screenshots.py        # docs/app.png, compare.png, wrong.png, why_gates.png, gate_off.png
    python docs/screenshots.py --out /tmp/shots --chromium /usr/bin/chromium

Serves `python app.py` on 127.0.0.1 (models from saved_models/, the
last-state models from saved_models/lesson/), opens it in headless Chromium
with a tall viewport (a Streamlit page scrolls inside its own container, so a
short one would cut the page) and saves each tab once everything on it is
drawn. Fails, naming the tab, if the app shows an exception.
"""

from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
REVIEW = (
    "I expected to hate this film, but it won me over. The story is slow and the first half drags, yet the acting "
    "is superb and the ending is not what you think. Not perfect, but well worth seeing."
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=os.path.join(ROOT, "saved_models"))
    p.add_argument("--out", default=os.path.join(ROOT, "docs"))
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from harness.server import CHROMIUM_ARGS, serve_app

    os.makedirs(args.out, exist_ok=True)
    with serve_app(args.models, deadline_s=120) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 3200})
            page.goto(server.url, timeout=120_000)

            def shot(tab: str, name: str) -> None:
                errors = page.locator("[data-testid='stException']")
                if errors.count():
                    raise SystemExit(f"The {tab} tab shows an exception: {errors.first.inner_text()}")
                path = os.path.join(args.out, name)
                page.screenshot(path=path, full_page=True)
                print(f"{tab}: {path}")

            box = page.get_by_role("textbox", name="Review", exact=True)
            box.wait_for(timeout=120_000)
            box.fill(REVIEW)
            box.press("Control+Enter")
            page.wait_for_timeout(1000)
            page.wait_for_selector("span[title*='share of P(positive)']", timeout=180_000)
            page.wait_for_function("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length >= 4")
            page.wait_for_timeout(1500)  # charts finish their layout
            shot("Explore a review", "app.png")

            page.get_by_role("tab", name="Compare LSTM vs GRU").click()
            page.get_by_text("Is the difference real?").wait_for(timeout=120_000)
            page.wait_for_timeout(3000)
            shot("Compare LSTM vs GRU", "compare.png")

            page.get_by_role("tab", name="What it gets wrong").click()
            page.get_by_text("P(positive) of the edit").first.wait_for(timeout=120_000)
            page.wait_for_selector("span[title='put in']", timeout=180_000)
            page.wait_for_timeout(3000)
            shot("What it gets wrong", "wrong.png")

            page.get_by_role("tab", name="Why gates?").click()
            page.get_by_text("Gate saturation").wait_for(timeout=180_000)
            page.wait_for_selector("span[title*='kept at the end']", timeout=180_000)
            page.wait_for_timeout(3000)
            shot("Why gates?", "why_gates.png")

            # The tab's last section, scrolled to: the LSTM without its forget gate beside the full LSTM.
            heading = page.get_by_role("heading", name="Switch a gate off")
            heading.scroll_into_view_if_needed()
            if page.get_by_text("python -m sentiment ablate").count() == 0:  # ablation.json is there: pick an arm
                label = "Switched off, or started otherwise"
                page.get_by_text(label).wait_for(timeout=60_000)
                page.locator("[data-testid='stSelectbox']").filter(has_text=label).click()
                page.get_by_role("option", name="LSTM no forget", exact=True).click()
                page.wait_for_timeout(4000)
                heading.evaluate("h => h.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(1000)
            errors = page.locator("[data-testid='stException']")
            if errors.count():
                raise SystemExit(f"Switch a gate off shows an exception: {errors.first.inner_text()}")
            path = os.path.join(args.out, "gate_off.png")
            page.screenshot(path=path)
            print(f"Switch a gate off: {path}")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
