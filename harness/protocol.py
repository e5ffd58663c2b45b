"""Streamlit sessions without a browser, for benchmark_app.py's many users at once.

In a class each student's browser draws the page on a machine of their own;
thirty Chromium pages on the server's two cores measure the browser instead
(issue 32: they took 280 of the machine's 332 CPU seconds). Each session here
speaks the server's own protocol over its websocket, as the page's JavaScript
does: it asks for a run, sends its review as the "Review" box's value as soon
as the box is there, and reads what the server sends back, drawing nothing.
The server does all the work it does for a browser: every run, every element
and chart serialised and sent.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from harness.browser import session_review

STREAM = "/_stcore/stream"
ANSWER = b"share of P(positive)"  # in the attributions' element, as in harness.browser


def _mark(word: str) -> bytes:
    """The word's span in the attributions (its title starts "<word> #<position>")."""
    return f'title="{word} #'.encode()


def _rerun(box_id: str | None = None, review: str | None = None) -> bytes:
    """A BackMsg asking for a run of the page, with the review box's value when given."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    if box_id is not None:
        widget = msg.rerun_script.widget_states.widgets.add()
        widget.id, widget.string_value = box_id, review
    return msg.SerializeToString()


async def one_session(url: str, models: int, word: str, others: list[str], timeout_s: float) -> dict:
    """One session typing ``session_review(word)``.

    Returns: seconds from connecting to "verdicts" (every one of ``models``'s
    verdicts drawn in one run), "answer_sent" (the attributions of its own
    review received) and "answer_done" (the run that drew them finished);
    "others" (words of other sessions' reviews in anything it received: none
    expected); "exceptions" (elements of that kind received); "failed" (why,
    where it could not connect, got no answer within ``timeout_s`` or its
    socket closed).
    """
    import websockets

    out: dict = {"others": set(), "exceptions": 0}
    opened = time.perf_counter()
    address = url.replace("http://", "ws://").rstrip("/") + STREAM
    try:
        # No keepalive pings: a server busy with thirty sessions may answer one late, and a browser does not close then.
        async with websockets.connect(address, max_size=None, open_timeout=timeout_s, ping_interval=None) as socket:
            await _session(socket, models, word, others, lambda: time.perf_counter() - opened, timeout_s, out)
    except (OSError, websockets.WebSocketException) as err:  # no answer in time, refused, closed: with what it had
        out["failed"] = repr(err)
    out["others"] = sorted(out["others"])
    return out


async def _session(socket, models: int, word: str, others: list[str], clock, timeout_s: float, out: dict) -> None:
    """Asks for a run, types the review when its box comes, and reads until the run with its answer is done."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    verdicts, runs, typed = set(), 0, False  # verdicts: the models whose verdict the current run has drawn
    await socket.send(_rerun())
    while "answer_done" not in out:
        raw = await asyncio.wait_for(socket.recv(), timeout_s - clock())
        now = clock()
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # each run of the page starts with one
            runs, verdicts = runs + 1, set()
        mine = typed and runs > 1  # the run with its review (the first run reads the default review)
        # Other sessions' words, in any run (the default review has none of them: harness.browser.WORDS).
        out["others"].update(w for w in others if _mark(w) in raw)
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            what = element.WhichOneof("type")
            out["exceptions"] += what == "exception"
            if what == "metric" and element.metric.label.endswith(" says"):
                verdicts.add(element.metric.label)
                if len(verdicts) == models:
                    out.setdefault("verdicts", now)
            if what == "text_area" and element.text_area.label == "Review" and not typed:
                # The box is there: type the review at once, as a user would (the run in progress stops).
                await socket.send(_rerun(element.text_area.id, session_review(word)))
                typed = True
        if mine and "answer_sent" not in out and ANSWER in raw and _mark(word) in raw:
            out["answer_sent"] = now
        if mine and kind == "script_finished" and "answer_sent" in out:
            out["answer_done"] = now


def sessions_at_once(url: str, models: int, words: list[str], timeout_s: float = 900.0) -> list[dict]:
    """One session per word, all connected together; see ``one_session``. A
    session that failed is ``{"failed": its exception}``."""

    async def all_of_them() -> list[dict]:
        done = await asyncio.gather(
            *(one_session(url, models, w, [o for o in words if o != w], timeout_s) for w in words),
            return_exceptions=True,
        )
        # A session that failed (timed out, its socket closed) is reported beside the others, not in place of them.
        return [{"failed": repr(r), "others": [], "exceptions": 0} if isinstance(r, BaseException) else r for r in done]

    # In a thread of its own: a synchronous Playwright may be running an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, all_of_them()).result()
