"""Project-level pytest configuration. The reprokit plugin itself is registered through its
``pytest11`` entry point (pyproject.toml); nothing here is needed for it to load."""

import os


def pytest_configure(config):
    # The suite's promise: with the data folder given, nothing is downloaded. Hold it to that for
    # the whole session, in every xdist worker: a connection attempt fails the test that made it.
    if os.environ.get("REPROKIT_DATA_DIR"):
        from reprokit import offline
        offline.block()
