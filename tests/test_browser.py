"""End to end in a real browser: the app served on 127.0.0.1, driven by headless Chromium."""

import os
import tempfile

import pytest

from conftest import ROOT
from harness import browser
from harness.server import serve_app

ARTIFACTS = os.path.join(ROOT, "artifacts")
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tiny_run, tiny_lesson):
    """One server for the module, `streamlit run app.py` with no compiled
    programs kept: it starts compiling with its first page, which meets the
    passes compiling (`python app.py` starts before any page: see below)."""
    if not os.path.exists(browser.CHROMIUM):
        pytest.skip(f"no Chromium at {browser.CHROMIUM} (apt-get install chromium)")
    out, _ = tiny_run
    with tempfile.TemporaryDirectory(prefix="xla-cache-") as cache:
        # TF_XLA_FLAGS emptied: an app run inside this test process earlier has set it to its own cache.
        env = {"SENTIMENT_LESSON": str(tiny_lesson), "SENTIMENT_XLA_CACHE": cache, "TF_XLA_FLAGS": ""}
        with serve_app(out, env=env, launcher="streamlit run app.py") as running:
            yield running


@pytest.fixture(scope="module")
def chrome():
    with browser.chromium() as chrome:
        yield chrome


def test_the_verdicts_come_first_and_the_explanations_fill_in(server, chrome):
    """On the first page after a start, the verdicts are on screen before any
    attribution, first from NumPy, then confirmed by Keras; a note says what
    is being computed meanwhile, and the explanations then take its place;
    every tab then works."""
    page = chrome.new_page(viewport=browser.VIEWPORT)
    browser.watch(
        page,
        {
            "verdicts": browser.verdicts_shown(2),
            "confirmed": "document.body.innerText.split('confirmed by Keras').length == 3",
            "note": "document.body.innerText.includes('Working out which words decided each verdict')",
            "attributions": browser.ATTRIBUTIONS,
        },
    )
    page.goto(server.url, timeout=60_000)
    browser.wait_until(page, browser.ATTRIBUTIONS + " && " + browser.charts_shown(4))
    seen = browser.seen(page)
    assert seen["verdicts"] < seen["confirmed"] < seen["attributions"], seen  # NumPy's, then Keras's word on them
    assert "Keras checks it" not in page.inner_text("body")
    assert seen["note"] < seen["attributions"], seen  # the placeholder was on screen ...
    assert "Working out which words" not in page.inner_text("body")  # ... and is gone
    assert not browser.exceptions(page)

    browser.type_review(page, "A dull, boring film. The acting was awful and I hated the ending.")
    browser.wait_until(page, browser.answered("boring"))
    browser.wait_until(page, browser.charts_shown(4))
    page.wait_for_selector("span[title*='boring']")  # the shaded review
    assert not browser.exceptions(page)
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "app.png"), full_page=True)

    page.get_by_role("tab", name="Why gates?").click()
    page.get_by_text("Gate saturation").wait_for(timeout=120_000)
    page.get_by_text("How far back the gradient reaches: this review").wait_for(timeout=60_000)
    page.wait_for_selector("span[title*='kept at the end']", timeout=60_000)  # retention under the review
    browser.wait_until(page, browser.charts_shown(6))
    assert not browser.exceptions(page)
    page.screenshot(path=os.path.join(ARTIFACTS, "why_gates.png"), full_page=True)


def test_ten_sessions_at_once_are_all_answered(server):
    """Ten tabs open the app together and each types its own review: each
    gets the answer to its own review (and no other's), the message that
    carried it is caught on its way in, and the server logs no exception."""
    pages = browser.sessions_at_once(server.url, models=2, timeout_ms=120_000)
    assert len(pages) == 10
    for page in pages:
        assert not page["others"] and not page["exceptions"], page
        assert page["answer_sent"] > 0 and page["answer"] > 0, page
    log = server.log()
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]
    assert server.peak_memory_mb() > 100  # a server with TensorFlow and two models (benchmark_app.py reports it)
    assert server.cpu_seconds() > 1  # it has loaded them and read ten reviews


def test_sessions_without_a_browser_each_get_their_own_answer(server):
    """benchmark_app.py's many users speak the server's protocol instead of
    drawing thirty pages on its cores: each session still sends its own review
    and receives the answer to it (and no other's), after its first verdicts."""
    from harness import protocol

    words = browser.WORDS[:4]
    sessions = protocol.sessions_at_once(server.url, models=2, words=words, timeout_s=120)
    assert len(sessions) == 4
    for session in sessions:
        assert not session["others"] and not session["exceptions"], session
        assert 0 < session["verdicts"] < session["answer_sent"] <= session["answer_done"], session
    assert "Traceback" not in server.log()


def test_a_niced_chromium_is_debians_started_at_low_priority():
    """benchmark_app.py's pages stand for other machines: their Chromium yields the cores to the server."""
    import subprocess

    with browser._niced(0) as plain:
        assert plain == browser.CHROMIUM
    with browser._niced(19) as script:
        assert f"nice -n 19 {browser.CHROMIUM}" in open(script).read()
        shown = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and "Chromium" in shown.stdout, shown
    assert not os.path.exists(script)


def test_a_class_in_a_room_gets_a_word_each():
    words = browser.session_words(30)
    assert len(set(words)) == 30 and browser.session_words(10) == browser.WORDS
    with pytest.raises(ValueError, match="got 31, wanted 1 to 30"):
        browser.session_words(31)


def test_python_app_py_serves_the_app_warmed_up(tiny_run, tiny_lesson, chrome):
    """`python app.py`, the README's command: the same app, its models loading
    and compiling while the server starts."""
    out, _ = tiny_run
    with tempfile.TemporaryDirectory(prefix="xla-cache-") as cache:
        # TF_XLA_FLAGS emptied: an app run inside this test process earlier has set it to its own cache.
        env = {"SENTIMENT_LESSON": str(tiny_lesson), "SENTIMENT_XLA_CACHE": cache, "TF_XLA_FLAGS": ""}
        with serve_app(out, env=env, launcher="python app.py") as running:
            page = chrome.new_page(viewport=browser.VIEWPORT)
            page.goto(running.url, timeout=60_000)
            browser.wait_until(page, browser.verdicts_shown(2) + " && " + browser.ATTRIBUTIONS)
            assert not browser.exceptions(page)
            assert os.listdir(cache), "no compiled program kept"
