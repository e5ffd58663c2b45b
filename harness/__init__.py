"""The app served on 127.0.0.1 (`harness.server`) and driven in headless
Chromium (`harness.browser`): for the browser tests, benchmark_app.py and
docs/screenshots.py. Not part of the product: nothing in `sentiment` imports it."""
