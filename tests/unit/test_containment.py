"""Names that reach the file system stay inside their folders: an experiment or model name is
one plain path component when loaded, and every ledger and cache file is placed through
``cache.inside``, which refuses '..', absolute parts and links that lead out."""

import os

import pytest
from test_declarations import GOOD, _write, folder  # noqa: F401  (the fixture)

from reprokit import cache, claims, ledger, settings
from reprokit.errors import ExpectationError, ReprokitError


@pytest.mark.parametrize("name", ["../../escape", "/tmp/abs", "a/b", "..", "demo..x", "x\n"])
def test_an_experiment_name_that_is_not_a_plain_name_is_a_load_error(folder, name):  # noqa: F811
    _write(folder, GOOD.replace("  demo.adder:\n", f"  {name!r}:\n".replace("'", '"')))
    with pytest.raises(ExpectationError, match=r"experiment .*not a plain name"):
        claims.load(folder / "expected", documents=folder / "docs")


@pytest.mark.parametrize("name", ["../../escape", "/tmp/abs", "..", "x/../../y"])
def test_the_ledger_and_the_cache_refuse_paths_outside_their_folders(tmp_path, monkeypatch, name):
    monkeypatch.setattr(settings, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    with pytest.raises(ReprokitError, match="outside"):
        ledger.path(name, "torch", 0)
    with pytest.raises(ReprokitError, match="outside"):
        cache.path({"k": 1}, f"{name}/torch-seed0")


def test_a_link_leading_out_of_the_ledger_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "RESULTS_DIR", tmp_path / "results")
    (tmp_path / "results" / "runs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "results" / "runs" / "linked")
    with pytest.raises(ReprokitError, match="outside"):
        ledger.path("linked", "torch", 0)
    assert ledger.path("plain.name", "torch", 3) == tmp_path / "results" / "runs" / "plain.name" / "torch-seed3.json"


def test_a_claim_id_with_a_trailing_newline_is_no_id(folder):  # noqa: F811
    _write(folder, GOOD.replace("id: demo.params.total,", 'id: "demo.params.total\\n",'))
    with pytest.raises(ExpectationError, match="is not a dotted lower-case id"):
        claims.load(folder / "expected", documents=folder / "docs")


def test_a_ledger_file_under_an_unknown_backend_is_named(tmp_path, monkeypatch):
    """It once made `reprokit report` fail with "ValueError: 'n/a' is not a valid Verdict"."""
    from reprokit import cli
    monkeypatch.setattr(settings, "RESULTS_DIR", tmp_path)
    monkeypatch.setenv("REPROKIT_RESULTS_DIR", str(tmp_path))
    (tmp_path / "runs" / "binadd.h3.l3.ce").mkdir(parents=True)
    (tmp_path / "runs" / "binadd.h3.l3.ce" / "n-a-seed0.json").write_text("{}")
    with pytest.raises(ReprokitError, match=r"n-a-seed0.json: 'n-a' is no backend"):
        ledger.backends()
    assert cli.main(["report"]) == 2
