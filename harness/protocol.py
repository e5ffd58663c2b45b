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

    Returns: seconds from connecting to "verdicts" (the first run's verdict of
    each of ``models``), "answer_sent" (the attributions of its own review
    received) and "answer_done" (the run that drew them finished); "others"
    (words of other sessions' reviews in anything it received: none
    expected); "exceptions" (elements of that kind received).
    """
    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out: dict = {"others": set(), "exceptions": 0}
    verdicts, runs = 0, 0
    opened = time.perf_counter()
    async with websockets.connect(url.replace("http://", "ws://").rstrip("/") + STREAM, max_size=None) as socket:
        await socket.send(_rerun())
        typed = False
        while "answer_done" not in out:
            raw = await asyncio.wait_for(socket.recv(), timeout_s - (time.perf_counter() - opened))
            now = time.perf_counter() - opened
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            runs += kind == "new_session"  # each run of the page starts with one
            mine = typed and runs > 1  # the run with its review (the first run reads the default review)
            if mine:
                out["others"].update(w for w in others if _mark(w) in raw)
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                what = element.WhichOneof("type")
                out["exceptions"] += what == "exception"
                if what == "metric" and element.metric.label.endswith(" says"):
                    verdicts += 1
                    if verdicts == models:
                        out.setdefault("verdicts", now)
                if what == "text_area" and element.text_area.label == "Review" and not typed:
                    # The box is there: type the review at once, as a user would (the run in progress stops).
                    await socket.send(_rerun(element.text_area.id, session_review(word)))
                    typed = True
            if mine and "answer_sent" not in out and ANSWER in raw and _mark(word) in raw:
                out["answer_sent"] = now
            if mine and kind == "script_finished" and "answer_sent" in out:
                out["answer_done"] = now
    out["others"] = sorted(out["others"])
    return out


def sessions_at_once(url: str, models: int, words: list[str], timeout_s: float = 900.0) -> list[dict]:
    """One session per word, all connected together; see ``one_session``."""

    async def all_of_them() -> list[dict]:
        return list(
            await asyncio.gather(*(one_session(url, models, w, [o for o in words if o != w], timeout_s) for w in words))
        )

    # In a thread of its own: a synchronous Playwright may be running an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, all_of_them()).result()
