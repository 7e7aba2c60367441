"""How often the order rule decides a pair wrongly when the truth is known: the population is a
family's recorded runs in the ledger (every backend with at least 20 seeds of each experiment),
and each simulation draws 20 seeds per experiment from it with replacement, then judges the pair
at 3, 5, 10 and 20 seeds in turn as ``check.decide`` does, stopping at the first decision. A
decision is wrong when the population's own difference of means does not satisfy it. The rule
allows each pair ALPHA / pairs (Bonferroni over the looks). docs/verdicts.md.

    python tools/order_calibration.py [--simulations 1000]
"""

from __future__ import annotations

import argparse

import numpy as np

from reprokit import claims, experiments, ledger, measures, settings, verdict
from reprokit.verdict import Verdict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--simulations", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| claim | backend | pair | population difference | allowed | decided | wrong |")
    print("|---|---|---|---|---|---|---|")
    for claim in claims.load(settings.EXPECTED_DIR):
        if claim.compare != "order":
            continue
        names = claims.experiments_named(claim.args)
                pairs, margin, metric = claim.args["pairs"], claim.tolerance or 0.0, claim.args["metric"]
        for backend in claim.backends:
            cap = experiments.seed_budget(names, backend)
            pop = {}
            for name in names:
                runs, missing = ledger.results(experiments.get(name), backend, list(range(20)))
                if missing:
                    break
                pop[name] = np.array([measures.value(r, metric) for r in runs], dtype=float)
            else:
                ranges = {name: measures.value_range(metric, experiments.get(name).epochs) for name in names}
                for a, rel, b in pairs:
                    d = float(pop[a].mean() - pop[b].mean())
                    right_r, right_n = verdict.relation_tests(rel, d, d, margin)  # at the known difference
                    decided = wrong = 0
                    # one pair's interval at the claim's own level (all its pairs share it)
                    level = 1 - 2 * verdict.ALPHA / (len(verdict.looks_for(cap)) * len(pairs))
                    for _ in range(args.simulations):
                        xa, xb = rng.choice(pop[a], 20), rng.choice(pop[b], 20)
                        for n in verdict.looks_for(cap):
                            lo, hi = verdict.difference_interval(xa[:n], xb[:n], level, (ranges[a], ranges[b]))
                            v = verdict.relation(rel, lo, hi, margin)
                            if v is not Verdict.UNDECIDED:
                                decided += 1
                                wrong += not (right_r if v is Verdict.REPRODUCED else right_n)
                                break
                    s = args.simulations
                    print(f"| {claim.id} | {backend} | {a} {rel} {b} | {d:+.4f} | {verdict.ALPHA / len(pairs):.3f} | "
                          f"{decided / s:.1%} | {wrong / s:.1%} |", flush=True)


if __name__ == "__main__":
    main()
