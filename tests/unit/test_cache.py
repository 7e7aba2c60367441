"""The run cache: computed once, read after, corrupt entries redone, one training per key even
when several workers ask at once."""

import json
import multiprocessing
from pathlib import Path

import pytest

from reprokit import cache, settings


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    return tmp_path


def test_computed_once_then_read(cache_dir):
    calls = []
    compute = lambda: calls.append(1) or {"acc": 0.7}  # noqa: E731
    assert cache.get_or_compute({"k": 1}, "exp/keras-seed0", compute) == {"acc": 0.7}
    assert cache.get_or_compute({"k": 1}, "exp/keras-seed0", compute) == {"acc": 0.7}
    assert len(calls) == 1
    cache.get_or_compute({"k": 2}, "exp/keras-seed0", compute)  # another recipe: another entry
    assert len(calls) == 2


def test_corrupt_entry_is_redone(cache_dir):
    cache.get_or_compute({"k": 1}, "e/x", lambda: {"v": 1})
    (entry,) = [p for p in cache_dir.rglob("*.json")]
    entry.write_text(entry.read_text()[:10])  # truncated, as by a crash mid-write without rename
    assert cache.get_or_compute({"k": 1}, "e/x", lambda: {"v": 2}) == {"v": 2}
    assert json.loads(entry.read_text())["result"] == {"v": 2}


def test_failed_computation_leaves_nothing(cache_dir):
    def boom():
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        cache.get_or_compute({"k": 1}, "e/x", boom)
    assert not list(cache_dir.rglob("*.json")) and not list(cache_dir.rglob("*.tmp"))


def _worker(args):
    folder, log = args
    settings.CACHE_DIR = Path(folder)

    def compute():
        with open(log, "a") as f:
            f.write("trained\n")
        import time
        time.sleep(0.5)
        return {"v": 1}
    return cache.get_or_compute({"k": "same"}, "e/x", compute)


def test_four_workers_train_once(cache_dir, tmp_path):
    log = tmp_path / "log.txt"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_worker, [(str(cache_dir), str(log))] * 4)
    assert results == [{"v": 1}] * 4
    assert log.read_text().count("trained") == 1


