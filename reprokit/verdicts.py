"""``reprokit verdicts``: a document's training claims from YAML to restated verdicts.

The plan: every training claim in the chosen backends that the ledger cannot decide yet (no
runs, or undecided below its seed budget) needs its experiments' seeds up to the next look
(3, 5, 10, 20). Its cost is stated up front from what runs cost (``check.run_cost_s``: the ledger's
recorded wall times, else the file's ``full_run_s``). Then the full profile trains the missing seeds
(each run recorded in the ledger as it finishes, so an interrupted command resumes where it
stopped), the plan is made again from the ledger, and so on until every claim is decided or at its
budget; last, the verdicts are written into the YAML (``reprokit restate``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reprokit import check
from reprokit.claims import Claim
from reprokit.verdict import looks_for


@dataclass(frozen=True)
class Need:
    """Seeds 0..seeds-1 of one experiment in one backend, for the claims named."""
    experiment: str
    backend: str
    seeds: int
    missing: tuple[int, ...]
    claims: tuple[str, ...]
    cost_s: float | None  # one run's cost; None: unknown


def plan(claims: list[Claim], backends: tuple[str, ...]) -> list[Need]:
    """What the ledger still lacks for the next look of every undecided training claim."""
    from reprokit import experiments, ledger
    wanted: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for claim in claims:
        if not claim.experiments or claim.kind == "time":
            continue
        for backend in backends:
            if not claim.applies_to(backend):
                continue
            outcome = check.decide(claim, backend, source="ledger")
            if outcome is not None and outcome.decided:
                continue
            have = (outcome.seeds or 0) if outcome is not None else 0
            nxt = [n for n in looks_for(check.seed_cap(claim, backend)) if n > have]
            if not nxt:
                continue  # undecided at its budget: more seeds are not planned here
            for name in claim.experiments:
                n, ids = wanted.get((name, backend), (0, set()))
                wanted[(name, backend)] = (max(n, nxt[0]), ids | {claim.id})
    needs = []
    # the runs that serve the most undecided claims first, the cheapest first among equals
    for (name, backend), (n, ids) in sorted(wanted.items(), key=lambda kv: (-len(kv[1][1]), kv[0])):
        exp = experiments.get(name)
        missing = tuple(s for s in range(n) if ledger.status(exp, backend, s)[0] != "current")
        if missing:
            needs.append(Need(name, backend, n, missing, tuple(sorted(ids)), check.run_cost_s(name, backend)[0]))
    return needs


def describe(needs: list[Need]) -> str:
    """The cost, stated before anything trains."""
    if not needs:
        return "every training claim is decided, or at its seed budget: nothing to train"
    runs = sum(len(n.missing) for n in needs)
    known = sum(len(n.missing) * n.cost_s for n in needs if n.cost_s is not None)
    unknown = [f"{n.experiment} [{n.backend}]" for n in needs if n.cost_s is None]
    lines = [f"{runs} full run(s) for the next look: about {known / 60:.0f} minutes on one core of this machine"
             + (f", plus {', '.join(unknown)} of unknown cost (no run recorded, no full_run_s)" if unknown else "")
             + "; on a GPU: not measured for these recipes"]
    for n in needs:
        cost = f"{n.cost_s * len(n.missing) / 60:.1f} min" if n.cost_s is not None else "cost unknown"
        lines.append(f"  {n.experiment} [{n.backend}]: seeds {n.missing[0]}-{n.missing[-1]} ({cost}) "
                     f"for {', '.join(n.claims)}")
    return "\n".join(lines)


def run(claims: list[Claim], backends: tuple[str, ...], expected: Path, max_minutes: float | None,
        say: Callable[[str], None] = print) -> int:
    """Train until decided (or ``max_minutes`` spent), then restate ``expected``. The exit code."""
    from reprokit import experiments, ledger, restate, settings
    settings.PROFILE = "full"
    ledger.commit()  # the code's commit now, before anything trains
    start, done = time.monotonic(), 0
    while needs := plan(claims, backends):
        say(describe(needs))
        for need in needs:
            if max_minutes is not None and time.monotonic() - start > 60 * max_minutes:
                say(f"stopped after {max_minutes:g} minutes, {done} run(s) recorded; run the command again to go on")
                return _restate(restate, expected, say)
            began = time.monotonic()
            experiments.runs(need.experiment, need.backend, list(range(need.seeds)))
            done += len(need.missing)
            say(f"[{done} run(s) recorded] {need.experiment} [{need.backend}] seeds {need.missing[0]}-"
                f"{need.missing[-1]}: {time.monotonic() - began:.0f} s")
        check.forget_references()  # new seeds
    say(describe([]))
    return _restate(restate, expected, say)


def _restate(restate, expected: Path, say: Callable[[str], None]) -> int:
    changed = restate.restate(expected)
    say("\n".join(changed) or "expected/ already states what the ledger gives")
    return 0
