"""harness/protocol.py's sessions without a browser, where no server answers (the served app: tests/test_browser.py)."""

from harness import protocol
from harness.server import free_port


def test_a_session_that_cannot_connect_is_reported_beside_the_others_not_raised():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sessions = protocol.sessions_at_once(url, models=2, words=["great", "awful"], timeout_s=10)
    assert len(sessions) == 2
    for session in sessions:
        assert "ConnectionRefused" in session["failed"] and not session["others"], session
        assert "answer_sent" not in session and "verdicts" not in session
