"""The committed ledger of full runs (results/) against expected/: every training claim recomputes,
from the recorded runs, to the verdict expected/ states (reproduced, a known non-reproduction or
undecided in that backend). A changed expectation or a new full run that disagrees fails
here, in seconds, without training."""

from pathlib import Path

import pytest

from reprokit import ledger, report
from reprokit import verdict as verdict_mod
from reprokit.claims import load

ROOT = Path(__file__).resolve().parents[2]


def _decided():
    claims = {c.id: c for c in load(ROOT / "expected")}
    for row in report.rows(ROOT / "expected"):
        for backend in ledger.backends():
            verdict, measured = row[backend]
            if verdict in ("reproduced", "not reproduced", "undecided"):
                yield claims[row["id"]], backend, verdict, measured


DECIDED = list(_decided())


@pytest.mark.skipif(not DECIDED, reason="the ledger holds no complete set of full runs yet")
@pytest.mark.parametrize("claim, backend, verdict, measured", DECIDED, ids=[f"{c.id}[{b}]" for c, b, _, _ in DECIDED])
def test_recorded_runs_give_the_stated_verdict(claim, backend, verdict, measured):
    stated = verdict_mod.stated(claim, backend).value
    assert verdict == stated, (f"{claim.id} [{backend}]: the ledger's full runs give '{verdict}' ({measured}), "
                               f"expected/ states '{stated}': update expected/ (reprokit restate) or rerun the full profile")


def test_readme_tables_are_generated_from_this_ledger(tmp_path):
    """The README's verdict and cost tables are what `reprokit report --readme` makes of the
    committed ledger: regenerate them after recording runs."""
    copy = tmp_path / "README.md"
    copy.write_text((ROOT / "README.md").read_text())
    report.update_readme(copy, ROOT / "expected")
    assert copy.read_text() == (ROOT / "README.md").read_text(), \
        "README.md is out of date with results/: run `reprokit report --readme README.md`"
