"""Project-level pytest configuration. The reprokit plugin itself is registered through its
``pytest11`` entry point (pyproject.toml); nothing here is needed for it to load."""

import os

import pytest


def pytest_configure(config):
    # The suite's promise: with the data folder given, nothing is downloaded. Hold it to that for
    # the whole session, in every xdist worker: a connection attempt fails the test that made it.
    if os.environ.get("REPROKIT_DATA_DIR"):
        from reprokit import offline
        offline.block()
    if config.pluginmanager.hasplugin("benchmark"):
        _benchmarks_per_machine()
        _first_run_on_a_machine(config)


def pytest_collection_modifyitems(session, config, items):
    """The long setups first: an expensive claim's smoke training (one to three minutes each) goes
    to the front of the queue, so that under ``-n auto --dist worksteal`` the short tests fill in
    around them instead of a smoke training starting last and running alone at the end."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("reprokit_smoke") else 1)  # stable: order kept


NOTHING_TO_COMPARE = pytest.StashKey[str]()


def _first_run_on_a_machine(config) -> None:
    """``--benchmark-compare`` (the latest saved run) with ``--benchmark-compare-fail`` on a machine
    that has saved no run yet: pytest-benchmark would run every benchmark, then fail with a
    UsageError traceback. Here the run goes on without comparing and says so in one line (the
    report header); with ``--benchmark-autosave`` it becomes the baseline the next run compares to."""
    from pathlib import Path

    from pytest_benchmark import session
    storage = config.getoption("benchmark_storage")
    if config.getoption("benchmark_compare") is not True or "://" in storage and not storage.startswith("file://"):
        return
    folder = Path(storage.removeprefix("file://")) / session.get_machine_id()
    if any(folder.glob("*.json")):
        return
    config.option.benchmark_compare = []
    config.option.benchmark_compare_fail = []
    config.stash[NOTHING_TO_COMPARE] = (
        f"benchmarks: no saved run for this machine in {folder}: nothing to compare"
        + ("; this run, saved, is the baseline the next one compares to" if config.getoption("benchmark_autosave") else ""))


def pytest_report_header(config):
    return config.stash.get(NOTHING_TO_COMPARE, None)


def _benchmarks_per_machine() -> None:
    """Saved benchmark runs go under a folder per machine: pytest-benchmark names its folder after
    the platform and Python only (``Linux-CPython-3.11-64bit``), so runs of two different machines
    would be compared as one series. The processor and its core count lead the name
    (``.benchmarks/AMD-EPYC-2-cores-Linux-CPython-3.11-64bit/``); ``pytest-benchmark compare``
    reads every machine's folder and labels each run with it. Runs before pytest-benchmark's own
    ``pytest_configure`` (trylast), which builds its session from this name."""
    from pytest_benchmark import session, utils

    from reprokit import ledger
    machine = ledger.machine_folder()
    session.get_machine_id = lambda: f"{machine}-{utils.get_machine_id()}"


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-benchmark, which may not be installed
def pytest_benchmark_update_machine_info(config, machine_info):
    """The processor as the ledger records it, in every saved run: ``--benchmark-compare`` warns
    when the run compared against comes from another machine."""
    from reprokit import ledger
    machine_info["reprokit_device"] = ledger.device()
