"""Verdicts are stable under reseeding: on the cheap families (IMDB-Q at length 30, the index task,
the binary adder), a training claim decided from the ledger's seeds 0..n-1 gets the same verdict
from the disjoint seeds n..2n-1, for at least 95% of the claim x backend pairs that both halves
decide. n is half the seeds the ledger records for every experiment the claim reads (at least 3)."""

from pathlib import Path

from reprokit import check, experiments
from reprokit.claims import load

ROOT = Path(__file__).resolve().parents[2]
CHEAP = ("imdbq", "index", "binadd")


def _halves():
    out = []
    for claim in load(ROOT / "expected"):
        if not claim.experiments or any(experiments.family(n) not in CHEAP for n in claim.experiments):
            continue
        for backend in ("keras", "torch"):
            if not claim.applies_to(backend):
                continue
            n = check.recorded_seeds(claim.experiments, backend) // 2
            if n < 3:
                continue
            first = check.decide(claim, backend, source="ledger", seeds=list(range(n)))
            second = check.decide(claim, backend, source="ledger", seeds=list(range(n, 2 * n)))
            out.append((f"{claim.id}[{backend}]", n, first, second))
    return out


def test_verdicts_from_disjoint_seed_blocks_agree():
    halves = _halves()
    both = [(name, n, a, b) for name, n, a, b in halves if a and b and a.decided and b.decided]
    differ = [f"{name} (n={n}): {a.verdict.value} vs {b.verdict.value}" for name, n, a, b in both
              if a.verdict is not b.verdict]
    print(f"{len(halves)} claim x backend pairs with two blocks, {len(both)} decided in both, {len(differ)} differ")
    for line in differ:
        print("  ", line)
    assert both, "no claim is decided in both blocks of the recorded seeds"
    assert len(differ) <= 0.05 * len(both), differ
