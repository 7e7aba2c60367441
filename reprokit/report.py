"""The verdict table, computed from the ledger of full runs (``results/``) and ``expected/``.

Each claim that reads training runs is decided from the recorded runs exactly as the full profile
decides it (``reprokit.check``), so the table is what the last full run found; claims whose runs are
not all recorded show as *pending*. Claims that need no training (data, shape, params, mech) and
timing claims are decided by running the suite and are listed as such.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from reprokit import claims as claims_mod
from reprokit import experiments, ledger, measures, settings
from reprokit.check import _compare
from reprokit.compare import _stat_leaves

BACKENDS = ("keras", "torch")
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"
COST_START, COST_END = "<!-- cost:start -->", "<!-- cost:end -->"


def _fmt(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) and math.isfinite(x) else str(x)


def verdict(claim: claims_mod.Claim, backend: str) -> tuple[str, str]:
    """(verdict, measured summary) of a training claim from the ledger."""
    seeds = list(range(settings.DEFAULT_SEEDS["full"]))
    recorded = {}
    for name in claim.experiments:
        found, problems = ledger.results(experiments.get(name), backend, seeds)
        if problems:
            return "pending", f"{len(problems)} of {len(seeds)} runs of {name} not recorded"
        recorded[name] = found
    measures.RUNS = lambda name, _b: recorded[name]
    try:
        measured = measures.MEASURES[claim.measure](backend, **claim.args)
    finally:
        measures.RUNS = None
    try:
        _compare(claim, backend, measured)
        result = "reproduced"
    except AssertionError:
        result = "not reproduced"
    return result, summary(claim, measured)


def summary(claim: claims_mod.Claim, measured: Any) -> str:
    """mean ± sd of each documented value, or the measured value itself."""
    if claim.compare in ("mean_within", "mean_at_least"):
        parts = []
        for where, stats, _ in _stat_leaves(measured, claim.expected):
            parts.append(f"{where} {_fmt(stats['mean'])} ± {_fmt(stats['sd'])}")
        return "; ".join(parts[:4]) + (f"; … ({len(parts)} values)" if len(parts) > 4 else "")
    if claim.compare == "order":
        return "; ".join(f"{a} {_fmt(measured['stats'][a]['mean'])} {rel} {b} {_fmt(measured['stats'][b]['mean'])}"
                         for a, rel, b in measured["pairs"])
    return str(measured)[:160]


def labelled(claim: claims_mod.Claim, backend: str, verdict: str) -> str:
    """A ledger verdict said against ``expected/``: is a non-reproduction the known one?"""
    stated = backend in claim.known_nonrepro
    return {("reproduced", False): "reproduced", ("not reproduced", True): "known non-reproduction",
            ("not reproduced", False): "not reproduced (unexpected)",
            ("reproduced", True): "reproduced (stated as non-reproduction)"}.get((verdict, stated), verdict)


def rows(folder: Path) -> list[dict]:
    out = []
    for claim in claims_mod.load(folder):
        row = {"id": claim.id, "kind": claim.kind, "document": claim.document, "quote": claim.quote,
               "expected": claim.expected}
        for b in BACKENDS:
            if not claim.applies_to(b):
                row[b] = ("n/a", "")
            elif claim.experiments:
                row[b] = verdict(claim, b)
            else:
                row[b] = ("decided by the suite", "known non-reproduction" if b in claim.known_nonrepro else "")
        out.append(row)
    return out


def markdown(folder: Path) -> str:
    lines = ["| claim | document value | keras: measured | keras | torch: measured | torch |",
             "|---|---|---|---|---|---|"]
    by_id = {c.id: c for c in claims_mod.load(folder)}
    for r in rows(folder):
        if r["kind"] not in ("acc", "curve", "order", "pred"):
            continue
        doc = str(r["expected"]).replace("|", "\\|")
        doc = doc if len(doc) < 90 else doc[:87] + "…"
        cells = [f"`{r['id']}`", doc]
        for b in BACKENDS:
            v, m = r[b]
            cells += [m.replace("|", "\\|"), labelled(by_id[r["id"]], b, v)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost() -> str:
    """What the full profile's training costs, from the wall times the ledger records: per document
    family and backend, the runs recorded of those the full profile needs and their summed minutes."""
    seeds = range(settings.DEFAULT_SEEDS["full"])
    families: dict[str, dict[str, list]] = {}
    for exp in experiments.EXPERIMENTS.values():
        fam = families.setdefault(exp.name.split(".")[0], {b: [0, 0, 0.0] for b in BACKENDS})
        for b in BACKENDS:
            for seed in seeds:
                fam[b][1] += 1
                state, entry = ledger.status(exp, b, seed)
                if state == "current":
                    fam[b][0] += 1
                    fam[b][2] += float(entry["result"].get("wall_s", 0.0))
    lines = ["| family | keras: runs recorded | keras: minutes | torch: runs recorded | torch: minutes |",
             "|---|---|---|---|---|"]
    total = {b: [0, 0, 0.0] for b in BACKENDS}
    for name, fam in families.items():
        cells = [f"`{name}`"]
        for b in BACKENDS:
            got, need, secs = fam[b]
            total[b] = [total[b][0] + got, total[b][1] + need, total[b][2] + secs]
            cells += [f"{got} of {need}", f"{secs / 60:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(f"{total[b][0]} of {total[b][1]} | {total[b][2] / 60:.1f}" for b in BACKENDS) + " |")
    return "\n".join(lines)


def _replace(text: str, start: str, end: str, body: str, readme: Path) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no {start} ... {end} markers to put the table between")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + "\n" + body + "\n" + end + tail


def update_readme(readme: Path, folder: Path) -> None:
    """Replace the verdict table and the cost table between the README's markers."""
    text = _replace(readme.read_text(), START, END, markdown(folder), readme)
    readme.write_text(_replace(text, COST_START, COST_END, cost(), readme))
