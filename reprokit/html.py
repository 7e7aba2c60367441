"""The reproduction report as one self-contained HTML page (inline SVG charts, inline script; no
file or network fetched when it is opened).

It reads the claims (``expected/``), the ledger of full runs (``results/``) and the latest-run file
the pytest plugin keeps (``.reprokit/last-run.json``): a training claim's verdict comes from the
ledger when its runs are recorded there, any other claim's from its latest run.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from reprokit import experiments, ledger
from reprokit import report as report_mod
from reprokit.claims import Claim, load
from reprokit.measures import per_class

SWEEPS = [  # (title, [(label, experiment)]): the documents' sweeps, as bar charts of test accuracy
    ("IMDB, 30 words: cell type", [("SimpleRNN", "imdbq.rmsprop10"), ("LSTM", "imdbq.cells.lstm"),
                                   ("GRU", "imdbq.cells.gru")]),
    ("IMDB: sequence length (SimpleRNN(5))", [(f"{n}", f"imdbq.len{n}") for n in (50, 80, 100, 150, 200)]),
    ("IMDB, 200 words: hidden size", [(f"{u}", f"imdbq.hidden{u}.len200") for u in (2, 10, 20)]),
    ("IMDB, 500 words: four variants", [(v, f"imdb500.{v}") for v in ("basic", "stacked", "bidirectional", "hybrid")]),
    ("MNIST rows: cores", [(n.split(".", 1)[1], n) for n in ("mnist.rnn128", "mnist.lstm128", "mnist.lstm64",
                                                            "mnist.gru128", "mnist.bilstm128", "mnist.lstm128.l2")]),
]


def load_last_run(path: Path) -> dict[tuple[str, str], dict]:
    try:
        outcomes = json.loads(Path(path).read_text())["outcomes"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {(o["claim"], o["backend"]): o for o in outcomes if isinstance(o, dict) and {"claim", "backend"} <= set(o)}


def present_backends(last: dict) -> tuple[str, ...]:
    """The ledger's backends (``ledger.backends``), then any other the latest run holds results of."""
    recorded = ledger.backends()
    return recorded + tuple(sorted({b for _, b in last} - set(recorded)))


def recorded_runs(seeds: list[int], backends: tuple[str, ...] = ("keras", "torch")) -> dict[str, dict[str, list[dict]]]:
    """Current ledger entries: experiment -> backend -> results (seed order)."""
    out: dict[str, dict[str, list[dict]]] = {}
    for name, exp in experiments.EXPERIMENTS.items():
        for b in backends:
            found = []
            for seed in seeds:
                state, entry = ledger.status(exp, b, seed)
                if state == "current":
                    found.append({**entry["result"], "_seed": seed})
            if found:
                out.setdefault(name, {})[b] = found
    return out


def documented(claims: list[Claim]) -> dict[str, dict[str, Any]]:
    """The documents' values per experiment and metric, from the training claims' expectations."""
    out: dict[str, dict[str, Any]] = {}
    for c in claims:
        if c.measure != "training.metrics" or not isinstance(c.expected, dict):
            continue
        single = c.args.get("experiment")
        for name, values in ({single: c.expected} if single else c.expected).items():
            if isinstance(values, dict):
                for metric, v in values.items():
                    out.setdefault(name, {})[metric] = v
    return out


