"""The reproduction report as one self-contained HTML page (inline SVG charts, inline script; no
file or network fetched when it is opened).

It reads the claims (``expected/``), the ledger of full runs (``results/``) and the latest-run file
the pytest plugin keeps (``.reprokit/last-run.json``): a training claim's verdict comes from the
ledger when its runs are recorded there, any other claim's from its latest run.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any

from reprokit import experiments, ledger
from reprokit import report as report_mod
from reprokit.claims import Claim, load
from reprokit.measures import per_class

BACKENDS = ("keras", "torch")
COLORS = {("keras", 0): "#1f77b4", ("keras", 1): "#4a98c9", ("keras", 2): "#94c4df",
          ("torch", 0): "#d62728", ("torch", 1): "#e3614f", ("torch", 2): "#f09c8a"}
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


def recorded_runs(seeds: list[int]) -> dict[str, dict[str, list[dict]]]:
    """Current ledger entries: experiment -> backend -> results (seed order)."""
    out: dict[str, dict[str, list[dict]]] = {}
    for name, exp in experiments.EXPERIMENTS.items():
        for b in BACKENDS:
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


# -- SVG ----------------------------------------------------------------------------------------

def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _axes(w: int, h: int, pad: int, y0: float, y1: float, xlabels: list[tuple[float, str]], ylabel: str) -> list[str]:
    out = [f'<line x1="{pad}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" stroke="#333"/>',
           f'<line x1="{pad}" y1="10" x2="{pad}" y2="{h - pad}" stroke="#333"/>',
           f'<text x="12" y="{h / 2}" transform="rotate(-90 12 {h / 2})" font-size="10" text-anchor="middle">{_esc(ylabel)}</text>']
    for i in range(5):
        v = y0 + (y1 - y0) * i / 4
        y = h - pad - (h - pad - 10) * i / 4
        out.append(f'<text x="{pad - 3}" y="{y + 3}" font-size="9" text-anchor="end">{v:.3g}</text>'
                   f'<line x1="{pad}" y1="{y}" x2="{w - 10}" y2="{y}" stroke="#eee"/>')
    for x, label in xlabels:
        out.append(f'<text x="{x}" y="{h - pad + 12}" font-size="9" text-anchor="middle">{_esc(label)}</text>')
    return out


def _range(values: list[float]) -> tuple[float, float]:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    margin = (hi - lo) * 0.08
    return (lo - margin if lo < 0 or lo - margin >= 0 else 0.0), hi + margin  # no negative axis for rates


def line_chart(title: str, series: list[tuple[str, str, list[float], bool]], points: list[tuple[str, float, float]],
               xs: list[Any], ylabel: str, w: int = 360, h: int = 220, floor: float | None = None) -> str:
    """``series``: (label, colour, values per x, dashed); ``points``: documented values (label, x
    index, y); ``floor``: a documented minimum, drawn as a dashed line."""
    pad = 40
    y0, y1 = _range([v for s in series for v in s[2]] + [p[2] for p in points] + ([floor] if floor is not None else []))
    n = max(len(xs), 1)
    X = lambda i: pad + (w - pad - 10) * (i + 0.5) / n  # noqa: E731
    Y = lambda v: h - pad - (h - pad - 10) * (v - y0) / (y1 - y0)  # noqa: E731
    step = max(1, n // 10)
    parts = _axes(w, h, pad, y0, y1, [(X(i), str(x)) for i, x in enumerate(xs) if i % step == 0], ylabel)
    for label, colour, values, dashed in series:
        pts = " ".join(f"{X(i):.1f},{Y(v):.1f}" for i, v in enumerate(values) if isinstance(v, (int, float)) and math.isfinite(v))
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}><title>{_esc(label)}</title></polyline>')
    if floor is not None:
        parts.append(f'<line x1="{pad}" x2="{w - 10}" y1="{Y(floor):.1f}" y2="{Y(floor):.1f}" stroke="#000" '
                     f'stroke-width="2" stroke-dasharray="6 3"><title>document: at least {floor}</title></line>')
    for label, i, v in points:
        parts.append(f'<circle cx="{X(i):.1f}" cy="{Y(v):.1f}" r="4.5" fill="none" stroke="#000" stroke-width="2">'
                     f'<title>{_esc(label)}</title></circle>')
    return (f'<figure><svg width="{w}" height="{h}" role="img" aria-label="{_esc(title)}">{"".join(parts)}</svg>'
            f'<figcaption>{_esc(title)}</figcaption></figure>')


def bar_chart(title: str, groups: list[tuple[str, dict[str, tuple[float, float] | None], float | None]],
              ylabel: str, w: int = 420, h: int = 220) -> str:
    """``groups``: (label, backend -> (mean, sd) or None, documented value or None)."""
    pad = 40
    vals = [m + s for _, d, _ in groups for ms in d.values() if ms for m, s in [ms]]
    vals += [doc for _, _, doc in groups if doc is not None] + [0.0]
    y0, y1 = 0.0, max(_range(vals)[1], 1e-9)
    n = max(len(groups), 1)
    gw = (w - pad - 10) / n
    Y = lambda v: h - pad - (h - pad - 10) * (v - y0) / (y1 - y0)  # noqa: E731
    parts = _axes(w, h, pad, y0, y1, [(pad + gw * (i + 0.5), g[0]) for i, g in enumerate(groups)], ylabel)
    for i, (label, by_backend, doc) in enumerate(groups):
        for j, b in enumerate(BACKENDS):
            ms = by_backend.get(b)
            if not ms:
                continue
            mean, sd = ms
            x = pad + gw * i + gw * (0.15 + 0.35 * j)
            parts.append(f'<rect x="{x:.1f}" y="{Y(mean):.1f}" width="{gw * 0.33:.1f}" height="{Y(y0) - Y(mean):.1f}" '
                         f'fill="{COLORS[(b, 0)]}"><title>{_esc(label)} {b}: {mean:.4f} ± {sd:.4f}</title></rect>')
            cx = x + gw * 0.165
            parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{Y(mean - sd):.1f}" y2="{Y(mean + sd):.1f}" stroke="#000"/>')
        if doc is not None:
            parts.append(f'<line x1="{pad + gw * i + 4:.1f}" x2="{pad + gw * (i + 1) - 4:.1f}" y1="{Y(doc):.1f}" '
                         f'y2="{Y(doc):.1f}" stroke="#000" stroke-width="2.5" stroke-dasharray="6 3">'
                         f'<title>document: {doc}</title></line>')
    return (f'<figure><svg width="{w}" height="{h}" role="img" aria-label="{_esc(title)}">{"".join(parts)}</svg>'
            f'<figcaption>{_esc(title)}</figcaption></figure>')


def heatmap(title: str, matrix: list[list[float]], w: int = 230) -> str:
    n = len(matrix)
    cell = (w - 30) / n
    top = max(max(row) for row in matrix) or 1
    parts = []
    for i, row in enumerate(matrix):
        parts.append(f'<text x="12" y="{20 + cell * (i + 0.7):.1f}" font-size="9">{i}</text>')
        for j, v in enumerate(row):
            shade = int(255 - 200 * (v / top) ** 0.5)
            parts.append(f'<rect x="{25 + cell * j:.1f}" y="{20 + cell * i:.1f}" width="{cell:.1f}" height="{cell:.1f}" '
                         f'fill="rgb({shade},{shade},255)"><title>true {i}, predicted {j}: {v:g}</title></rect>')
    for j in range(n):
        parts.append(f'<text x="{25 + cell * (j + 0.3):.1f}" y="14" font-size="9">{j}</text>')
    return (f'<figure><svg width="{w}" height="{w}" role="img" aria-label="{_esc(title)}">{"".join(parts)}</svg>'
            f'<figcaption>{_esc(title)} (rows: true digit, columns: predicted; summed over seeds)</figcaption></figure>')


# -- sections -----------------------------------------------------------------------------------

def _verdicts(claims: list[Claim], folder: Path, last: dict) -> list[dict]:
    ledger_rows = {r["id"]: r for r in report_mod.rows(folder)}
    out = []
    for c in claims:
        row = {"claim": c, "cells": {}}
        for b in BACKENDS:
            if not c.applies_to(b):
                row["cells"][b] = ("n/a", "", "")
                continue
            verdict, measured = ledger_rows[c.id][b] if c.experiments else ("", "")
            if c.experiments and verdict != "pending":
                verdict = report_mod.labelled(c, b, verdict)
                row["cells"][b] = (verdict, measured, "full runs (ledger)")
                continue
            o = last.get((c.id, b))
            if o is None:
                row["cells"][b] = (verdict or "not run", measured, "")
                continue
            shown = o.get("detail") or json.dumps(o["measured"], default=str)
            shown = shown if len(shown) <= 160 else shown[:157] + "…"
            row["cells"][b] = (o["verdict"], shown, f"last run ({o['profile']}, {o['date'][:10]})")
        out.append(row)
    return out


def _slug(verdict: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-")


def verdict_table(rows: list[dict]) -> str:
    docs = sorted({r["claim"].document for r in rows})
    kinds = sorted({r["claim"].kind for r in rows})
    verdicts = sorted({cell[0] for r in rows for cell in r["cells"].values()})
    select = lambda name, values: (f'<label>{name} <select id="filter-{name}" data-filter="{name}"><option value="">all</option>'  # noqa: E731
                                   + "".join(f'<option value="{_esc(v)}">{_esc(v)}</option>' for v in values) + "</select></label>")
    out = ['<div class="filters">', select("document", docs), select("kind", kinds), select("backend", BACKENDS),
           select("verdict", verdicts), '<span id="shown"></span></div>',
           '<table id="verdicts"><thead><tr><th>claim</th><th>quote</th><th>document value</th>'
           + "".join(f'<th class="b-{b}">{b}: what decided it</th><th class="b-{b}">{b}</th>' for b in BACKENDS)
           + "</tr></thead><tbody>"]
    for r in rows:
        c = r["claim"]
        attrs = " ".join(f'data-verdict-{b}="{_esc(r["cells"][b][0])}"' for b in BACKENDS)
        doc = json.dumps(c.expected, default=str)
        doc = doc if len(doc) <= 140 else doc[:137] + "…"
        cells = "".join(f'<td class="b-{b}">{_esc(r["cells"][b][1])}</td><td class="b-{b} v v-{_slug(r["cells"][b][0])}" '
                        f'title="{_esc(r["cells"][b][2])}">{_esc(r["cells"][b][0])}</td>' for b in BACKENDS)
        out.append(f'<tr class="claim" data-document="{_esc(c.document)}" data-kind="{c.kind}" {attrs}>'
                   f'<td><code>{_esc(c.id)}</code></td><td class="q">{_esc(c.quote)}</td><td>{_esc(doc)}</td>{cells}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def curves(runs: dict, docs: dict) -> str:
    out = []
    for name, by_backend in runs.items():
        exp = experiments.get(name)
        figs = []
        for metric in ("loss", "accuracy"):
            series, epochs = [], 0
            for b, results in by_backend.items():
                for k, r in enumerate(results):
                    h = r.get("history", {})
                    for split, dashed in ((metric, False), (f"val_{metric}", True)):
                        if h.get(split):
                            epochs = max(epochs, len(h[split]))
                            series.append((f"{b} seed {r['_seed']} {split}", COLORS[(b, min(k, 2))], h[split], dashed))
            if not series:
                continue
            points = [(f"document: {m} = {v}", int(m.split("@")[1]) - 1, v) for m, v in docs.get(name, {}).items()
                      if "@" in m and m.split("@")[0] in (metric, f"val_{metric}") and isinstance(v, (int, float))]
            figs.append(line_chart(f"{name}: {metric} per epoch (solid: training, dashed: validation; "
                                   f"circles: the document's values)", series, points, list(range(1, epochs + 1)), metric))
        if figs:
            out.append(f'<section class="experiment"><h3>{_esc(name)}</h3><p class="recipe">{_esc(exp.quote or "")}</p>'
                       + "".join(figs) + "</section>")
    return "\n".join(out) or "<p>No full run is recorded in the ledger yet.</p>"


def _mean_sd(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    sd = (sum((v - m) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return m, sd


def sweeps(runs: dict, docs: dict) -> str:
    out = []
    for title, members in SWEEPS:
        groups = []
        for label, name in members:
            by_b = {b: _mean_sd([r["test"]["accuracy"] for r in rs]) for b, rs in runs.get(name, {}).items()}
            doc = docs.get(name, {}).get("test.accuracy")
            groups.append((label, by_b, doc if isinstance(doc, (int, float)) else None))
        if any(g[1] for g in groups):
            out.append(bar_chart(f"{title}: test accuracy, mean ± sd over seeds (blue keras, red torch; dashed: document)",
                                 groups, "test accuracy"))
    return "\n".join(out) or "<p>No sweep has recorded runs yet.</p>"


def adder(runs: dict, docs: dict) -> str:
    out = []
    for name in [n for n in experiments.EXPERIMENTS if n.startswith("binadd.")]:
        series = []
        for b, results in runs.get(name, {}).items():
            for k, r in enumerate(results):
                if "accuracy_by_length" in r:
                    series.append((f"{b} seed {r['_seed']}", COLORS[(b, min(k, 2))], r["accuracy_by_length"], False))
        doc = docs.get(name, {}).get("accuracy_by_length")
        points = [(f"document: length {i + 1}: {v}", i, v) for i, v in enumerate(doc)] if isinstance(doc, list) else []
        if series:
            floor = doc if isinstance(doc, (int, float)) else None
            what = "circles: the document's list" if points else \
                (f"dashed: the document's 'at least {doc}' at every length" if floor is not None else "")
            out.append(line_chart(f"{name}: exact-sum accuracy by test length (blue keras, red torch, one line per "
                                  f"seed; {what})", series, points, list(range(1, 21)), "accuracy", floor=floor))
    return "\n".join(out) or "<p>No adder run is recorded yet.</p>"


def mnist(runs: dict) -> str:
    out = []
    for name in [n for n in experiments.EXPERIMENTS if n.startswith("mnist.")]:
        for b, results in runs.get(name, {}).items():
            conf = [r["confusion"] for r in results if "confusion" in r]
            if not conf:
                continue
            total = [[sum(c[i][j] for c in conf) for j in range(10)] for i in range(10)]
            pc = per_class(total)
            rows = "".join(f"<tr><td>{d}</td><td>{pc['precision'][d]:.4f}</td><td>{pc['recall'][d]:.4f}</td>"
                           f"<td>{pc['f1'][d]:.4f}</td></tr>" for d in range(10))
            out.append(f'<div class="mnist">{heatmap(f"{name} [{b}]", total)}<table class="small"><tr><th>digit</th>'
                       f"<th>precision</th><th>recall</th><th>F1</th></tr>{rows}</table></div>")
    return "\n".join(out) or "<p>No MNIST run is recorded yet.</p>"


def timings(claims: list[Claim], last: dict) -> str:
    rows = []
    for c in claims:
        if c.measure != "timing.ratios":
            continue
        for b in BACKENDS:
            o = last.get((c.id, b))
            measured = o["measured"] if o and isinstance(o.get("measured"), dict) else {}
            for ratio, accepted in (c.expected_for(b) or {}).items():
                m = measured.get(ratio)
                shown = f"{m['median']:.3f} ({m['q1']:.3f}–{m['q3']:.3f})" if isinstance(m, dict) else "not run"
                rows.append(f"<tr><td><code>{_esc(c.id)}</code></td><td>{b}</td><td>{_esc(ratio)}</td><td>{_esc(shown)}</td>"
                            f"<td>{_esc(json.dumps(accepted))}</td><td>{_esc(o['verdict'] if o else 'not run')}</td></tr>")
    return ("<table><tr><th>claim</th><th>backend</th><th>ratio of step times</th><th>measured median (q1–q3)</th>"
            "<th>document's range</th><th>verdict</th></tr>" + "".join(rows) + "</table>")


SCRIPT = """
function applyFilters() {
  const f = {};
  document.querySelectorAll('select[data-filter]').forEach(s => f[s.dataset.filter] = s.value);
  const backends = f.backend ? [f.backend] : ['keras', 'torch'];
  let shown = 0;
  const rows = document.querySelectorAll('#verdicts tr.claim');
  rows.forEach(r => {
    const ok = (!f.document || r.dataset.document === f.document) && (!f.kind || r.dataset.kind === f.kind)
      && (!f.verdict || backends.some(b => r.dataset['verdict' + b[0].toUpperCase() + b.slice(1)] === f.verdict));
    r.hidden = !ok;
    if (ok) shown++;
  });
  ['keras', 'torch'].forEach(b => document.querySelectorAll('.b-' + b)
    .forEach(c => c.hidden = !!f.backend && f.backend !== b));
  document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' claims shown';
}
document.querySelectorAll('select[data-filter]').forEach(s => s.addEventListener('change', applyFilters));
applyFilters();
"""

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top;font-size:12px}td.q{max-width:28em}
.v-reproduced{background:#d9f2d9}.v-not-reproduced-unexpected,.v-reproduced-stated-as-non-reproduction,.v-failed{background:#f8d0d0}
.v-known-non-reproduction{background:#fde7c7}.v-undecided{background:#ece6fa}.v-error,[class*=expected-states]{background:#f8d0d0}.v-pending,.v-not-run{color:#888}.v-smoke-passed{background:#e3ecf8}
figure{display:inline-block;margin:4px}figcaption{font-size:11px;max-width:400px}.filters{margin:.5em 0}
.filters label{margin-right:1em}.mnist{display:inline-flex;gap:4px;align-items:flex-start;margin:4px}
.recipe{font-size:11px;color:#555}section.experiment{margin-bottom:1em}
"""


