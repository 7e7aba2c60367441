"""The README's table of verdicts that changed: what ``expected/`` stated at a commit (before the
verdict rules changed) against what the ledger gives now, claim by claim, with why.

    python tools/verdict_changes.py 0ceaec9 > /tmp/changes.md
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from reprokit import check
from reprokit.claims import load
from reprokit.verdict import Verdict, stated


def old_claims(commit: str) -> dict:
    names = subprocess.run(["git", "ls-tree", "--name-only", commit, "expected/"], capture_output=True, text=True,
                           check=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            text = subprocess.run(["git", "show", f"{commit}:{name}"], capture_output=True, text=True, check=True).stdout
            # the comparisons were renamed with the new rules; their names do not change what was stated
            for old, new in (("mean_within", "plausible_run"), ("mean_at_least", "plausible_run_at_least")):
                text = text.replace(f"compare: {old}", f"compare: {new}")
            (Path(tmp) / Path(name).name).write_text(text)
        try:
            return {c.id: c for c in load(Path(tmp))}
        except Exception:  # noqa: BLE001 - an old schema: fall back to reading known_nonrepro only
            import yaml
            out = {}
            for p in Path(tmp).glob("*.yaml"):
                for raw in yaml.safe_load(p.read_text())["claims"]:
                    out[raw["id"]] = set(raw.get("known_nonrepro", {}))
            return out


def was(old, claim_id: str, backend: str) -> str:
    entry = old.get(claim_id)
    if entry is None:
        return "-"
    nonrepro = entry if isinstance(entry, set) else set(entry.known_nonrepro)
    return "not reproduced" if backend in nonrepro else "reproduced"


def why(outcome) -> str:
    if outcome.verdict is Verdict.UNDECIDED:
        needs = f"about {outcome.needs_seeds}" if outcome.needs_seeds else "more than the budget allows"
        return f"{outcome.seeds} recorded seeds cannot decide it ({needs} would)"
    if outcome.seeds and outcome.seeds > 3:
        return f"decided with {outcome.seeds} seeds"
    return "the new question decides it on the same 3 seeds"


def main(commit: str) -> None:
    old = old_claims(commit)
    print("| claim | backend | stated before | now | why | what decided it |")
    print("|---|---|---|---|---|---|")
    for claim in load(Path("expected")):
        if not claim.experiments:
            continue
        for backend in ("keras", "torch"):
            if not claim.applies_to(backend):
                continue
            outcome = check.decide(claim, backend, source="ledger")
            before = was(old, claim.id, backend)
            if outcome is None or outcome.verdict.value == before:
                continue
            assert outcome.verdict is stated(claim, backend), f"{claim.id} [{backend}]: run reprokit restate first"
            detail = outcome.detail if len(outcome.detail) < 220 else outcome.detail[:217] + "…"
            print(f"| `{claim.id}` | {backend} | {before} | **{outcome.verdict.value}** | {why(outcome)} | "
                  f"{detail.replace('|', '/')} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "0ceaec9")
