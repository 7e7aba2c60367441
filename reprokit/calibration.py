"""The single-run rule checked where the truth is known: the documented value drawn from the
recipe itself, so every "not reproduced" is wrong. Used by ``tools/single_run_calibration.py``
(README's tables) and by the tests (test_verdicts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reprokit.claims import Claim
from reprokit.verdict import Verdict, judge, looks_for

Draw = Callable[[np.random.Generator, int], np.ndarray]


def _t3(rng: np.random.Generator, size: int) -> np.ndarray:
    return 0.80 + 0.01 * rng.standard_t(3, size)


def _skewed(rng: np.random.Generator, size: int) -> np.ndarray:
    """Near a ceiling: most runs close to it, a long tail of worse ones (gamma, skewness 1.6)."""
    return 0.985 - rng.gamma(1.5, 0.004, size)


def _bimodal(rng: np.random.Generator, size: int, learns: float = 0.6) -> np.ndarray:
    """IMDB-Q (imdbq.adam5 in the ledger): about 4 in 10 seeds never start learning."""
    up = rng.random(size) < learns
    return np.where(up, rng.normal(0.695, 0.005, size), rng.normal(0.56, 0.012, size))


DISTRIBUTIONS: dict[str, Draw] = {
    "normal sd 0.004": lambda rng, size: rng.normal(0.70, 0.004, size),
    "normal sd 0.05": lambda rng, size: rng.normal(0.70, 0.05, size),
    "t, 3 df": _t3,
    "skewed (gamma)": _skewed,
    "bimodal, IMDB-Q (60/40)": _bimodal,
    "bimodal, 75/25": lambda rng, size: _bimodal(rng, size, 0.75),
    "bimodal, 90/10": lambda rng, size: _bimodal(rng, size, 0.90),
}


def claim_of(compare: str, doc: Any, tolerance: float | None = None) -> Claim:
    return Claim(id="calibration.acc.x", kind="acc", document="d.txt", quote="q", measure="training.metrics",
                 expected={"test.accuracy": doc}, compare=compare, file="f.yaml", args={"experiment": "x"},
                 tolerance=tolerance, why_tolerance="w" if tolerance else "")


def sequential(claim: Claim, at: Callable[[int], Any], cap: int, reference: list[Any], have: int | None = None) -> Verdict:
    """The verdict at the first look that decides, as ``check.decide`` judges (``have``: the most
    seeds there are, default the cap)."""
    verdict = Verdict.UNDECIDED
    for n in looks_for(cap):
        if n > (have or cap):
            break
        verdict = judge(claim, "keras", at(n), seeds=n, cap=cap, reference=reference).verdict
        if verdict is not Verdict.UNDECIDED:
            break
    return verdict


def synthetic_rate(draw: Draw, compare: str, cap: int, simulations: int, others: int = 2, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(simulations):
        seeds = draw(rng, cap)
        reference = [{"test.accuracy": {"values": draw(rng, cap).tolist()}} for _ in range(others)]
        doc = float(draw(rng, 1)[0])
        at = lambda n, seeds=seeds: {"test.accuracy": {"values": seeds[:n].tolist()}}  # noqa: E731
        rejected += sequential(claim_of(compare, doc), at, cap, reference) is Verdict.NOT_REPRODUCED
    return rejected / simulations
