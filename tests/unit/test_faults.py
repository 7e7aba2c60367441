"""Faults: a run killed with SIGKILL (while training, or in the middle of writing its cache or
ledger entry) leaves no corrupt entry, and the next run redoes exactly what was lost; a corrupt
entry is detected and redone; a changed recipe, data or library version invalidates the entries
it affects."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from reprokit import cache, experiments, ledger, settings

EXP = "binadd.h3.l3.ce"  # any experiment: training is replaced by a stand-in in these tests


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(settings, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(settings, "PROFILE", "full")
    return tmp_path


CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from reprokit import cache, experiments, settings
    tmp, where = Path(sys.argv[1]), sys.argv[2]
    settings.CACHE_DIR, settings.RESULTS_DIR, settings.PROFILE = tmp / "cache", tmp / "results", "full"

    def hang(label):
        (tmp / "reached").write_text(label)
        time.sleep(600)

    def train(exp, backend, seed):
        if where == "training":
            hang("training")
        return {"test": {"accuracy": 0.5}, "history": {"loss": [1.0] * 1000}}
    experiments.train = train
    fsync = os.fsync
    def slow_fsync(fd):  # the entry's text is in its temporary file, not yet renamed into place
        path = os.readlink(f"/proc/self/fd/{fd}")
        if ("results" in path) == (where == "ledger write"):
            hang(where)
        fsync(fd)
    os.fsync = slow_fsync
    experiments.run(%r, "torch", 0)
""" % EXP)


def _kill_at(tmp: Path, where: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp), where])
    try:
        deadline = time.monotonic() + 120
        while not (tmp / "reached").exists():
            assert proc.poll() is None, f"the run ended (rc {proc.returncode}) before reaching {where}"
            assert time.monotonic() < deadline, f"the run never reached {where}"
            time.sleep(0.05)
        assert (tmp / "reached").read_text() == where
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()


def _entries(tmp: Path) -> list[Path]:
    return sorted(p for p in tmp.rglob("*.json"))


@pytest.mark.parametrize("where", ["training", "cache write", "ledger write"])
def test_sigkill_leaves_no_entry_and_the_next_run_redoes_it(dirs, monkeypatch, where):
    _kill_at(dirs, where)
    kept = _entries(dirs)
    # Killed before the rename: nothing under the entry's name. (Killed in the cache write, the
    # ledger entry, written just before, is complete and stays.)
    assert [p.parent.name for p in kept] == (["binadd.h3.l3.ce"] if where == "cache write" else [])
    for p in kept:
        json.loads(p.read_text())
    calls = []
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: calls.append(1) or {"test": {"accuracy": 0.7}})
    result = experiments.run(EXP, "torch", 0)  # the killed run's lock was released with it
    if where == "cache write":  # resumed from the ledger: not trained again
        assert calls == [] and result["test"]["accuracy"] == 0.5
    else:
        assert calls == [1] and result == {"test": {"accuracy": 0.7}}
        assert ledger.status(experiments.get(EXP), "torch", 0)[0] == "current"


def test_leftover_temporary_files_are_never_read(dirs):
    key = {"k": 1}
    path = cache.path(key, "e/x")
    path.parent.mkdir(parents=True)
    Path(str(path) + ".tmp").write_text('{"key": {"k": 1}, "result": {"v": "half')
    assert cache.get_or_compute(key, "e/x", lambda: {"v": 2}) == {"v": 2}


@pytest.mark.parametrize("damage", ["truncated", "empty", "not json", "wrong shape", "binary"])
def test_corrupt_ledger_entry_is_detected_and_redone(dirs, monkeypatch, damage):
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: {"test": {"accuracy": 0.6}})
    experiments.run(EXP, "torch", 0)
    entry = ledger.path(EXP, "torch", 0)
    text = entry.read_text()
    entry.write_bytes({"truncated": text[: len(text) // 2].encode(), "empty": b"", "not json": b"{{{",
                       "wrong shape": b"[1, 2, 3]", "binary": b"\xff\xfe\x00"}[damage])
    assert ledger.status(experiments.get(EXP), "torch", 0)[0] == "corrupt"
    for p in Path(settings.CACHE_DIR).rglob("*.json"):
        p.write_text(p.read_text()[:20])  # the cache too: the run must come from training again
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: {"test": {"accuracy": 0.61}})
    assert experiments.run(EXP, "torch", 0) == {"test": {"accuracy": 0.61}}
    assert ledger.status(experiments.get(EXP), "torch", 0)[0] == "current"


