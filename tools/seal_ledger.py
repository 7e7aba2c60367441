"""Give every ledger entry without a digest its digest (``ledger.sealed``), in place.

    python tools/seal_ledger.py [results/runs ...]

For entries recorded before entries carried digests, and for entries a fill of an older commit
wrote: the digest then shows they are unchanged since they were sealed, not since they were
trained (README "What the ledger can prove").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reprokit import ledger
from reprokit.cache import write_atomic


def main(argv: list[str]) -> int:
    sealed = 0
    for root in [Path(a) for a in argv] or [Path("results/runs")]:
        for p in sorted(root.glob("*/*-seed*.json")):
            entry = json.loads(p.read_text())
            if "digest" not in entry:
                write_atomic(p, json.dumps(ledger.sealed(entry), indent=1, sort_keys=True))
                sealed += 1
    print(f"sealed {sealed} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
