"""The batch-job unit, the merge step and the distributed run: ``reprokit train EXPERIMENT BACKEND
SEED --results DIR`` records one ledger entry, the same run the full profile records (run by the
workers of ``reprokit distribute``, tested below on a local Dask cluster); ``reprokit merge DIR...``
checks entries made elsewhere against this code and adds them all, or none when any is wrong."""

import json
import shutil
from pathlib import Path

import pytest

from reprokit import cli, ledger, settings

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path("runs/binadd.h3.l3.ce/torch-seed0.json")  # a solo run of the committed ledger


def _numbers(entry: dict) -> dict:
    return {k: v for k, v in entry["result"].items() if k not in ("wall_s", "epoch_s")}


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
    entry["result"]["test"]["accuracy"] += 0.01  # the same run, another result (sealed anew): a conflict
    entry = ledger.sealed(entry)
    (job / ENTRY).write_text(json.dumps(entry))
    assert cli.main(["merge", str(job)]) == 1
    assert "conflicts with the current entry" in capsys.readouterr().err
    assert cli.main(["merge", "--replace", str(job)]) == 0
    assert json.loads((target / ENTRY).read_text()) == entry


def test_distribute_trains_the_missing_runs_on_a_local_cluster_and_writes_them_here(tmp_path, monkeypatch, capsys):
    """Two workers (processes) take three jobs: two train and are recorded here, one fails (its
    data cannot be found) and is one line; the next plan holds only the failed run."""
    pytest.importorskip("distributed")
    pytest.importorskip("torch")
    from reprokit import distribute
    target = tmp_path / "ledger"
    monkeypatch.setenv("REPROKIT_RESULTS_DIR", str(target))  # the workers' jobs write elsewhere
    monkeypatch.setenv("REPROKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPROKIT_DATA_DIR", str(tmp_path / "no-data"))  # IMDB cannot be found by the workers
    (tmp_path / "no-data").mkdir()
    monkeypatch.setattr(settings, "RESULTS_DIR", target)
    assert cli.main(["distribute", "binadd.h3.l3.ce", "imdbq.adam5", "--backend", "torch", "--seeds", "0-1",
                     "--workers", "2"]) == 1
    captured = capsys.readouterr()
    assert "4 runs to train" in captured.out and "2 of 4 runs recorded" in captured.out
    assert "imdbq.adam5/torch-seed0: the job failed: reprokit: data file 'imdb.npz' not found" in captured.err
    assert "Traceback" not in captured.err
    made = json.loads((target / ENTRY).read_text())  # by `reprokit train` on a worker
    recorded = json.loads((ROOT / "results" / ENTRY).read_text())
    assert made["key"]["recipe"] == recorded["key"]["recipe"] and made["key"]["env"]["threads"] == "1"
    if ledger.bit_identical_here(recorded) is None:
        assert _numbers(made) == _numbers(recorded)  # the same run as the full profile's, seed 0 solo there too
    assert (target / "runs/binadd.h3.l3.ce/torch-seed1.json").exists()
    assert distribute.plan(["binadd.h3.l3.ce", "imdbq.adam5"], ("torch",), [0, 1]) == [
        ("imdbq.adam5", "torch", 0), ("imdbq.adam5", "torch", 1)]


def _forge(p: Path, seal: bool, **changes) -> None:
    entry = json.loads(p.read_text())
    entry["result"]["test"]["accuracy"] = 1.0
    for k, v in changes.items():
        entry["key"][k] = v
    p.write_text(json.dumps(ledger.sealed(entry) if seal else entry))


def test_an_entry_edited_by_hand_is_refused_by_its_digest(ledgers, capsys):
    job, target = ledgers
    _forge(job / ENTRY, seal=False)
    assert cli.main(["merge", str(job)]) == 1
    assert "does not match its digest" in capsys.readouterr().err and not target.exists()


def test_with_the_coordinators_key_a_forged_entry_is_refused_and_a_signed_one_merges(ledgers, capsys, monkeypatch):
    """A forger who recomputes the digest (anyone can) still cannot sign: a recorded entry copied
    under a new seed with its metrics set to 1.0 is refused once the key is set."""
    job, target = ledgers
    copy = job / ENTRY.with_name("torch-seed7.json")
    shutil.copy(job / ENTRY, copy)
    _forge(copy, seal=True, seed=7)  # the forger has no key
    monkeypatch.setenv(ledger.KEY_VARIABLE, "the coordinator's secret")
    (job / ENTRY).write_text(json.dumps(ledger.sealed(json.loads((job / ENTRY).read_text()))))  # signed by a job
    assert cli.main(["merge", str(job)]) == 1
    err = capsys.readouterr().err
    assert "torch-seed7.json: not signed with this coordinator's key" in err and "torch-seed0.json" not in err
    copy.unlink()
    assert cli.main(["merge", str(job)]) == 0
    assert json.loads((target / ENTRY).read_text())["signature"]


def test_two_sources_with_the_same_run_are_a_conflict(ledgers, tmp_path, capsys):
    job, target = ledgers
    other = tmp_path / "other"
    (other / ENTRY).parent.mkdir(parents=True)
    entry = json.loads((job / ENTRY).read_text())
    entry["result"]["test"]["accuracy"] -= 0.01
    (other / ENTRY).write_text(json.dumps(ledger.sealed(entry)))
    assert cli.main(["merge", str(job), str(other)]) == 1
    assert "two sources hold binadd.h3.l3.ce/torch-seed0" in capsys.readouterr().err and not target.exists()


def test_a_corrupt_ledger_file_is_named_not_read_as_pending(tmp_path, monkeypatch):
    """A ledger file that is not JSON once turned two verdicts into 'pending' beside 19 intact seeds."""
    from reprokit import check, claims
    from reprokit.errors import ReprokitError
    target = tmp_path / "ledger"
    shutil.copytree(ROOT / "results" / "runs" / "binadd.h3.l3.ce", target / "runs" / "binadd.h3.l3.ce")
    shutil.copytree(ROOT / "results" / "runs" / "binadd.h3.l3.mse", target / "runs" / "binadd.h3.l3.mse")
    monkeypatch.setattr(settings, "RESULTS_DIR", target)
    (target / "runs" / "binadd.h3.l3.ce" / "torch-seed1.json").write_text("{not json")
    claim = next(c for c in claims.load(settings.EXPECTED_DIR) if c.id == "binadd.acc.h3_l3")
    with pytest.raises(ReprokitError, match=r"binadd.h3.l3.ce/torch-seed1.json: not a ledger entry"):
        check.decide(claim, "torch", source="ledger")