def test_changed_recipe_data_or_library_invalidates(dirs, monkeypatch):
    calls = []
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: calls.append(exp.name) or {"n": len(calls)})
    exp = experiments.get(EXP)
    experiments.run(EXP, "torch", 0)
    experiments.run(EXP, "torch", 0)
    assert len(calls) == 1  # unchanged: read back

    changed = dataclasses.replace(exp, learning_rate=exp.learning_rate * 2)
    monkeypatch.setitem(experiments.EXPERIMENTS, EXP, changed)
    assert ledger.status(changed, "torch", 0)[0] == "stale"
    experiments.run(EXP, "torch", 0)
    assert len(calls) == 2  # recipe changed: trained again

    env = experiments.environment
    monkeypatch.setattr(experiments, "environment", lambda b: {**env(b), "torch": "9.9.9"})
    experiments.run(EXP, "torch", 0)
    assert len(calls) == 3  # library changed: trained again

    class OtherData(type(exp.data)):
        def digest(self) -> str:
            return "another data set"
    moved = dataclasses.replace(changed, data=OtherData(**dataclasses.asdict(exp.data)))
    monkeypatch.setitem(experiments.EXPERIMENTS, EXP, moved)
    assert ledger.status(moved, "torch", 0)[0] == "stale"
    experiments.run(EXP, "torch", 0)
    assert len(calls) == 4  # data changed: trained again


def test_another_thread_count_resumes_from_the_ledger(dirs, monkeypatch):
    calls = []
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: calls.append(1) or {"v": 1})
    monkeypatch.setenv("REPROKIT_THREADS", "1")
    experiments.run(EXP, "torch", 0)
    monkeypatch.setenv("REPROKIT_THREADS", "2")
    assert experiments.run(EXP, "torch", 0) == {"v": 1} and calls == [1]


def test_full_profile_records_a_run_the_quick_profile_cached(dirs, monkeypatch):
    calls = []
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: calls.append(1) or {"v": 1})
    monkeypatch.setattr(settings, "PROFILE", "quick")
    experiments.run(EXP, "torch", 0)
    assert ledger.status(experiments.get(EXP), "torch", 0)[0] == "missing"  # quick runs are not recorded
    monkeypatch.setattr(settings, "PROFILE", "full")
    assert experiments.run(EXP, "torch", 0) == {"v": 1} and calls == [1]
    state, entry = ledger.status(experiments.get(EXP), "torch", 0)
    assert state == "current" and entry["recorded"]["source"] == "cache"


def test_retrain_ignores_the_ledger(dirs, monkeypatch):
    calls = []
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: calls.append(1) or {"v": len(calls)})
    experiments.run(EXP, "torch", 0)
    for p in Path(settings.CACHE_DIR).rglob("*.json"):
        p.unlink()
    assert experiments.run(EXP, "torch", 0) == {"v": 1}  # read back from the ledger
    for p in Path(settings.CACHE_DIR).rglob("*.json"):
        p.unlink()
    monkeypatch.setattr(settings, "RETRAIN", True)
    assert experiments.run(EXP, "torch", 0) == {"v": 2} and calls == [1, 1]


def test_a_run_of_an_older_port_revision_is_stale(dirs, monkeypatch):
    """A torch run of a Keras document recorded before the port's last change is not what this
    code computes: stale (never a verdict's draw) and trained again by a full run."""
    calls = []
    monkeypatch.setattr(experiments, "train", lambda exp, b, s: calls.append(exp.name) or {"n": len(calls)})
    exp = experiments.get("imdbq.adam5")
    experiments.run(exp.name, "torch", 0)
    assert ledger.status(exp, "torch", 0)[0] == "current"
    monkeypatch.setattr(experiments, "TORCH_PORT", "3")
    assert ledger.status(exp, "torch", 0)[0] == "stale"
    experiments.run(exp.name, "torch", 0)
    assert len(calls) == 2
    experiments.run("binadd.h3.l3.ce", "torch", 0)  # a document written for torch: no port revision
    assert ledger.status(experiments.get("binadd.h3.l3.ce"), "torch", 0)[0] == "current"
