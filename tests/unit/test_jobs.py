"""The batch-job unit and the merge step: ``reprokit train EXPERIMENT BACKEND SEED --results DIR``
records one ledger entry, the same run the full profile records; ``reprokit merge DIR...`` checks
entries made elsewhere against this code and adds them all, or none when any is wrong."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reprokit import cli, settings

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path("runs/binadd.h3.l3.ce/torch-seed0.json")  # a solo run of the committed ledger


def _numbers(entry: dict) -> dict:
    return {k: v for k, v in entry["result"].items() if k not in ("wall_s", "epoch_s")}


def test_a_train_job_records_the_run_the_full_profile_recorded(tmp_path):
    pytest.importorskip("torch")
    env = {**os.environ, "REPROKIT_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "reprokit.cli", "train", "binadd.h3.l3.ce", "torch", "0",
                          "--results", str(tmp_path / "job")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    made = json.loads((tmp_path / "job" / ENTRY).read_text())
    recorded = json.loads((ROOT / "results" / ENTRY).read_text())
    assert made["key"]["recipe"] == recorded["key"]["recipe"] and made["key"]["env"]["threads"] == "1"
    if recorded["recorded"]["device"] == made["recorded"]["device"]:
        assert _numbers(made) == _numbers(recorded)


@pytest.fixture
def ledgers(tmp_path, monkeypatch):
    """A job's folder holding one valid entry, and an empty ledger to merge into."""
    job = tmp_path / "job"
    (job / ENTRY).parent.mkdir(parents=True)
    shutil.copy(ROOT / "results" / ENTRY, job / ENTRY)
    target = tmp_path / "ledger"
    monkeypatch.setenv("REPROKIT_RESULTS_DIR", str(target))
    monkeypatch.setattr(settings, "RESULTS_DIR", target)
    return job, target


def test_merge_adds_valid_entries_and_is_idempotent(ledgers, capsys):
    job, target = ledgers
    assert cli.main(["merge", str(job)]) == 0
    assert json.loads((target / ENTRY).read_text()) == json.loads((job / ENTRY).read_text())
    assert cli.main(["merge", str(job)]) == 0
    assert "merged 0 entries" in capsys.readouterr().out


def _unknown_experiment(p: Path) -> None:
    (p.parent.parent / "binadd.h9").mkdir()
    p.rename(p.parent.parent / "binadd.h9" / p.name)


@pytest.mark.parametrize("spoil, message", [
    (lambda p: p.write_text("{not json"), "not a ledger entry"),
    (_unknown_experiment, "unknown experiment 'binadd.h9'"),
    (lambda p: p.rename(p.with_name("torch-seed1.json")), "another recipe, seed, data or backend"),  # another seed
    (lambda p: p.rename(p.with_name("keras-seed0.json")), "another recipe, seed, data or backend"),  # another backend
], ids=["corrupt", "unknown experiment", "wrong seed", "wrong backend"])
def test_merge_rejects_every_bad_entry_and_writes_nothing(ledgers, capsys, spoil, message):
    job, target = ledgers
    good = job / "runs" / "binadd.h3.l3.mse" / "torch-seed0.json"
    good.parent.mkdir()
    shutil.copy(ROOT / "results" / "runs" / "binadd.h3.l3.mse" / "torch-seed0.json", good)
    spoil(job / ENTRY)
    assert cli.main(["merge", str(job)]) == 1
    err = capsys.readouterr().err
    assert message in err and "nothing was merged" in err and "Traceback" not in err
    assert not target.exists()  # the valid entry was not merged either


def test_merge_keeps_a_current_entry_that_differs_unless_told(ledgers, capsys):
    job, target = ledgers
    assert cli.main(["merge", str(job)]) == 0
    entry = json.loads((job / ENTRY).read_text())
    entry["result"]["test"]["accuracy"] += 0.01  # the same run, another result: a conflict
    (job / ENTRY).write_text(json.dumps(entry))
    assert cli.main(["merge", str(job)]) == 1
    assert "conflicts with the current entry" in capsys.readouterr().err
    assert cli.main(["merge", "--replace", str(job)]) == 0
    assert json.loads((target / ENTRY).read_text()) == entry


def test_distribute_trains_the_missing_runs_on_a_local_cluster_and_writes_them_here(tmp_path, monkeypatch, capsys):
    """Two workers (processes) train two runs; this process validates and records both."""
    pytest.importorskip("distributed")
    pytest.importorskip("torch")
    target = tmp_path / "ledger"
    monkeypatch.setenv("REPROKIT_RESULTS_DIR", str(target))  # the workers' jobs write elsewhere
    monkeypatch.setenv("REPROKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(settings, "RESULTS_DIR", target)
    assert cli.main(["distribute", "binadd.h3.l3.ce", "--backend", "torch", "--seeds", "0-1", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 runs to train" in out and "2 of 2 runs recorded" in out
    made = json.loads((target / ENTRY).read_text())
    recorded = json.loads((ROOT / "results" / ENTRY).read_text())
    if made["recorded"]["device"] == recorded["recorded"]["device"]:
        assert _numbers(made) == _numbers(recorded)  # the same run as the full profile's, seed 0 solo there too
    assert (target / "runs/binadd.h3.l3.ce/torch-seed1.json").exists()
    # nothing left to train: no job
    assert cli.main(["distribute", "binadd.h3.l3.ce", "--backend", "torch", "--seeds", "0-1", "--workers", "1"]) == 0
    assert "0 runs to train" in capsys.readouterr().out


def test_a_failing_job_is_one_line_and_the_others_are_recorded(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    pytest.importorskip("torch")
    target = tmp_path / "ledger"
    monkeypatch.setenv("REPROKIT_RESULTS_DIR", str(target))
    monkeypatch.setenv("REPROKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPROKIT_DATA_DIR", str(tmp_path / "no-data"))  # IMDB cannot be found by the workers
    (tmp_path / "no-data").mkdir()
    monkeypatch.setattr(settings, "RESULTS_DIR", target)
    assert cli.main(["distribute", "binadd.h3.l3.ce", "imdbq.adam5", "--backend", "torch", "--seeds", "0",
                     "--workers", "2"]) == 1
    captured = capsys.readouterr()
    assert "imdbq.adam5/torch-seed0: the job failed: reprokit: data file 'imdb.npz' not found" in captured.err
    assert "Traceback" not in captured.err and "1 of 2 runs recorded" in captured.out
    assert (target / ENTRY).exists()