def fmt(value: Any, digits: int = 4) -> str:
    """The one way the page shows a value: numbers to ``digits`` significant digits, long lists
    cut in the middle, mappings as ``key: value``."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, float):
        return "∞" if value == float("inf") else "-∞" if value == float("-inf") else f"{value:.{digits}g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [fmt(v, digits) for v in value]
        if len(items) > 8:
            items = items[:4] + [f"… ({len(items)} values) …"] + items[-2:]
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items())
    return str(value)


def outcomes(claims: list[Claim], backends: tuple[str, ...]) -> dict[tuple[str, str], Any]:
    """Each training claim's outcome from the ledger's full runs, per backend (None: pending)."""
    from reprokit import check
    return {(c.id, b): check.decide(c, b, source="ledger")
            for c in claims if c.experiments for b in backends if c.applies_to(b)}


def _verdicts(claims: list[Claim], backends: tuple[str, ...], decided: dict, last: dict) -> list[dict]:
    out = []
    for c in claims:
        row = {"claim": c, "cells": {}}
        for b in backends:
            if not c.applies_to(b):
                row["cells"][b] = ("n/a", "", "")
                continue
            outcome = decided.get((c.id, b))
            if outcome is not None:
                row["cells"][b] = (report_mod.labelled(c, b, outcome.verdict.value), outcome.summary(),
                                   "full runs (ledger)")
                continue
            o = last.get((c.id, b))
            if o is None:
                row["cells"][b] = ("pending" if c.experiments else "not run", "", "")
                continue
            shown = o.get("detail") or fmt(o["measured"])
            row["cells"][b] = (o["verdict"], shown, f"last run ({o['profile']}, {o['date'][:10]})")
        out.append(row)
    return out


def _slug(verdict: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-")


def summary(rows: list[dict], backends: tuple[str, ...]) -> str:
    """Counts per backend and verdict: the first thing on the page."""
    order = ["reproduced", "known non-reproduction", "undecided", "not reproduced", "error", "failed", "pending",
             "not run"]
    counts = {b: {} for b in backends}
    for r in rows:
        for b in backends:
            label = r["cells"][b][0]
            if label != "n/a":
                key = label if label in order else "differs from expected/" if "expected/ states" in label else label
                counts[b][key] = counts[b].get(key, 0) + 1
    labels = [k for k in order + sorted({k for c in counts.values() for k in c} - set(order))
              if any(k in c for c in counts.values())]
    head = "".join(f'<th class="v v-{_slug(k)}">{_esc(k)}</th>' for k in labels)
    body = "".join(f"<tr><th>{_esc(b)}</th>" + "".join(f"<td>{counts[b].get(k, 0)}</td>" for k in labels) + "</tr>"
                   for b in backends if counts[b])
    return f'<table class="summary"><tr><th>backend</th>{head}</tr>{body}</table>'


def findings(rows: list[dict], backends: tuple[str, ...]) -> str:
    """The claims that do not simply reproduce, each with the reason expected/ records."""
    items = []
    for r in rows:
        c = r["claim"]
        said = []
        for b in backends:
            label = r["cells"][b][0]
            if label in ("reproduced", "n/a", "pending", "not run"):
                continue
            reason = c.statement(b)[1]
            said.append(f"<b>{_esc(b)}</b>: {_esc(label)}" + (f" — {_esc(reason.reason)}" if reason else ""))
        if said:
            items.append(f'<li><a href="#claim-{_esc(c.id)}"><code>{_esc(c.id)}</code></a> '
                         f'<span class="q">“{_esc(c.quote[:140])}{"…" if len(c.quote) > 140 else ""}”</span>'
                         f'<ul>{"".join(f"<li>{x}</li>" for x in said)}</ul></li>')
    return f'<ul class="findings">{"".join(items)}</ul>' if items else "<p>Every claim reproduces.</p>"


def verdict_table(rows: list[dict], backends: tuple[str, ...], pictured: set[str]) -> str:
    docs = sorted({r["claim"].document for r in rows})
    kinds = sorted({r["claim"].kind for r in rows})
    verdicts = sorted({cell[0] for r in rows for cell in r["cells"].values()})
    select = lambda name, values: (f'<label>{name} <select id="filter-{name}" data-filter="{name}"><option value="">all</option>'  # noqa: E731
                                   + "".join(f'<option value="{_esc(v)}">{_esc(v)}</option>' for v in values) + "</select></label>")
    out = ['<div class="filters"><label>search <input id="search" type="search" placeholder="id, quote, number"></label>',
           select("document", docs), select("kind", kinds), select("backend", backends),
           select("verdict", verdicts), '<span id="shown"></span></div>',
           '<div class="scroll"><table id="verdicts"><thead><tr><th data-sort>claim</th><th data-sort>kind</th>'
           '<th>quote</th><th>document value</th>'
           + "".join(f'<th class="b-{b}" data-sort>{b}</th><th class="b-{b}">{b}: what decided it</th>' for b in backends)
           + "</tr></thead><tbody>"]
    for r in rows:
        c = r["claim"]
        attrs = " ".join(f'data-verdict-{b}="{_esc(r["cells"][b][0])}"' for b in backends)
        name = f'<a href="#decision-{_esc(c.id)}"><code>{_esc(c.id)}</code></a>' if c.id in pictured else \
            f"<code>{_esc(c.id)}</code>"
        cells = "".join(
            f'<td class="b-{b} v v-{_slug(r["cells"][b][0])}" title="{_esc(r["cells"][b][2])}">{_esc(r["cells"][b][0])}</td>'
            f'<td class="b-{b} why" title="{_esc(r["cells"][b][1])}">{_esc(_cut(r["cells"][b][1], 180))}</td>'
            for b in backends)
        out.append(f'<tr class="claim" id="claim-{_esc(c.id)}" data-document="{_esc(c.document)}" data-kind="{c.kind}" '
                   f'{attrs}><td>{name}</td><td>{c.kind}</td><td class="q">{_esc(_cut(c.quote, 160))}</td>'
                   f'<td class="doc">{_esc(_cut(fmt(c.expected), 120))}</td>{cells}</tr>')
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def decisions(claims: list[Claim], decided: dict, backends: tuple[str, ...]) -> tuple[str, set[str]]:
    """One picture per training claim with recorded outcomes: why it came out as it did."""
    from reprokit import figures
    out, pictured = [], set()
    for c in claims:
        got = {b: decided[(c.id, b)] for b in backends if decided.get((c.id, b)) is not None}
        if not got or c.compare not in ("plausible_run", "plausible_run_at_least", "plausible_outcome", "order", "trend"):
            continue
        pictured.add(c.id)
        verdicts = ", ".join(f"{b}: {o.verdict.value} ({o.seeds} seeds)" for b, o in got.items())
        out.append(f'<figure class="decision" id="decision-{_esc(c.id)}"><figcaption><code>{_esc(c.id)}</code> — '
                   f"{_esc(verdicts)}. <i>“{_esc(_cut(c.quote, 200))}”</i></figcaption>{figures.decision(c, got)}</figure>")
    return "\n".join(out) or "<p>No training claim is decided by recorded runs yet.</p>", pictured


def curves(runs: dict, docs: dict) -> str:
    from reprokit import figures
    out = []
    for name, by_backend in runs.items():
        exp = experiments.get(name)
        if not any(r.get("history") for rs in by_backend.values() for r in rs):
            continue
        out.append(f'<section class="experiment"><h3>{_esc(name)}</h3><p class="recipe">{_esc(exp.quote or "")}</p>'
                   f"<figure>{figures.curves(name, by_backend, docs.get(name, {}))}</figure></section>")
    return "\n".join(out) or "<p>No full run is recorded in the ledger yet.</p>"


def sweeps(runs: dict, docs: dict) -> str:
    from reprokit import figures
    out = []
    for title, members in SWEEPS:
        groups = []
        for label, name in members:
            by_b = {b: [r["test"]["accuracy"] for r in rs] for b, rs in runs.get(name, {}).items()}
            doc = docs.get(name, {}).get("test.accuracy")
            groups.append((label, by_b, doc if isinstance(doc, (int, float)) else None))
        if any(g[1] for g in groups):
            out.append(f"<figure>{figures.sweep(title, groups)}</figure>")
    return "\n".join(out) or "<p>No sweep has recorded runs yet.</p>"


def adder(runs: dict, docs: dict) -> str:
    from reprokit import figures
    out = []
    for name in [n for n in experiments.EXPERIMENTS if n.startswith("binadd.")]:
        by_b = {b: [r["accuracy_by_length"] for r in rs if "accuracy_by_length" in r]
                for b, rs in runs.get(name, {}).items()}
        by_b = {b: c for b, c in by_b.items() if c}
        if by_b:
            out.append(f"<figure>{figures.by_length(name, by_b, docs.get(name, {}).get('accuracy_by_length'))}</figure>")
    return "\n".join(out) or "<p>No adder run is recorded yet.</p>"


def mnist(runs: dict) -> str:
    from reprokit import figures
    out = []
    for name in [n for n in experiments.EXPERIMENTS if n.startswith("mnist.")]:
        for b, results in runs.get(name, {}).items():
            conf = [r["confusion"] for r in results if "confusion" in r]
            if not conf:
                continue
            total = [[sum(c[i][j] for c in conf) for j in range(10)] for i in range(10)]
            pc = per_class(total)
            rows = "".join(f"<tr><td>{d}</td><td>{fmt(pc['precision'][d], 3)}</td><td>{fmt(pc['recall'][d], 3)}</td>"
                           f"<td>{fmt(pc['f1'][d], 3)}</td></tr>" for d in range(10))
            out.append(f'<div class="mnist"><figure>{figures.confusion(f"{name} [{b}], {len(conf)} seeds", total)}'
                       f'</figure><table class="small"><tr><th>digit</th><th>precision</th><th>recall</th><th>F1</th>'
                       f"</tr>{rows}</table></div>")
    return "\n".join(out) or "<p>No MNIST run is recorded yet.</p>"


def timings(claims: list[Claim], last: dict, backends: tuple[str, ...]) -> str:
    rows = []
    for c in claims:
        if c.measure != "timing.ratios":
            continue
        for b in backends:
            if not c.applies_to(b):
                continue
            o = last.get((c.id, b))
            measured = o["measured"] if o and isinstance(o.get("measured"), dict) else {}
            for ratio, accepted in (c.expected_for(b) or {}).items():
                m = measured.get(ratio)
                shown = f"{fmt(m['median'], 3)} ({fmt(m['q1'], 3)}–{fmt(m['q3'], 3)})" if isinstance(m, dict) else "not run"
                rows.append(f"<tr><td><code>{_esc(c.id)}</code></td><td>{b}</td><td>{_esc(ratio)}</td><td>{_esc(shown)}</td>"
                            f"<td>{_esc(fmt(accepted))}</td><td>{_esc(o['verdict'] if o else 'not run')}</td></tr>")
    return ('<div class="scroll"><table><tr><th>claim</th><th>backend</th><th>ratio of step times</th>'
            "<th>measured median (q1–q3)</th><th>document's range</th><th>verdict</th></tr>" + "".join(rows) + "</table></div>")


SCRIPT = """
const BACKENDS = JSON.parse(document.getElementById('backends').textContent);
function applyFilters() {
  const f = {};
  document.querySelectorAll('select[data-filter]').forEach(s => f[s.dataset.filter] = s.value);
  const words = document.getElementById('search').value.trim().toLowerCase().split(/\\s+/).filter(w => w);
  const backends = f.backend ? [f.backend] : BACKENDS;
  let shown = 0;
  const rows = document.querySelectorAll('#verdicts tr.claim');
  rows.forEach(r => {
    const text = r.textContent.toLowerCase();
    const ok = (!f.document || r.dataset.document === f.document) && (!f.kind || r.dataset.kind === f.kind)
      && (!f.verdict || backends.some(b => r.getAttribute('data-verdict-' + b) === f.verdict))
      && words.every(w => text.includes(w));
    r.hidden = !ok;
    if (ok) shown++;
  });
  BACKENDS.forEach(b => document.querySelectorAll('.b-' + b).forEach(c => c.hidden = !!f.backend && f.backend !== b));
  document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' claims shown';
}
function sortBy(th) {
  const table = th.closest('table'), body = table.tBodies[0];
  const col = [...th.parentNode.children].indexOf(th);
  const up = th.dataset.dir !== 'up';
  th.parentNode.querySelectorAll('th').forEach(h => delete h.dataset.dir);
  th.dataset.dir = up ? 'up' : 'down';
  [...body.rows].sort((a, b) => (up ? 1 : -1) * a.cells[col].textContent.localeCompare(b.cells[col].textContent, undefined, {numeric: true}))
    .forEach(r => body.appendChild(r));
}
document.querySelectorAll('th[data-sort]').forEach(th => th.addEventListener('click', () => sortBy(th)));
document.querySelectorAll('select[data-filter]').forEach(s => s.addEventListener('change', applyFilters));
document.getElementById('search').addEventListener('input', applyFilters);
applyFilters();
"""

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top;font-size:12px;overflow-wrap:anywhere}
.scroll{max-width:100%;overflow-x:auto}#verdicts{width:100%;table-layout:fixed}
#verdicts thead th{position:sticky;top:0;background:#f4f4f4;z-index:1}th[data-sort]{cursor:pointer}
th[data-dir=up]::after{content:" ▲"}th[data-dir=down]::after{content:" ▼"}
td.q{font-size:11px}td.why{font-size:11px;color:#444}td.doc{font-size:11px}
.v-reproduced{background:#d9f2d9}.v-known-non-reproduction{background:#fde7c7}.v-undecided{background:#ece6fa}
.v-not-reproduced,.v-failed,.v-error,[class*=expected-states],.v-differs-from-expected{background:#f8d0d0}
.v-pending,.v-not-run{color:#888}.v-no-verdict-yet{background:#e3ecf8}
table.summary td{text-align:right;min-width:4em}table.summary{margin:.5em 0 1em}
figure{margin:6px 0;max-width:100%}figcaption{font-size:12px;max-width:60em}svg.chart{max-width:100%;height:auto}
.filters{margin:.5em 0}.filters label{margin-right:1em}.mnist{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}
.recipe{font-size:11px;color:#555}section.experiment{margin-bottom:1em}ul.findings li{margin:.3em 0}
.decisions{display:flex;flex-wrap:wrap;gap:12px}.decisions figure{flex:1 1 560px}
"""


