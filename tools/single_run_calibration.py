"""How often the single-run rule calls a run of the recipe itself "not reproduced".

Two kinds of data, as docs/verdicts.md reports them:

- ``synthetic``: the documented value and every backend's seeds are drawn from one distribution
  (normal, heavy-tailed t with 3 df, skewed, bimodal like IMDB-Q); three backends, each with the
  seed budget's seeds; the documented value is judged at each look in turn, as ``check.decide``
  does, with the other two backends as the pooled spread's reference.
- ``ledger``: leave one out over every recorded experiment with 15 or more seeds, in every backend:
  each recorded seed stands in turn as the document, judged on the others (looks 3, 5, 10, in
  recorded order) with the other backends' recorded seeds as the reference. The conformal rank at
  20 seeds cannot be reached with the 19 left; its rate is exact by exchangeability (1/21), so this
  part measures the prediction interval's share, to which 1/21 is added.

    python tools/single_run_calibration.py [synthetic|ledger] [--simulations 4000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

import numpy as np

from reprokit.calibration import DISTRIBUTIONS, sequential, synthetic_rate
from reprokit.verdict import ALPHA_CONFORMAL, SINGLE_RUN_SEEDS, Verdict

def synthetic(simulations: int) -> None:
    cases = [(2, 3), (2, 10), (2, SINGLE_RUN_SEEDS), (0, 10), (0, SINGLE_RUN_SEEDS)]
    print("| distribution | claim | " + " | ".join(f"budget {cap}, {o} other backends" for o, cap in cases) + " |")
    print("|---|---|" + "---|" * len(cases))
    for name, draw in DISTRIBUTIONS.items():
        for compare in ("plausible_run", "plausible_run_at_least"):
            rates = [synthetic_rate(draw, compare, cap, simulations, others=o) for o, cap in cases]
            print(f"| {name} | {compare} | " + " | ".join(f"{r:.1%}" for r in rates) + " |", flush=True)


# -- leave one out over the ledger ------------------------------------------------------------------

def _take(measured: Any, index: list[int]) -> Any:
    """``measured`` with only the seeds at ``index`` (its "values" and "per_seed" lists)."""
    if isinstance(measured, dict):
        return {k: (np.asarray(v)[index].tolist() if k in ("values", "per_seed") else _take(v, index))
                for k, v in measured.items()}
    return measured


def _as_document(expected: Any, measured: Any, seed: int) -> Any:
    """The documented values replaced by seed ``seed``'s own."""
    if isinstance(expected, dict):
        return {k: _as_document(e, measured[k], seed) for k, e in expected.items()}
    value = np.asarray(measured["values"], dtype=float)[seed]
    return value.tolist() if np.ndim(value) else float(value)


def ledger(min_seeds: int = 15) -> None:
    from reprokit import check, claims, settings
    from reprokit.backends import BACKENDS
    print("| claim | backend | seeds | documents judged | prediction interval rejects | with the conformal 1/21 |")
    print("|---|---|---|---|---|---|")
    total = judged = 0
    for claim in claims.load(settings.EXPECTED_DIR):
        if claim.compare not in ("plausible_run", "plausible_run_at_least"):
            continue
        for backend in BACKENDS:
            if not claim.applies_to(backend):
                continue
            have = check.recorded_seeds(claim.experiments, backend)
            if have < min_seeds:
                continue
            measured = check._measured_from_ledger(claim, backend, list(range(have)))
            if measured is None:
                continue
            reference = check.reference(claim, backend)
            cap = check.seed_cap(claim)
            rejected = 0
            for doc in range(have):
                rest = [i for i in range(have) if i != doc]
                one = dataclasses.replace(claim, expected=_as_document(claim.expected_for(backend), measured, doc),
                                          per_backend={})
                at = lambda n, rest=rest: _take(measured, rest[:n])  # noqa: E731
                rejected += sequential(one, at, cap, reference, have=len(rest)) is Verdict.NOT_REPRODUCED
            total, judged = total + rejected, judged + have
            print(f"| {claim.id} | {backend} | {have} | {have} | {rejected / have:.1%} | "
                  f"{rejected / have + 1 / (SINGLE_RUN_SEEDS + 1):.1%} |", flush=True)
    print(f"| all | | | {judged} | {total / max(judged, 1):.1%} | "
          f"{total / max(judged, 1) + 1 / (SINGLE_RUN_SEEDS + 1):.1%} |")
    assert ALPHA_CONFORMAL * (SINGLE_RUN_SEEDS + 1) >= 1  # the conformal part rejects k = 0 only


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", nargs="?", choices=("synthetic", "ledger"), default=None)
    ap.add_argument("--simulations", type=int, default=4000)
    args = ap.parse_args(argv)
    if args.part in (None, "synthetic"):
        synthetic(args.simulations)
    if args.part in (None, "ledger"):
        ledger()
    return 0


if __name__ == "__main__":
    sys.exit(main())
