"""Saved benchmark runs are kept per machine (conftest.py): a run saved here goes under a folder
named after this processor, and records it in its machine info."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# This machine's own name, then names shaped like other machines' (parentheses, "@", a frequency,
# "+", blank), made from this one's: the folder must come from reprokit's one rule, whatever the name.
def _other_machines() -> list:
    from reprokit import ledger
    own = ledger.cpu_model()
    return [None, f"{own}(R) Processor(TM) @ 2.10GHz", f"{own} 8480+ (another)", "  "]


OTHER_MACHINES = _other_machines()


def _as_machine(tmp_path: Path, name: str | None) -> list[str]:
    """pytest arguments that make the run in a subprocess see ``name`` as its processor's name
    (a plugin that patches reprokit's one source of it); none for this machine."""
    if name is None:
        return []
    (tmp_path / "as_machine.py").write_text(f"from reprokit import ledger\nledger.cpu_model = lambda: {name!r}\n")
    return ["-p", "as_machine"]


@pytest.mark.parametrize("cpu_name", OTHER_MACHINES, ids=lambda n: "this-machine" if n is None else repr(n))
def test_a_saved_benchmark_run_goes_under_this_machines_folder(tmp_path, monkeypatch, cpu_name):
    pytest.importorskip("pytest_benchmark")
    from reprokit import ledger
    (tmp_path / "test_tiny.py").write_text("def test_tiny(benchmark):\n    benchmark(sum, range(10))\n")
    storage = tmp_path / "saved"
    # the project's conftest.py loaded as a plugin: the tiny test lies outside the project
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                           *_as_machine(tmp_path, cpu_name), "-p", "conftest", str(tmp_path / "test_tiny.py"),
                           "--benchmark-autosave", f"--benchmark-storage={storage}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
                               "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    if cpu_name is not None:
        monkeypatch.setattr(ledger, "cpu_model", lambda: cpu_name)
    (folder,) = storage.iterdir()
    assert folder.name.startswith(ledger.machine_folder() + "-")  # then pytest-benchmark's own platform id
    assert folder.name == Path(folder.name).name and "/" not in folder.name and "(" not in folder.name
    (saved,) = folder.glob("*.json")
    assert json.loads(saved.read_text())["machine_info"]["reprokit_device"] == ledger.device()


def test_the_machine_folder_is_one_safe_path_component():
    from reprokit import ledger
    assert ledger.machine_folder("Vendor(R) Chip(R) Processor, 2 cores") == "Vendor-R-Chip-R-Processor-2-cores"
    assert ledger.machine_folder("../..//x") == "x"
    assert ledger.machine_folder("((()))") == "unknown"


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