def render(folder: Path, last_run: Path) -> str:
    claims = load(folder)
    last = load_last_run(last_run)
    backends = present_backends(last)
    seeds = list(range(max(e.budget() for e in experiments.EXPERIMENTS.values())))
    runs = recorded_runs(seeds, backends)
    docs = documented(claims)
    decided = outcomes(claims, backends)
    rows = _verdicts(claims, backends, decided, last)
    pictures, pictured = decisions(claims, decided, backends)
    recorded = sum(len(rs) for by_b in runs.values() for rs in by_b.values())
    body = [
        "<h1>reprokit: which claims about recurrent networks reproduce</h1>",
        f"<p>{len(claims)} claims from the documents; {recorded} full training runs recorded in the ledger "
        f"(<code>results/</code>); latest-run outcomes for {len(last)} claim×backend pairs. A training claim's "
        "verdict is the ledger's where its seeds are recorded there, any other claim's the latest run's (hover a "
        "verdict for its source). Backends: " + ", ".join(backends) + ".</p>",
        "<h2>Summary</h2>", summary(rows, backends),
        "<h2>Findings: the claims that do not simply reproduce</h2>", findings(rows, backends),
        "<h2>Verdicts</h2>", verdict_table(rows, backends, pictured),
        "<h2>Why each training claim came out as it did</h2>",
        "<p>Per backend: each seed's value a dot, the document's value a black bar; for a number printed from one "
        "run, the shade is where a documented value would be called reproduced with these seeds; for an ordering or "
        "a trend, the interval the rule used against 0 (or the bound).</p>",
        f'<div class="decisions">{pictures}</div>',
        "<h2>Sweeps</h2>", sweeps(runs, docs),
        "<h2>Binary adder: accuracy against test length</h2>", adder(runs, docs),
        "<h2>MNIST: confusion (share of each true digit) and per-class precision / recall</h2>", mnist(runs),
        "<h2>Timing: measured ratios next to the documents'</h2>", timings(claims, last, backends),
        "<h2>Training curves</h2>", curves(runs, docs),
    ]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>reprokit report</title>"
            f"<meta name=\"viewport\" content=\"width=device-width\"><style>{STYLE}</style></head><body>"
            + "\n".join(body)
            + f'<script type="application/json" id="backends">{json.dumps(list(backends))}</script>'
            + f"<script>{SCRIPT}</script></body></html>")


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def write(out: Path, folder: Path, last_run: Path) -> None:
    from reprokit.cache import write_atomic
    write_atomic(Path(out), render(folder, last_run))
