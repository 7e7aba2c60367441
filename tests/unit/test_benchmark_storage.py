"""Saved benchmark runs are kept per machine (conftest.py): a run saved here goes under a folder
named after this processor, and records it in its machine info."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_saved_benchmark_run_goes_under_this_machines_folder(tmp_path):
    pytest.importorskip("pytest_benchmark")
    from reprokit import ledger
    (tmp_path / "test_tiny.py").write_text("def test_tiny(benchmark):\n    benchmark(sum, range(10))\n")
    storage = tmp_path / "saved"
    # the project's conftest.py loaded as a plugin: the tiny test lies outside the project
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                    "-p", "conftest", str(tmp_path / "test_tiny.py"),
                    "--benchmark-autosave", f"--benchmark-storage={storage}"],
                   cwd=tmp_path, check=True, capture_output=True, timeout=300,
                   env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
                        "PYTHONPATH": str(ROOT)})  # an xdist worker's variables would disable pytest-benchmark
    (folder,) = storage.iterdir()
    assert folder.name.startswith(ledger.device().replace(", ", "-").replace(" ", "-"))
    (saved,) = folder.glob("*.json")
    assert json.loads(saved.read_text())["machine_info"]["reprokit_device"] == ledger.device()


def test_the_first_compared_run_on_a_machine_becomes_its_baseline(tmp_path):
    """``tox -e bench`` on a fresh machine: nothing saved to compare with. pytest-benchmark alone
    fails that run with a UsageError traceback after every benchmark ran; here it passes, says so
    in one line, and the next run compares with it."""
    pytest.importorskip("pytest_benchmark")
    (tmp_path / "test_tiny.py").write_text("def test_tiny(benchmark):\n    benchmark(sum, range(10))\n")
    storage = tmp_path / "saved"

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
                               "-p", "conftest", str(tmp_path / "test_tiny.py"), "--benchmark-autosave",
                               "--benchmark-compare", "--benchmark-compare-fail=min:1000%",
                               f"--benchmark-storage={storage}"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
                                   "PYTHONPATH": str(ROOT)})
    first = run()
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "no saved run for this machine" in first.stdout and "UsageError" not in first.stdout + first.stderr
    second = run()
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert "no saved run for this machine" not in second.stdout and "0001_" in second.stdout
