"""Fill the ledger of full runs with more seeds, resumably, one backend per process.

    python tools/fill_ledger.py --backend torch --seeds 3-19 binadd. imdbq.rmsprop10 index.

Seeds are visited in blocks of ``--group`` (every experiment's block before the next block), so an
interrupted fill leaves each experiment with a contiguous run of seeds. Where the backend trains a
model's seeds as one group (``experiments.runs``), a block's missing seeds train together. Each finished run is recorded in
``results/runs/`` exactly as the full profile records it (``experiments.run`` with the profile set
to full); a run already recorded with the same key is read back, not retrained. Run it with one
thread per process (the README's "Verdicts of the last full run" shows the environment).
"""

from __future__ import annotations

import argparse
import sys
import time

from reprokit.cli import _seed_range


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="+", help="experiment names or name prefixes (e.g. binadd.)")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--seeds", type=_seed_range, required=True, metavar="LO-HI")
    parser.add_argument("--group", type=int, default=20, metavar="N", help="seeds per block (default 20)")
    args = parser.parse_args(argv)
    from reprokit import experiments, ledger, settings
    from reprokit.errors import ReprokitError
    settings.PROFILE = "full"
    ledger.commit()  # the commit now, before anything trains
    try:
        names = experiments.matching(args.prefixes)
    except ReprokitError as error:
        print(f"fill_ledger: {error}", file=sys.stderr)
        return 2
    for first in range(0, len(args.seeds), args.group):
        block = args.seeds[first:first + args.group]
        for name in names:
            start = time.perf_counter()
            try:
                experiments.runs(name, args.backend, block)
            except ReprokitError as error:  # a problem the user fixes: one line, not a traceback
                print(f"fill_ledger: {error}", file=sys.stderr)
                return 2
            print(f"{name} {args.backend} seeds {block[0]}-{block[-1]}: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
