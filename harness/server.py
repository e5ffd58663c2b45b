"""Serve the Streamlit app on 127.0.0.1 for the browser test and benchmark_app.py."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository: harness/ is at its top
APP = os.path.join(ROOT, "app.py")
# Headless Chromium from Debian's package, as the browser test and benchmark_app.py start it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class AppServerError(RuntimeError):
    """The app did not come up in time (its log is in the message)."""


@dataclasses.dataclass
class AppServer:
    """A running app: its address, when its process started, and what it has printed so far."""

    url: str
    started: float  # time.perf_counter() just before the server process was started
    _log: object
    pid: int = 0

    def peak_memory_mb(self) -> float | None:
        """The server process's peak resident memory so far (Linux's VmHWM), in MB; None where /proc cannot say."""
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        except (OSError, StopIteration, ValueError):
            return None
        return kb / 1024

    def cpu_seconds(self) -> float | None:
        """CPU seconds the server process has used so far, user and system, all threads (/proc); None elsewhere."""
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def log(self) -> str:
        self._log.flush()
        with open(self._log.name, encoding="utf-8", errors="replace") as f:
            return f.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How the server is started: as the README says (`python app.py`), or as Streamlit's own command.
LAUNCHERS = {"python app.py": [APP], "streamlit run app.py": ["-m", "streamlit", "run", APP]}


@contextlib.contextmanager
def serve_app(
    models: str | os.PathLike, deadline_s: float = 90.0, env: dict | None = None, launcher: str = "python app.py"
) -> Iterator[AppServer]:
    """Starts the app on a free 127.0.0.1 port and yields it, once healthy.

    Args:
        models: the folder of saved models the app loads (``$SENTIMENT_MODELS``).
        deadline_s: how long to wait for the server's health check.
        env: more environment variables for the app (e.g. ``SENTIMENT_LESSON``).
        launcher: one of `LAUNCHERS`.

    Raises:
        AppServerError: the server exited or was not healthy within the
            deadline; the message ends with its output.
    """
    port = free_port()
    env = {**os.environ, "SENTIMENT_MODELS": os.fspath(models), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        started = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                *LAUNCHERS[launcher],
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            end = time.monotonic() + deadline_s
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > end:
                    log.seek(0)
                    state = (
                        f"exited with {server.returncode}"
                        if server.poll() is not None
                        else f"not up in {deadline_s:.0f} s"
                    )
                    raise AppServerError(f"streamlit {state}. Its output:\n{log.read()[-3000:]}")
                time.sleep(0.1)
            yield AppServer(url, started, log, server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
