"""Print the verdict rules' simulated error rates (docs/verdicts.md): the same
simulations as tests/unit/test_verdicts.py, which asserts the bounds.

    python tools/verdict_rates.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

import test_verdicts as sim  # noqa: E402
from reprokit.verdict import Verdict  # noqa: E402


def main() -> None:
    print("| distribution | single run: value from the recipe, 'not reproduced' | single run: value 3 sd away, "
          "'not reproduced' | at least: from the recipe / 3 sd away | ordering: no difference, 'not reproduced' "
          "(`>`, `>=`) | ordering: 3 sd apart, decided right |")
    print("|---|---|---|---|---|---|")
    for param in sim.DISTRIBUTIONS:
        draw, sd = param.values
        name = param.id
        same = sim._single_run_rates(draw, sd, None)[Verdict.NOT_REPRODUCED]
        far = sim._single_run_rates(draw, sd, 3.0)[Verdict.NOT_REPRODUCED]
        al_same = sim._single_run_rates(draw, sd, None, "plausible_run_at_least")[Verdict.NOT_REPRODUCED]
        al_far = sim._single_run_rates(draw, sd, 3.0, "plausible_run_at_least")[Verdict.NOT_REPRODUCED]
        o_gt = sim._order_rates(">", 0.0, draw, sd)[Verdict.NOT_REPRODUCED]
        o_ge = sim._order_rates(">=", 0.0, draw, sd)[Verdict.NOT_REPRODUCED]
        used_up, used_down = [], []
        up = sim._order_rates(">", 3.0, draw, sd, used=used_up)[Verdict.REPRODUCED]
        down = sim._order_rates(">", -3.0, draw, sd, used=used_down)[Verdict.NOT_REPRODUCED]
        seeds = lambda used: "/".join(f"{sum(u == n for u in used) / len(used):.0%}" for n in sim.LOOKS)  # noqa: E731
        print(f"| {name} | {same:.1%} | {far:.1%} | {al_same:.1%} / {al_far:.1%} | {o_gt:.1%}, {o_ge:.1%} | "
              f"{up:.1%} (a > b true; decided at 3/5/10/20 seeds: {seeds(used_up)}), {down:.1%} (false; {seeds(used_down)}) |")


if __name__ == "__main__":
    main()
