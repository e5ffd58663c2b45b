"""The session's state: every key the app keeps for a session, written here
and nowhere else, so that what a session remembers can be read in one place.

Streamlit forgets a widget's value in a run that does not draw the widget
(another tab is open), so the explore tab's review is kept twice: in its text
box (``REVIEW``) and under a key of its own (``KEPT``) that gives it back.
"""

from __future__ import annotations

import streamlit as st

from sentiment.app.texts import sections

EXAMPLES = sections("examples")  # the explore tab's example reviews
DEFAULT_REVIEW = EXAMPLES["Clearly positive"]  # a new session's review
MAX_CHARS = 100_000  # longer pastes are cut here; the models read far less anyway
OWN = "(your own)"  # what the example pickers show for a text typed or put in

TAB = "tab"  # the open tab's title (st.tabs' key)
REVIEW, KEPT, EXAMPLE = "review", "the_review", "example"  # the explore tab's box, its copy, its picker
EDIT_A, EDIT_B, PAIR = "edit_a", "edit_b", "edit_pair"  # the side-by-side view's two boxes and its picker


def review() -> str:
    """The explore tab's review (kept across tabs), cut to `MAX_CHARS`."""
    return st.session_state.get(KEPT, DEFAULT_REVIEW)[:MAX_CHARS]


def review_box() -> str:
    """The explore tab's example picker and text box; the text in the box."""
    if REVIEW not in st.session_state:
        st.session_state[REVIEW] = st.session_state.get(KEPT, DEFAULT_REVIEW)

    def pick_example():
        st.session_state[REVIEW] = EXAMPLES.get(st.session_state[EXAMPLE], st.session_state[REVIEW])

    st.selectbox("Example", [OWN, *EXAMPLES], key=EXAMPLE, on_change=pick_example)
    text = st.text_area("Review", key=REVIEW, height=140)
    st.session_state[KEPT] = text
    return text


def open_review(text: str, tab: str) -> None:
    """Puts ``text`` into the explore tab's box and opens the tab titled ``tab`` (a button's callback)."""
    st.session_state[REVIEW] = st.session_state[KEPT] = text
    st.session_state[EXAMPLE] = OWN
    st.session_state[TAB] = tab


def pair_boxes(pairs: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The side-by-side view's pair picker and its two text boxes; the two texts."""
    if EDIT_A not in st.session_state:
        first = next(iter(pairs))
        st.session_state[EDIT_A], st.session_state[EDIT_B] = pairs[first]
        st.session_state[PAIR] = first

    def pick():
        if st.session_state[PAIR] in pairs:
            st.session_state[EDIT_A], st.session_state[EDIT_B] = pairs[st.session_state[PAIR]]

    st.selectbox("Pair", [OWN, *pairs], key=PAIR, on_change=pick)
    left, right = st.columns(2)
    return left.text_area("Review", key=EDIT_A, height=100), right.text_area("Its edit", key=EDIT_B, height=100)


def open_pair(review_text: str, edit: str) -> None:
    """Puts a pair into the side-by-side view (a button's callback)."""
    st.session_state[EDIT_A], st.session_state[EDIT_B] = review_text, edit
    st.session_state[PAIR] = OWN
