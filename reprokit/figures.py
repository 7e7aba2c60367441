"""The report's charts, drawn by matplotlib as inline SVG (text kept as text): legends, axis titles,
ticks matplotlib chooses, one colour per backend.

``decision`` draws why a training claim came out as it did, per backend: each seed's value as a
dot, the document's value as a line, and what the rule compared it with (for a single run, the
values it would call reproduced with these seeds; for an ordering or a trend, the interval of the
difference or the correlation against its bound).
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from reprokit import verdict as v

COLORS = {"keras": "#1f77b4", "torch": "#d62728", "keras-jax": "#2ca02c", "keras-torch": "#9467bd"}
MAX_LEAVES = 8  # a decision picture shows at most this many documented values: the farthest from the seeds


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 8, "axes.titlesize": 9,
                                "legend.fontsize": 7, "figure.dpi": 100, "svg.hashsalt": "reprokit"})
    return plt


def color(backend: str) -> str:
    return COLORS.get(backend, "#555555")


def svg(fig) -> str:
    """The figure as an inline <svg> element that scales to its container (no overflow)."""
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    return text.replace("<svg ", '<svg class="chart" preserveAspectRatio="xMinYMin meet" ', 1)


# -- why a verdict came out as it did -------------------------------------------------------------

def _accepted(compare: str, seeds: np.ndarray, margin: float, grid: np.ndarray) -> np.ndarray:
    """For each documented value on ``grid``: would the rule call this value alone reproduced?"""
    rule = getattr(v, compare)
    what = "as extreme"
    out = []
    for value in grid:
        k, n, _, inside = rule({"values": seeds}, float(value), margin)
        out.append(v._single_run_decision(k, n, what, inside)[0] is v.Verdict.REPRODUCED)
    return np.asarray(out)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [start, end] where ``mask`` holds."""
    out, start = [], None
    for i, m in enumerate(list(mask) + [False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def _single_run(ax, claim, outcomes: dict) -> None:
    per_backend = {b: v.leaves(o.measured, v._norm(claim.expected_for(b))) for b, o in outcomes.items()}
    names = list(dict.fromkeys(name for ls in per_backend.values() for name, _, _ in ls))
    shown = ""
    if len(names) > MAX_LEAVES:  # the values farthest from their seeds decide: show those
        def distance(name):
            return max(abs(doc - np.median(s)) / (np.std(s) or 1.0)
                       for ls in per_backend.values() for n, s, doc in ls if n == name)
        shown = f"; {MAX_LEAVES} of the {len(names)} documented values, the farthest from the seeds"
        names = sorted(names, key=distance, reverse=True)[:MAX_LEAVES]
    margin = claim.tolerance or 0.0
    backends = list(per_backend)
    for row, name in enumerate(names):
        for j, b in enumerate(backends):
            leaf = next(((s, doc) for n, s, doc in per_backend[b] if n == name), None)
            if leaf is None:
                continue
            seeds, doc = leaf
            y = row + (j - (len(backends) - 1) / 2) * 0.28
            if claim.compare in ("plausible_run", "plausible_run_at_least"):
                lo, hi = min(seeds.min(), doc), max(seeds.max(), doc)
                pad = (hi - lo) * 0.5 or 0.05
                grid = np.linspace(lo - pad, hi + pad, 161)
                for a, z in _runs(_accepted(claim.compare, seeds, margin, grid)):
                    ax.fill_betweenx([y - 0.12, y + 0.12], grid[a], grid[z], color=color(b), alpha=0.15, lw=0)
            jitter = (np.arange(len(seeds)) % 3 - 1) * 0.04
            ax.scatter(seeds, y + jitter, s=9, color=color(b), alpha=0.75, lw=0, zorder=3)
            ax.plot([doc, doc], [y - 0.16, y + 0.16], color="black", lw=1.6, zorder=4)
    ax.set_yticks(range(len(names)), [n if len(n) < 38 else "…" + n[-36:] for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("value (dots: seeds; black bar: the document; shade: documented values these seeds would "
                  f"call reproduced, this value alone{shown})")


def _intervals(ax, found: dict, bound: float | None, margin: float, xlabel: str) -> None:
    labels = list(dict.fromkeys(i.label for fs in found.values() for i in fs))
    backends = list(found)
    for row, label in enumerate(labels):
        for j, b in enumerate(backends):
            i = next((i for i in found[b] if i.label == label), None)
            if i is None:
                continue
            y = row + (j - (len(backends) - 1) / 2) * 0.28
            lo, hi = (i.low if math.isfinite(i.low) else i.estimate), (i.high if math.isfinite(i.high) else i.estimate)
            ax.plot([lo, hi], [y, y], color=color(b), lw=2.5, alpha=0.6, solid_capstyle="butt")
            ax.scatter([i.estimate], [y], s=16, color=color(b), zorder=3)
    for x, style in ([(bound, "-")] if bound is not None else []) + [(0.0, "-")] * (bound is None) + \
            ([(margin, ":"), (-margin, ":")] if margin and bound is None else []):
        ax.axvline(x, color="black", lw=1, ls=style)
    ax.set_yticks(range(len(labels)), [lab if len(lab) < 44 else "…" + lab[-42:] for lab in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(xlabel)


def decision(claim, outcomes: dict[str, Any]) -> str:
    """Why ``claim`` came out as it did in each backend (``outcomes``: backend -> Outcome from the
    ledger), as one SVG."""
    plt = _plt()
    rows = 1
    if claim.compare in v.SINGLE_RUN and claim.compare != "plausible_outcome":
        rows = min(MAX_LEAVES, max(len(v.leaves(o.measured, v._norm(claim.expected_for(b))))
                                   for b, o in outcomes.items()))
    elif claim.compare == "order":
        rows = len(claim.args.get("pairs") or [])
    elif claim.compare == "trend":
        rows = len(claim.expected)
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.42 * rows))
    if claim.compare == "order":
        from reprokit import experiments
        found = {b: v.order_intervals(o.measured, claim.tolerance or 0.0, experiments.seed_budget(claim.experiments, b)) for b, o in outcomes.items()}
        _intervals(ax, found, None, claim.tolerance or 0.0,
                   f"difference of the seeds' means, a - b, with its interval (line: 0"
                   f"{'; dotted: ± the margin' if claim.tolerance else ''})")
    elif claim.compare == "trend":
        from reprokit import experiments
        found = {b: v.trend_intervals(o.measured, claim.expected_for(b), experiments.seed_budget(claim.experiments, b)) for b, o in outcomes.items()}
        bound = next(iter(v._norm(claim.expected).values()))["spearman"]
        _intervals(ax, found, bound, 0.0, f"Spearman correlation of accuracy with test length, with its "
                                          f"bootstrap interval (line: the bound {bound})")
    elif claim.compare == "plausible_outcome":
        for j, (b, o) in enumerate(outcomes.items()):
            k, n, _, _ = v.plausible_outcome(o.measured, claim.expected_for(b), 0.0)
            ax.barh([j], [k / n], color=color(b), alpha=0.7)
            ax.text(k / n, j, f"  {k} of {n} seeds", va="center", fontsize=7)
        ax.set_yticks(range(len(outcomes)), list(outcomes))
        ax.set_xlim(0, 1.25)
        ax.set_xlabel("share of the seeds that show the document's outcome")
    else:
        _single_run(ax, claim, outcomes)
    handles = [plt.Line2D([], [], marker="o", ls="", color=color(b),
                          label=f"{b}: {o.verdict.value} ({o.seeds} seeds)") for b, o in outcomes.items()]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(handles), frameon=False)
    ax.grid(axis="x", color="#eee")
    return svg(fig)


# -- the experiments ------------------------------------------------------------------------------

def curves(name: str, by_backend: dict[str, list[dict]], documented: dict) -> str:
    """Loss and accuracy per epoch: per backend the seeds' median (solid: training, dashed:
    validation) with the band from the lowest to the highest seed; the document's values circled."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.3))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for b, results in by_backend.items():
            for split, style in ((metric, "-"), (f"val_{metric}", "--")):
                series = [r["history"][split] for r in results if r.get("history", {}).get(split)]
                if not series:
                    continue
                length = min(len(s) for s in series)
                a = np.asarray([s[:length] for s in series], dtype=float)
                x = np.arange(1, length + 1)
                ax.fill_between(x, a.min(0), a.max(0), color=color(b), alpha=0.12, lw=0)
                ax.plot(x, np.median(a, 0), style, color=color(b), lw=1.3,
                        label=f"{b} {'validation' if split.startswith('val_') else 'training'} ({len(a)} seeds)")
        for m, value in documented.items():
            base, _, epoch = m.partition("@")
            if epoch and base in (metric, f"val_{metric}") and isinstance(value, (int, float)):
                ax.plot([int(epoch)], [value], "o", mfc="none", color="black", ms=6, label=f"document: {m}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(color="#eee")
    handles, labels = axes[0].get_legend_handles_labels()
    more = [(h, lab) for h, lab in zip(*axes[1].get_legend_handles_labels()) if lab not in labels]
    fig.legend(handles + [h for h, _ in more], labels + [lab for _, lab in more], loc="lower center",
               bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.suptitle(name, y=1.16, fontsize=9)
    return svg(fig)


def sweep(title: str, members: list[tuple[str, dict[str, list[float]], float | None]]) -> str:
    """Test accuracy per member of a sweep: each seed a dot per backend, the median a thick line,
    the document's value a black line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(members), 2.4))
    backends = list(dict.fromkeys(b for _, by, _ in members for b in by))
    width = 0.8 / max(1, len(backends))
    for i, (label, by, doc) in enumerate(members):
        for j, b in enumerate(backends):
            values = by.get(b)
            if not values:
                continue
            x = i - 0.4 + width * (j + 0.5)
            ax.plot([x - width * 0.4, x + width * 0.4], [np.median(values)] * 2, color=color(b), lw=3, alpha=0.5,
                    label=f"{b}: median of the seeds" if i == 0 else None)
            ax.scatter(np.full(len(values), x) + (np.arange(len(values)) % 5 - 2) * width * 0.08, values, s=6,
                       color=color(b), lw=0, label=f"{b}: a seed" if i == 0 else None)
        if doc is not None:
            ax.plot([i - 0.45, i + 0.45], [doc, doc], color="black", lw=1.5, label="document" if i == 0 else None)
    ax.set_xticks(range(len(members)), [m[0] for m in members])
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(axis="y", color="#eee")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.08), ncol=3, frameon=False)
    return svg(fig)


def by_length(name: str, by_backend: dict[str, list[list[float]]], documented: Any) -> str:
    """The adder's exact-sum accuracy against test length: per backend the seeds' median and range;
    the document's list as circles (or its floor as a dashed line)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 2.2))
    for b, curves in by_backend.items():
        a = np.asarray(curves, dtype=float)
        x = np.arange(1, a.shape[1] + 1)
        ax.fill_between(x, a.min(0), a.max(0), color=color(b), alpha=0.15, lw=0)
        ax.plot(x, np.median(a, 0), color=color(b), lw=1.3, label=f"{b}: median, range ({len(a)} seeds)")
    if isinstance(documented, list):
        ax.plot(np.arange(1, len(documented) + 1), documented, "o", mfc="none", color="black", ms=4, label="document")
    elif isinstance(documented, (int, float)):
        ax.axhline(documented, color="black", ls="--", lw=1, label=f"document: at least {documented}")
    ax.set_xlabel("test length (bits)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("exact-sum accuracy")
    ax.set_title(name)
    ax.grid(color="#eee")
    ax.legend(loc="lower left", frameon=False)
    return svg(fig)


def confusion(title: str, matrix: list[list[int]]) -> str:
    """A confusion matrix normalised by row (true digit), each cell's share written in it."""
    plt = _plt()
    m = np.asarray(matrix, dtype=float)
    share = m / np.maximum(1, m.sum(1, keepdims=True))
    fig, ax = plt.subplots(figsize=(3.3, 3.0))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(share.shape[0]):
        for j in range(share.shape[1]):
            if share[i, j] >= 0.005:
                ax.text(j, i, f"{share[i, j]:.2f}".lstrip("0"), ha="center", va="center", fontsize=5.5,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    return svg(fig)
