"""reprokit's own test session (not the plugin, which leaves sessions without claims alone)."""

import os


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:  # one thread per core per worker, for the unit tests that train as for the claims
        threads = str(max(1, (os.cpu_count() or 1) // int(workers)))
        for var in ("REPROKIT_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(var, threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
