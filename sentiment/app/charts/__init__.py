"""The app's charts (Altair) and shaded HTML, a module per tab: pure functions
of figures and traces, no Streamlit, so that the tests can check them alone."""

import functools

import altair as alt

# Altair's top-level charts: what the app hands to `st.altair_chart`.
TOP_LEVEL = (alt.Chart, alt.LayerChart, alt.HConcatChart, alt.VConcatChart, alt.ConcatChart, alt.FacetChart)


def skip_the_schema_check() -> None:
    """Makes ``to_dict()`` of Altair's top-level charts skip the check against
    Vega-Lite's JSON schema, in this process (the app's server; an explicit
    ``to_dict(validate=True)`` still checks).

    Streamlit converts every chart of every run with ``to_dict()``, and the
    check is the largest part of a page run that holds Python's interpreter
    lock (about a third of it, docs/benchmark.md), which every session of the
    server queues for. The charts are the same code on every run: the app's
    tests check every chart the app draws against the schema instead
    (tests/test_app.py)."""
    for chart in TOP_LEVEL:
        if not isinstance(chart.__dict__.get("to_dict"), functools.partialmethod):
            chart.to_dict = functools.partialmethod(chart.to_dict, validate=False)