def render(folder: Path, last_run: Path) -> str:
    claims = load(folder)
    last = load_last_run(last_run)
    seeds = list(range(max(experiments.SEED_BUDGET.values())))
    runs = recorded_runs(seeds)
    docs = documented(claims)
    rows = _verdicts(claims, folder, last)
    recorded = sum(len(rs) for by_b in runs.values() for rs in by_b.values())
    body = [
        "<h1>reprokit: which claims about recurrent networks reproduce</h1>",
        f"<p>{len(claims)} claims from the five documents; {recorded} full training runs recorded in the ledger "
        f"(<code>results/</code>); latest-run outcomes for {len(last)} claim×backend pairs. A training claim's "
        "verdict is the ledger's (all seeds recorded) where it has one, else the latest run's (hover a verdict for "
        "its source).</p>",
        "<h2>Verdicts</h2>", verdict_table(rows),
        "<h2>Sweeps</h2>", sweeps(runs, docs),
        "<h2>Binary adder: accuracy against test length</h2>", adder(runs, docs),
        "<h2>MNIST: confusion and per-class precision / recall</h2>", mnist(runs),
        "<h2>Timing: measured ratios next to the documents'</h2>", timings(claims, last),
        "<h2>Training curves</h2>", curves(runs, docs),
    ]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>reprokit report</title>"
            f"<style>{STYLE}</style></head><body>" + "\n".join(body) + f"<script>{SCRIPT}</script></body></html>")


def write(out: Path, folder: Path, last_run: Path) -> None:
    from reprokit.cache import write_atomic
    write_atomic(Path(out), render(folder, last_run))
