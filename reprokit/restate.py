"""Restate expected/ from the ledger: for every training claim, the verdict the recorded runs give
in each backend the ledger holds becomes the one expected/ states (``known_nonrepro`` where they say
not reproduced, ``undecided`` where they cannot decide, neither where they reproduce the claim), with
the numbers that decided it as ``measured``. Keras on JAX or torch states its own verdict where it
is not reproduced, and ``reproduced`` where it reproduces what Keras on TensorFlow does not. A stated reason is kept while the verdict stays the
same; a new one says what decided it. Prints every change. Comments and layout are kept.

    reprokit restate            # rewrite expected/*.yaml
    reprokit restate --check    # only print what would change (exit 1 if anything would)
    reprokit restate --timing .reprokit/last-run.json   # timing claims too, from a run

Timing claims are judged on a machine, not from the ledger: ``--timing`` restates them from the
measured rounds a run recorded in its last-run file (run ``pytest tests/test_claims.py -m reprokit_time -p
no:xdist`` alone on the machine first). A run that cannot decide a timing claim keeps its stated
verdict, as the test does.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from reprokit import check, ledger
from reprokit.claims import STATED, Claim, load_file
from reprokit.errors import ReprokitError
from reprokit.verdict import Verdict, judge, stated

BLOCKS = STATED
BLOCK = {Verdict.NOT_REPRODUCED: "known_nonrepro", Verdict.UNDECIDED: "undecided", Verdict.REPRODUCED: "reproduced"}
GENERATED = ("the recorded seeds' runs decide it", "the 3 recorded seeds", "the 5 recorded seeds",
             "the 10 recorded seeds", "the 20 recorded seeds", "the interleaved rounds")  # written by this tool
TIMED: dict[tuple[str, str], object] = {}  # (claim, backend) -> measured rounds, from --timing


def new_state(claim: Claim, backend: str) -> tuple[Verdict, dict] | None:
    if claim.kind == "time":
        measured = TIMED.get((claim.id, backend))
        if measured is None:
            return None
        outcome = judge(claim, backend, measured)
        if outcome.verdict is Verdict.UNDECIDED:  # a run that cannot decide keeps the stated verdict
            return None
    else:
        outcome = check.decide(claim, backend, source="ledger")
    if outcome is None:
        return None
    old = stated(claim, backend)
    kept = own(claim, backend)
    if outcome.verdict is old and kept is not None and not kept.reason.startswith(GENERATED):
        reason = kept.reason  # a reason someone wrote (and tested) stays while the verdict does
    elif claim.kind == "time":
        reason = (f"the interleaved rounds decide it on {ledger.device()} ({ledger.instruction_sets()}): "
                  f"{outcome.detail}")
    elif outcome.verdict is Verdict.UNDECIDED:
        reason = (f"the {outcome.seeds} recorded seeds cannot decide it"
                  + (f"; about {outcome.needs_seeds} would" if outcome.needs_seeds
                     else "; more than 500 would" if outcome.needs_seeds is None and outcome.seeds >= 20 else "")
                  + " (the experiments' seed budget on this CPU is reached or the ledger holds no more)")
    else:
        reason = f"the recorded seeds' runs decide it: {outcome.detail}"
    return outcome.verdict, {"measured": outcome.summary(), "reason": reason}


def own(claim: Claim, backend: str):
    """The backend's own entry in expected/ (not its family's), or None."""
    return next((getattr(claim, block)[backend] for block in STATED if backend in getattr(claim, block)), None)


def _block(name: str, entries: dict) -> list[str]:
    text = yaml.safe_dump({name: entries}, width=100, sort_keys=True, allow_unicode=True, default_flow_style=False)
    return ["    " + line if line else line for line in text.rstrip("\n").split("\n")]


def restate_file(path: Path) -> list[str]:
    claims = {c.id: c for c in load_file(path)}
    backends = ledger.backends()  # keras first: the other Keras backends state what differs from it
    lines = path.read_text().split("\n")
    out, changes, i = [], [], 0
    seen = {m.group(1) for line in lines if (m := re.match(r"  - id: (\S+)", line))}
    flow = [c.id for c in claims.values() if c.id not in seen and (c.experiments or c.kind == "time")
            and any(c.applies_to(b) and (new := new_state(c, b)) is not None and new[0] is not stated(c, b)
                    for b in ledger.backends())]
    if flow:  # its verdict would change, but it is not written as "  - id: ..." with its fields below
        raise ReprokitError(f"{path.name}: claim(s) {', '.join(flow)} would change, but restate rewrites only claims "
                            f"written in block style ('  - id: {flow[0]}' with one field per line below it); rewrite "
                            f"them so, then run it again")
    while i < len(lines):
        m = re.match(r"  - id: (\S+)", lines[i])
        if not m or m.group(1) not in claims or not (claims[m.group(1)].experiments or claims[m.group(1)].kind == "time"):
            out.append(lines[i])
            i += 1
            continue
        claim = claims[m.group(1)]
        j = i + 1
        while j < len(lines) and not re.match(r"  (- id:|#)|\S", lines[j]):  # the next claim, or a top-level key
            j += 1
        segment = lines[i:j]
        trailing = []
        while segment and segment[-1].strip() == "":
            trailing.insert(0, segment.pop())
        kept, skip = [], False
        for line in segment:
            if re.match(rf"    ({'|'.join(BLOCKS)}):", line):
                skip = True
                continue
            if skip and (line.startswith("     ") or line.strip() == ""):
                continue
            skip = False
            kept.append(line)
        states = {name: {} for name in BLOCKS}
        for backend in backends:
            if not claim.applies_to(backend):
                continue
            new = new_state(claim, backend)
            old = stated(claim, backend)
            if new is None:  # pending: keep what the backend itself states
                entry = own(claim, backend)
                if entry:
                    block = next(b for b in BLOCKS if backend in getattr(claim, b))
                    states[block][backend] = {"measured": entry.measured, "reason": entry.reason}
                continue
            verdict, entry = new
            if verdict is not old:
                changes.append(f"{claim.id} [{backend}]: {old.value} -> {verdict.value}: {entry.get('measured', '')}")
            family_block = next((b for b in BLOCKS if "keras" in states[b]), "reproduced")
            if BLOCK[verdict] != "reproduced":  # with this backend's own evidence
                states[BLOCK[verdict]][backend] = entry
            elif backend.startswith("keras-") and family_block != "reproduced":  # keras states otherwise
                states["reproduced"][backend] = entry
        for name in BLOCKS:
            if states[name]:
                kept += _block(name, states[name])
        out += kept + trailing
        i = j
    path.write_text("\n".join(out))
    load_file(path)  # still valid
    return changes


def restate(expected: Path, check: bool = False, timing: Path | None = None) -> list[str]:
    """Restate every file of ``expected`` (with ``check``, leave them as they were); the changes,
    one line each."""
    if timing:
        import json
        for o in json.loads(Path(timing).read_text())["outcomes"]:
            if isinstance(o.get("measured"), dict) and all(isinstance(v, dict) and "ratios" in v for v in o["measured"].values()):
                TIMED[(o["claim"], o["backend"])] = o["measured"]
    changed = []
    for path in sorted(Path(expected).glob("*.yaml")):
        before = path.read_text()
        changed += restate_file(path)
        if check:
            path.write_text(before)
    return changed
