"""reprokit's own test session (not the plugin, which leaves sessions without claims alone)."""

import os


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:  # one thread per core per worker, for the unit tests that train as for the claims
        threads = str(max(1, (os.cpu_count() or 1) // int(workers)))
        for var in ("REPROKIT_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(var, threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _project_declarations(monkeypatch):
    """A test that points reprokit at another folder of documents (``--expected DIR`` sets
    ``settings.EXPECTED_DIR`` and ``$REPROKIT_EXPECTED_DIR``) leaves the next test the project's."""
    from reprokit import settings
    monkeypatch.setattr(settings, "EXPECTED_DIR", settings.EXPECTED_DIR)
    before = os.environ.get("REPROKIT_EXPECTED_DIR")
    yield
    if before is None:
        os.environ.pop("REPROKIT_EXPECTED_DIR", None)
    else:
        os.environ["REPROKIT_EXPECTED_DIR"] = before


@pytest.fixture(scope="session")
def keras_tf_and_torch():
    """The Keras backend on TensorFlow and the torch backend, loaded by the first test that asks
    (collection imports no framework); skipped where Keras runs on another backend."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("this compares against Keras on TensorFlow")
    from reprokit.backends import load
    return load("keras"), load("torch")
