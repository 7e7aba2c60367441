"""The verdict table, computed from the ledger of full runs (``results/``) and ``expected/``.

Each claim that reads training runs is decided from the recorded runs exactly as the full profile
decides it (``reprokit.check``), so the table is what the last full run found; claims whose runs are
not all recorded show as *pending*. Claims that need no training (data, shape, params, mech) and
timing claims are decided by running the suite and are listed as such.
"""

from __future__ import annotations

from pathlib import Path

from reprokit import claims as claims_mod
from reprokit import check, experiments, ledger
from reprokit import verdict as verdict_mod

START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"
COST_START, COST_END = "<!-- cost:start -->", "<!-- cost:end -->"


def verdict(claim: claims_mod.Claim, backend: str) -> tuple[str, str]:
    """(verdict, what decided it) of a training claim from the ledger's recorded runs."""
    outcome = check.decide(claim, backend, source="ledger")
    if outcome is None:
        return "pending", f"the ledger holds fewer than {verdict_mod.LOOKS[0]} current seeds of {', '.join(claim.experiments)}"
    return outcome.verdict.value, outcome.summary()


def labelled(claim: claims_mod.Claim, backend: str, verdict: str) -> str:
    """A ledger verdict said against ``expected/`` (``verdict.label``)."""
    if verdict == "pending":
        return verdict
    return verdict_mod.label(verdict_mod.Verdict(verdict), verdict_mod.stated(claim, backend))


_ROWS: dict[tuple, list[dict]] = {}


def rows(folder: Path) -> list[dict]:
    """Per claim, per backend the ledger holds runs of (``ledger.backends``): (verdict, evidence).
    Computed once per state of the files it reads (the expectation files' and ledger entries'
    modification times): every generated table of a page, and every page, reads the same rows."""
    from reprokit import settings
    runs = Path(settings.RESULTS_DIR) / "runs"
    stamp = (str(Path(folder).resolve()), str(runs.resolve()),
             max((p.stat().st_mtime_ns for p in runs.glob("*/*.json")), default=0),
             max((p.stat().st_mtime_ns for p in Path(folder).glob("*.y*ml")), default=0))
    if stamp not in _ROWS:
        _ROWS.clear()
        _ROWS[stamp] = _rows(folder)
    return _ROWS[stamp]


def _rows(folder: Path) -> list[dict]:
    out, backends = [], ledger.backends()
    for claim in claims_mod.load(folder):
        row = {"id": claim.id, "kind": claim.kind, "document": claim.document, "quote": claim.quote,
               "expected": claim.expected}
        for b in backends:
            if not claim.applies_to(b):
                row[b] = ("n/a", "")
            elif claim.experiments:
                row[b] = verdict(claim, b)
            else:
                row[b] = ("decided by the suite", verdict_mod.stated(claim, b).value)
        out.append(row)
    return out


def markdown(folder: Path) -> str:
    backends = ledger.backends()  # the same list rows() reads
    lines = ["| claim | document value | " + " | ".join(f"{b}: what decided it | {b}" for b in backends) + " |",
             "|---|---|" + "---|---|" * len(backends)]
    by_id = {c.id: c for c in claims_mod.load(folder)}
    for r in rows(folder):
        if r["kind"] not in ("acc", "curve", "order", "pred"):
            continue
        doc = str(r["expected"]).replace("|", "\\|")
        doc = doc if len(doc) < 90 else doc[:87] + "…"
        cells = [f"`{r['id']}`", doc]
        for b in backends:
            v, m = r[b]
            m = m if len(m) <= 300 else m[:297] + "…"
            cells += [m.replace("|", "\\|"), labelled(by_id[r["id"]], b, v)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost() -> str:
    """What the ledger's runs cost, from the wall times it records: per family and backend, the
    seeds recorded per experiment (fewest-most) against the seed budget, and the minutes."""
    backends = ledger.backends()
    families: dict[str, dict[str, list]] = {}
    budgets: dict[str, int] = {}
    for exp in experiments.EXPERIMENTS.values():
        fam = families.setdefault(experiments.family(exp.name), {b: [[], 0.0] for b in backends})
        budgets[experiments.family(exp.name)] = max(budgets.get(experiments.family(exp.name), 0), exp.budget())
        for b in backends:
            seeds = 0
            for seed in range(exp.budget(b)):
                state, entry = ledger.status(exp, b, seed)
                if state != "current":
                    break
                seeds += 1
                fam[b][1] += float(entry["result"].get("wall_s", 0.0))
            fam[b][0].append(seeds)
    lines = ["| family | seed budget | " + " | ".join(f"{b}: seeds recorded | {b}: minutes" for b in backends) + " |",
             "|---|---|" + "---|---|" * len(backends)]
    total = {b: 0.0 for b in backends}
    for name, fam in families.items():
        cells = [f"`{name}`", str(budgets[name])]
        for b in backends:
            got, secs = fam[b]
            total[b] += secs
            cells += [f"{min(got)}" if min(got) == max(got) else f"{min(got)}-{max(got)}", f"{secs / 60:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| **all** | | | " + " | | ".join(f"{total[b] / 60:.1f}" for b in backends) + " |")
    return "\n".join(lines)


def _replace(text: str, start: str, end: str, body: str, readme: Path) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no {start} ... {end} markers to put the table between")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + "\n" + body + "\n" + end + tail


SYMBOLS_START, SYMBOLS_END = "<!-- symbols:start -->", "<!-- symbols:end -->"
SYMBOL = {"reproduced": "✓", "not reproduced": "✗", "undecided": "?", "pending": "·", "n/a": " "}


def symbols(folder: Path) -> str:
    """The headline: each training claim's ledger verdict per backend, one symbol each."""
    backends = ledger.backends()
    lines = ["| claim | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for r in rows(folder):
        if r["kind"] in ("acc", "curve", "order", "pred", "mech") and any(r[b][0] in SYMBOL for b in backends):
            lines.append(f"| `{r['id']}` | " + " | ".join(SYMBOL.get(r[b][0], " ") for b in backends) + " |")
    counts = {b: sum(1 for r in rows(folder) if r[b][0] == "reproduced") for b in backends}
    lines.append("")
    lines.append("✓ reproduced, ✗ not reproduced, ? undecided (the seeds recorded cannot decide it yet), · no runs "
                 "recorded yet; from the committed ledger (`reprokit report --pages`). Reproduced per backend: "
                 + ", ".join(f"{b} {n}" for b, n in counts.items()) + ".")
    return "\n".join(lines)


def update_readme(readme: Path, folder: Path) -> None:
    """Replace every generated table whose markers ``readme`` holds (the verdict table, the cost
    table, the headline symbols); a page with none of them is an error."""
    text = readme.read_text()
    tables = ((START, END, lambda: markdown(folder)), (COST_START, COST_END, cost),
              (SYMBOLS_START, SYMBOLS_END, lambda: symbols(folder)))
    present = [(s, e, make) for s, e, make in tables if s in text and e in text]
    if not present:
        raise SystemExit(f"{readme}: no table markers ({START}, {COST_START}, {SYMBOLS_START}) to write between")
    for s, e, make in present:
        text = _replace(text, s, e, make(), readme)
    readme.write_text(text)


def pages(root: Path) -> list[Path]:
    """The pages that hold generated tables: README.md and the documentation's."""
    return [p for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
            if any(m in p.read_text() for m in (START, COST_START, SYMBOLS_START))]
