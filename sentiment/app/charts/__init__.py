"""The app's charts (Altair) and shaded HTML, a module per tab: pure functions
of figures and traces, no Streamlit, so that the tests can check them alone."""
