"""Small pieces of page the tabs share."""

from __future__ import annotations

import streamlit as st

COMPILING = " (first compiling the models' passes: once per server start)"


def pending(what: str, compiling: bool):
    """A place on the page that says what is being computed until it is
    filled (``with slot.container(): ...``)."""
    slot = st.empty()
    slot.info(f"{what} ..." + (COMPILING if compiling else ""))
    return slot
