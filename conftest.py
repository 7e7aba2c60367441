"""Project-level pytest configuration. The reprokit plugin itself is registered through its
``pytest11`` entry point (pyproject.toml); nothing here is needed for it to load."""
