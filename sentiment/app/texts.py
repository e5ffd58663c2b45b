"""The app's long texts, kept in markdown files beside this module
(``texts/<name>.md``) so that the code reads as what the page does.

A file is a list of sections, each under a ``## heading``; a section may
hold ``{placeholders}`` that the page fills with measured figures.
"""

from __future__ import annotations

import functools
import os
import re

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "texts")


@functools.cache
def sections(name: str) -> dict[str, str]:
    """{heading: text} of ``texts/<name>.md``, in the file's order."""
    with open(os.path.join(FOLDER, f"{name}.md"), encoding="utf-8") as f:
        parts = re.split(r"^## (.+)$", f.read(), flags=re.MULTILINE)
    return {heading.strip(): body.strip() for heading, body in zip(parts[1::2], parts[2::2])}


def text(name: str, heading: str, **values) -> str:
    """One section of ``texts/<name>.md``, its placeholders filled with ``values``."""
    body = sections(name)[heading]
    return body.format(**values) if values else body
