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


# Collected from the claims and the ledger's backends only (no verdict is computed at collection:
# that took most of the suite's collection time); each test decides its own claim.
TRAINING = [(c, b) for c in load(ROOT / "expected") if c.experiments for b in ledger.backends() if c.applies_to(b)]


@pytest.mark.skipif(not TRAINING, reason="the ledger holds no full runs yet")
@pytest.mark.parametrize("claim, backend", TRAINING, ids=[f"{c.id}[{b}]" for c, b in TRAINING])
def test_recorded_runs_give_the_stated_verdict(claim, backend):
    verdict, measured = report.verdict(claim, backend)
    if verdict == "pending":
        pytest.skip(f"{claim.id} [{backend}]: {measured}")
    stated = verdict_mod.stated(claim, backend).value
    assert verdict == stated, (f"{claim.id} [{backend}]: the ledger's full runs give '{verdict}' ({measured}), "
                               f"expected/ states '{stated}': update expected/ (reprokit restate) or rerun the full profile")


@pytest.mark.parametrize("page", ["README.md", "docs/findings.md", "docs/performance.md"])
def test_the_pages_tables_are_generated_from_this_ledger(tmp_path, page):
    """The README's headline symbols and the docs' verdict and cost tables are what `reprokit
    report --pages` makes of the committed ledger: regenerate them after recording runs."""
    copy = tmp_path / "page.md"
    copy.write_text((ROOT / page).read_text())
    report.update_readme(copy, ROOT / "expected")
    assert copy.read_text() == (ROOT / page).read_text(), \
        f"{page} is out of date with results/: run `reprokit report --pages`"
