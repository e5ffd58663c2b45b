"""The one way the app caches what it reads: by file.

A reading of a file (metrics.json, a model's verdicts on a review, an atlas)
is cached under a `File`: its path and its modification time. A file
rewritten on disk (a model retrained, a suite run again) is then a new key,
read afresh on the next run of the page, with no restart and no stale view.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def modified(path: str) -> float:
    """The file's modification time; -1 for a missing file."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return -1.0


@dataclass(frozen=True)
class File:
    """A file as a cache key: its path, and the modification times of it and
    of the files its reading depends on (``also``: a suite's results are stale
    when a model they were measured on changes)."""

    path: str
    stamp: tuple[float, ...]

    @classmethod
    def at(cls, path: str, *also: str) -> File:
        return cls(path, tuple(modified(p) for p in (path, *also)))
