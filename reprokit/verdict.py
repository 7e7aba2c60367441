"""The one place a verdict is decided: the ``Verdict`` type, the ``Outcome`` it comes in, and
``judge(claim, backend, measured, seeds)``. The plugin, the CLI, the report and the ledger check
all get their verdicts from here (through ``reprokit.check.decide``, which measures).

Each kind of claim is asked its own question (docs/verdicts.md):

- **a number the document printed from one run** (``plausible_run``, ``plausible_run_at_least``,
  ``plausible_outcome``) is one draw of the recipe: is it a plausible run? A conformal p-value
  ranks the documented run among the seeds' runs; it is "not reproduced" when p <= ALPHA at the
  plan's ``SINGLE_RUN_SEEDS`` seeds (a value from the recipe's own distribution is rejected at most
  ALPHA of the time, whatever that distribution), "reproduced" as soon as no later seed could make
  p that small, "undecided" before;
- **a statement about the recipe** (``order``, ``trend``) compares typical outcomes: a Welch
  t interval for a difference of means (an experiment whose seeds all agree: bounded by how often
  an unseen run could differ, ``difference_interval``), a bootstrap interval for a trend, at a
  level split over the family's looks and the claim's pairs (Bonferroni), against the claim's
  practical margin;
- every other comparison is exact (counts, shapes, a measured time ratio): reproduced or not.
"""

from __future__ import annotations

import enum
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ALPHA = 0.10  # the error rate each rule allows for calling a true claim "not reproduced"
# A single-run claim has two ways to be called not reproduced, each with half of ALPHA (a union
# bound): the prediction interval at the looks before the plan's seeds, the conformal rank at them.
ALPHA_PREDICTION = ALPHA / 2
ALPHA_CONFORMAL = ALPHA / 2
PREDICTION_MIN_SEEDS = 9  # the spread a prediction interval uses rests on at least this many seeds, all backends
LOOKS = (3, 5, 10, 20)  # seed counts at which a training claim is judged, in turn, up to its family's cap
SINGLE_RUN_SEEDS = 20  # the plan: a single-run claim is decided by its 20th seed at the latest
SINGLE_RUN = ("plausible_run", "plausible_run_at_least", "plausible_outcome")
TIMING = ("ratio_in_range",)  # a time ratio over interleaved rounds: ``timing``
RECIPE = ("order", "trend")


class Verdict(str, enum.Enum):
    REPRODUCED = "reproduced"
    NOT_REPRODUCED = "not reproduced"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Outcome:
    """A verdict with what decided it: ``detail`` names the numbers and the seeds used."""
    verdict: Verdict
    question: str  # "single run", "recipe" or "exact"
    detail: str
    measured: Any
    seeds: int | None = None  # seeds per experiment the verdict rests on
    needs_seeds: int | None = None  # undecided: about how many seeds would decide it
    learned: dict[str, list[int]] = field(default_factory=dict)  # experiment -> [learned, seeds]

    @property
    def decided(self) -> bool:
        return self.verdict is not Verdict.UNDECIDED

    def summary(self) -> str:
        seeds = f" ({self.seeds} seeds" + (", " + ", ".join(f"{e} learned {k}/{n}" for e, (k, n) in self.learned.items())
                                          if self.learned else "") + ")" if self.seeds else ""
        needs = f"; needs about {self.needs_seeds} seeds" if self.needs_seeds else \
            f"; needs more than {MAX_NEEDED} seeds (a difference within noise of its bound)" \
            if self.verdict is Verdict.UNDECIDED and self.question == "recipe" else ""
        return f"{self.verdict.value}{seeds}: {self.detail}{needs}"


class NotReproduced(AssertionError):
    """The claim's own comparison failed: the only exception a known non-reproduction may raise."""


class Undecided(AssertionError):
    """The seeds could not decide: the only exception a stated 'undecided' may raise."""


class Mismatch(AssertionError):
    """Reproduced where expected/ states otherwise, or a smoke check failed."""


# -- the documented values and the seeds' values, leaf by leaf ---------------------------------

def _norm(v: Any) -> Any:
    from reprokit.compare import _norm as norm
    return norm(v)


def leaves(measured: Any, expected: Any, path: str = "") -> list[tuple[str, np.ndarray, float]]:
    """(where, the seeds' values, documented value) for every documented number. ``measured`` nests
    dicts down to the seeds' statistics (``{"values": [...]}``); a documented list is checked
    elementwise, one documented number against a list-valued metric applies to every element."""
    if isinstance(expected, dict):
        out = []
        for key, e in expected.items():
            if not isinstance(measured, dict) or key not in measured:
                raise ValueError(f"nothing measured for {path}{key}")
            out += leaves(measured[key], e, f"{path}{key} ")
        return out
    values = np.asarray(measured["values"], dtype=float)  # seeds first
    if values.ndim == 2:
        expected = expected if isinstance(expected, list) else [expected] * values.shape[1]
        if len(expected) != values.shape[1]:
            raise ValueError(f"{path}: {values.shape[1]} values measured, {len(expected)} documented")
        return [(f"{path.strip()}[{i}]", values[:, i], float(e)) for i, e in enumerate(expected)]
    return [(path.strip(), values, float(expected))]


# -- single-run questions ------------------------------------------------------------------------

def _single_run_decision(k: int, n: int, what: str, inside: bool = True,
                         alpha: float = ALPHA_CONFORMAL) -> tuple[Verdict, str, int | None]:
    """``k`` of ``n`` seeds are at least as extreme as the documented run; the conformal p-value is
    (k + 1) / (n + 1). At the plan's N seeds the run is implausible when p <= ALPHA, i.e. when at
    most ``r`` seeds are as extreme. Once more than ``r`` are, further seeds would not make it so:
    the verdict is reproduced early, but before the plan's seeds only where every documented value
    also lies ``inside`` the seeds' range (with few seeds the document pulls the common centre and
    scale toward itself, which flatters a run that is off in many values at once)."""
    plan = SINGLE_RUN_SEEDS
    r = math.floor(alpha * (plan + 1) - 1 + 1e-9)
    p = (k + 1) / (n + 1)
    said = f"{k} of {n} seeds {what} (conformal p = {p:.2f})"
    if k > r and (inside or n >= plan):
        return Verdict.REPRODUCED, said, None
    if n >= plan:
        return Verdict.NOT_REPRODUCED, said + f" <= {alpha}", None
    return Verdict.UNDECIDED, said, plan


def systematic_gap(measured: Any, expected: Any, reference: list[Any]) -> str:
    """Where every seed of this backend and of every other backend with seeds lies on one side of
    a documented value: "every seed of K backends is below the documented X, by G spreads" (the gap
    from the nearest seed, in the spread pooled over all of them), for the farthest such value; ""
    where none is. A finding, not a verdict: it says the document's run differs from every run
    here in one direction, whatever the verdict."""
    ls = leaves(measured, _norm(expected))
    refs = [leaves(m, _norm(expected)) for m in reference]
    found = None
    for i, (where, seeds, value) in enumerate(ls):
        groups = [seeds] + [r[i][1] for r in refs if len(r[i][1])]
        every = np.concatenate(groups)
        if len(groups) < 2 or not (np.all(every < value) or np.all(every > value)):
            continue
        df = sum(len(g) - 1 for g in groups)
        spread = math.sqrt(sum(float(np.sum((g - np.mean(g)) ** 2)) for g in groups) / df) if df else 0.0
        gap = float(np.min(np.abs(every - value)))
        size = gap / spread if spread else math.inf
        if found is None or size > found[0]:
            found = (size, where, value, "below" if np.all(every < value) else "above", len(groups), len(every))
    if found is None:
        return ""
    size, where, value, side, backends, n = found
    return (f"systematic gap: all {n} seeds of {backends} backends are {side} the documented {where or 'value'} "
            f"{value:g}, the nearest by {size:.1f} pooled spreads")


def prediction_looks(cap: int) -> int:
    """How many looks share ALPHA_PREDICTION (Bonferroni): those before the plan's seeds."""
    return max(1, sum(1 for n in looks_for(cap) if n < SINGLE_RUN_SEEDS))


def prediction_interval(measured: Any, expected: Any, margin: float, one_sided: bool, cap: int,
                        reference: list[Any]) -> tuple[bool, str]:
    """(the documented run lies outside, what was seen): a normal-theory prediction interval for
    one more run, ``mean +- t(n-1) * s * sqrt(1 + 1/n)``, per documented value (Bonferroni over the
    values and over ``prediction_looks``). Under normality a run of the recipe falls outside it with
    probability at most its level, whatever ``s`` is used as long as ``s`` is at least the seeds'
    own standard deviation: ``s`` is the larger of this backend's and the spread pooled over every
    backend's seeds of the same claim (``reference``: the other backends' measured values), so a
    failure mode that only another backend's seeds show widens the interval here. It decides
    only when that pooled spread rests on PREDICTION_MIN_SEEDS seeds or more; the documented value
    is first moved toward the mean by ``margin``."""
    from scipy import stats
    ls = leaves(measured, _norm(expected))
    refs = [leaves(m, _norm(expected)) for m in reference]
    n = len(ls[0][1])
    if n < 3:
        return False, ""
    level = ALPHA_PREDICTION / prediction_looks(cap) / len(ls)
    crit = float(stats.t.ppf(1 - (level if one_sided else level / 2), n - 1))
    worst, outside = None, False
    for i, (where, seeds, value) in enumerate(ls):
        groups = [seeds] + [r[i][1] for r in refs if len(r[i][1]) >= 2]
        total, df = sum(len(g) for g in groups), sum(len(g) - 1 for g in groups)
        if total < PREDICTION_MIN_SEEDS:
            return False, ""
        pooled = math.sqrt(sum(float(np.sum((g - np.mean(g)) ** 2)) for g in groups) / df)
        s = max(float(np.std(seeds, ddof=1)), pooled)
        if s == 0:
            return False, ""
        centre = float(np.mean(seeds))
        gap = (value - centre - margin) if one_sided else abs(value - centre) - margin
        score = gap / (s * math.sqrt(1 + 1 / n))
        if worst is None or score > worst[0]:
            worst = (score, where, value, centre, s, total, len(groups))
        outside |= score > crit
    score, where, value, centre, s, total, backends = worst
    return outside, (f"prediction interval ({1 - level:.2%}{' one-sided' if one_sided else ''}): documented "
                     f"{where or 'value'} {value:g} is {score:.1f} spreads from the seeds' mean {centre:.4g} "
                     f"(spread {s:.3g}: this backend's or pooled over {total} seeds of {backends} backend(s), "
                     f"the larger; bound t = {crit:.2f}; assumes near-normal runs)")


def plausible_run(measured: Any, expected: Any, margin: float) -> tuple[int, int, str, bool]:
    """Two-sided: a run's distance is the root mean square, over the documented values, of its
    standardized distances from their medians; a seed is as extreme as the documented run when its
    distance is at least the document's. Medians and scales come from the seeds and the document
    together (full conformal); the documented values are first moved toward the medians by up to
    ``margin`` (the claim's practical margin)."""
    ls = leaves(measured, _norm(expected))
    n = len(ls[0][1])
    scores, doc = np.zeros(n), 0.0
    for _, seeds, value in ls:
        together = np.append(seeds, value)
        centre = float(np.median(together))
        scale = float(np.std(together)) or 1.0
        moved = value - np.clip(value - centre, -margin, margin)
        scores = scores + ((seeds - centre) / scale) ** 2
        doc += ((moved - centre) / scale) ** 2
    k = int(np.sum(scores >= doc - 1e-9))
    inside = all(np.min(seeds) - margin <= value <= np.max(seeds) + margin for _, seeds, value in ls)
    worst = max(ls, key=lambda leaf: abs(leaf[2] - np.median(leaf[1])) / (np.std(leaf[1]) or 1.0))
    shown = f"documented {worst[0] or 'value'} {worst[2]:g} at percentile {percentile(worst[1], worst[2]):.0f} " \
        f"of the seeds {_range(worst[1])}" + \
        (f" (the farthest of {len(ls)} values)" if len(ls) > 1 else "")
    return k, n, shown, inside


def plausible_run_at_least(measured: Any, expected: Any, margin: float) -> tuple[int, int, str, bool]:
    """One-sided: the document's run reached at least each documented value; a seed is as extreme
    when it reaches every one of them too (less ``margin``)."""
    ls = leaves(measured, _norm(expected))
    n = len(ls[0][1])
    reach = np.ones(n, dtype=bool)
    for _, seeds, value in ls:
        reach &= seeds >= value - margin - 1e-12
    worst = min(ls, key=lambda leaf: float(np.max(leaf[1]) - leaf[2]))
    return int(reach.sum()), n, f"documented >= {worst[2]:g} at {worst[0] or 'value'}, seeds {_range(worst[1])}", True


def plausible_outcome(measured: Any, expected: Any, margin: float) -> tuple[int, int, str, bool]:
    """A yes/no outcome the document's run showed (``{"per_seed": [bool, ...]}`` per experiment, or
    directly): a seed is as extreme when it shows it too."""
    groups = measured if "per_seed" not in measured else {"": measured}
    per_seed = None
    for name, m in groups.items():
        if name and isinstance(expected, dict) and name not in expected:
            continue
        s = np.asarray(m["per_seed"], dtype=bool)
        per_seed = s if per_seed is None else per_seed & s
    return int(per_seed.sum()), len(per_seed), "the documented outcome is a yes/no per run", True


def percentile(seeds: np.ndarray, value: float) -> float:
    """Where ``value`` falls among the seeds' values, 0-100 (ties count half)."""
    return 100.0 * (np.sum(seeds < value) + 0.5 * np.sum(seeds == value)) / len(seeds)


def _range(a: np.ndarray) -> str:
    return f"{np.min(a):.4g}..{np.max(a):.4g} (median {np.median(a):.4g})"


# -- recipe questions ----------------------------------------------------------------------------

RELATIONS = {
    ">": "a exceeds b beyond noise (not reproduced: a does not exceed b by more than the margin)",
    "<": "a falls short of b beyond noise (not reproduced: a is not below b by more than the margin)",
    ">=": "a is not below b by more than the margin",
    "!>": "a does not exceed b by more than the margin",
    "~": "a and b are within the margin of each other",
}


def looks_for(cap: int) -> tuple[int, ...]:
    return tuple(n for n in LOOKS if n <= cap) or (cap,)


def difference_interval(a: np.ndarray, b: np.ndarray, level: float,
                        ranges: tuple[list | None, list | None] = (None, None)) -> tuple[float, float]:
    """Interval for mean(a) - mean(b) at ``level``: Welch's t (scipy.stats) where both arms spread.

    An arm whose seeds all agree shows no spread, which is no evidence of none: a run at a
    ceiling that fails now and then (torch's index.gru5: 18 of 20 seeds at 1.0, 2 at 0.83) shows
    none in 3 seeds most of the time, and a zero-width interval then called a false '>=' reproduced
    in 70% of draws from the ledger's own runs (tools/order_calibration.py). Such an arm's mean is
    bounded instead by how often a different run could go unseen in n seeds (binomial: at most
    1 - miss^(1/n) of runs, at the arm's share of the miss) times how far such a run can go (its
    ``ranges`` entry, the metric's possible values; ``None``: unbounded); the other arm then gets a
    one-sample t interval, cut to its range."""
    from scipy import stats
    if len(a) < 2 or len(b) < 2:
        return -math.inf, math.inf
    flat = (np.ptp(a) == 0, np.ptp(b) == 0)
    if not any(flat):
        with warnings.catch_warnings():  # near-identical values (a ceiling of 1.0) warn of lost precision
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence_level=level)
        return float(ci.low), float(ci.high)
    miss = (1 - level) / 2  # each arm's share
    arms = []
    for x, is_flat, span in zip((a, b), flat, ranges):
        if is_flat:
            if span is None:
                return -math.inf, math.inf
            unseen = 1 - miss ** (1 / len(x))  # the most often a different run goes unseen in len(x) seeds
            arms.append((x[0] - unseen * (x[0] - span[0]), x[0] + unseen * (span[1] - x[0])))
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=1 - miss)
            lo, hi = float(ci.low), float(ci.high)
            arms.append((max(lo, span[0]), min(hi, span[1])) if span is not None else (lo, hi))  # a mean lies in range
    (lo_a, hi_a), (lo_b, hi_b) = arms
    return float(lo_a - hi_b), float(hi_a - lo_b)


def relation_tests(rel: str, lo: float, hi: float, margin: float) -> tuple[bool, bool]:
    """(shown to hold, shown not to hold) for one relation, from the interval of a - b; at a point
    (lo = hi) it says which verdicts a known difference makes right (tools/order_calibration.py)."""
    # a strict relation needs the whole interval beyond 0; the others hold at their bound (ties)
    return {">": (lo > 0, hi < margin), "<": (hi < 0, lo > -margin), ">=": (lo >= -margin, hi < -margin),
            "!>": (hi <= margin, lo > margin), "~": (-margin <= lo and hi <= margin, lo > margin or hi < -margin)}[rel]


def relation(rel: str, lo: float, hi: float, margin: float) -> Verdict:
    """The verdict of one relation from the interval of a - b."""
    yes, no = relation_tests(rel, lo, hi, margin)
    return Verdict.REPRODUCED if yes else Verdict.NOT_REPRODUCED if no else Verdict.UNDECIDED


@dataclass(frozen=True)
class Interval:
    """One relation (or trend) of a recipe claim as its rule saw it: the estimate, its interval at
    ``level``, and the verdict."""
    label: str
    estimate: float
    low: float
    high: float
    level: float
    verdict: Verdict
    n: int
    note: str = ""  # what shaped the interval, where it is not the usual one


def order_intervals(measured: dict, margin: float, cap: int) -> list[Interval]:
    """Each pair's difference of means a - b with its Welch interval (Bonferroni over the looks and
    the pairs) and the relation's verdict."""
    pairs = measured["pairs"]
    level = 1 - 2 * ALPHA / (len(looks_for(cap)) * len(pairs))
    out = []
    for a, rel, b in pairs:
        va = np.asarray(measured["stats"][a]["values"], dtype=float)
        vb = np.asarray(measured["stats"][b]["values"], dtype=float)
        sa, sb = measured["stats"][a], measured["stats"][b]
        lo, hi = difference_interval(va, vb, level, (sa.get("range"), sb.get("range")))
        flat = [f"{name}'s seeds all {v[0]:.4g}" for name, v in ((a, va), (b, vb)) if len(v) > 1 and np.ptp(v) == 0]
        out.append(Interval(f"{a} {rel} {b}", float(np.mean(va) - np.mean(vb)), lo, hi, level,
                            relation(rel, lo, hi, margin), len(va),
                            f" ({', '.join(flat)}: no spread seen, so bounded by how often a run could differ unseen)"
                            if flat else ""))
    return out


def order(measured: dict, margin: float, cap: int) -> tuple[Verdict, str, int | None]:
    found = order_intervals(measured, margin, cap)
    said = [f"{i.label}: difference {i.estimate:+.4f}, {i.level:.1%} interval [{i.low:+.4f}, {i.high:+.4f}]{i.note}"
            f"{f', margin {margin:g}' if margin else ''} -> {i.verdict.value}" for i in found]
    needs = [_needed(i.n, (i.high - i.low) / 2, i.estimate, margin) for i in found if i.verdict is Verdict.UNDECIDED]
    verdict = _combine([i.verdict for i in found])
    return verdict, "; ".join(said), _most(needs) if verdict is Verdict.UNDECIDED else None


def quantile_interval(values: np.ndarray, p: float, level: float) -> tuple[float, float]:
    """Distribution-free interval for the ``p``-quantile: the order statistics ``(X_(l), X_(u))``
    with ``P(X_(l) <= q_p <= X_(u)) >= level``, from the binomial law of how many values fall
    below ``q_p`` (equal tails). ``(-inf, inf)`` where too few values reach that level."""
    from scipy.stats import binom
    x, n = np.sort(np.asarray(values, dtype=float)), len(values)
    tail = (1 - level) / 2
    lower = int(binom.ppf(tail, n, p))  # P(count <= lower - 1) <= tail
    upper = int(binom.isf(tail, n, p)) + 1
    while lower > 0 and binom.cdf(lower - 1, n, p) > tail:
        lower -= 1
    while upper <= n and binom.sf(upper - 1, n, p) > tail:
        upper += 1
    return (float(x[lower - 1]) if lower >= 1 else -math.inf, float(x[upper - 1]) if upper <= n else math.inf)


TIMING_STATS = {"median": 0.5, "q1": 0.25, "q3": 0.75}


# Two runs of the same timing claim on this idle 2-core machine, one thread each, gave step ratios
# 5% or more apart while each run's own interval was about 1% wide (imdbq.time.cells [torch]:
# LSTM/SimpleRNN medians 1.068 and 1.027 in two runs, below 1 in seven others; binadd.time.loss
# [torch]: q1 1.010-1.018 in nine runs, 0.964-1.004 in three of the session before). A ratio
# within 5% of a bound is therefore undecided on this machine, not decided by one run's rounds.
TIMING_RUN_MARGIN = 0.05


def timing(measured: dict, expected: dict) -> tuple[Verdict, str]:
    """A time ratio's statistic over the interleaved rounds (``q1`` above 1: slower in 3 of 4
    rounds) lies in the stated range: reproduced when its distribution-free interval (at
    1 - ALPHA over the claim's ratios) lies inside the range, not reproduced when it lies outside,
    undecided when it straddles a bound (more rounds, or a quieter machine, may decide it).
    The interval must clear a bound by ``TIMING_RUN_MARGIN``: it covers one run's rounds, but two
    runs of the same code differ by more than that interval's width."""
    level = 1 - ALPHA / len(expected)
    m = 1 + TIMING_RUN_MARGIN
    verdicts, said = [], []
    for name, accepted in _norm(expected).items():
        stat, (lo, hi) = next(iter(accepted.items())) if isinstance(accepted, dict) else ("median", accepted)
        r = measured[name]
        a, b = quantile_interval(np.asarray(r["ratios"]), TIMING_STATS[stat], level)
        v = (Verdict.REPRODUCED if lo * m <= a and b * m <= hi
             else Verdict.NOT_REPRODUCED if b * m < lo or a > hi * m else Verdict.UNDECIDED)
        verdicts.append(v)
        said.append(f"{name}: {stat} of the ratio {r[stat]:.3f} ({level:.0%} interval [{a:.3f}, {b:.3f}] over "
                    f"{len(r['ratios'])} rounds; {r['a_ms']:.2f} ms vs {r['b_ms']:.2f} ms per step), stated "
                    f"[{lo}, {hi}], cleared by {TIMING_RUN_MARGIN:.0%} -> {v.value}")
    return _combine(verdicts), "; ".join(said)


def _most(needs: list[int | None]) -> int | None:
    """The seeds the hardest pair needs (None: more than MAX_NEEDED, or unbounded)."""
    return None if not needs or None in needs else max(needs)


def _needed(n: int, half_width: float, estimate: float, margin: float) -> int | None:
    """Seeds per experiment at which an interval of this width around this estimate would clear
    the nearest deciding bound (0 or +-margin): n * (half width / distance)^2; None if unbounded."""
    distance = min(abs(estimate - bound) for bound in {0.0, margin, -margin})
    if not math.isfinite(half_width):
        return None
    if distance < 1e-9:
        return None
    needed = max(n + 1, math.ceil(n * (half_width / distance) ** 2))
    return needed if needed <= MAX_NEEDED else None  # beyond it: the difference is within noise of a bound


MAX_NEEDED = 500


def trend_intervals(measured: dict, expected: dict, cap: int) -> list[Interval]:
    """Per experiment: the tie-aware Spearman correlation of the seeds' mean curve with position
    (scipy.stats.spearmanr), with a percentile bootstrap interval over seeds, against the
    documented ``spearman`` upper bound ("falls with")."""
    level = 1 - 2 * ALPHA / (len(looks_for(cap)) * len(expected))
    out = []
    for name, bound in _norm(expected).items():
        curves = np.asarray(measured[name]["values"], dtype=float)
        rng = np.random.default_rng(0)
        draws = rng.integers(0, len(curves), (2000, len(curves)))  # the same draws, in order, as one at a time
        boot = spearman_rows(curves[draws].mean(1))
        lo, hi = (float(q) for q in np.quantile(boot, [(1 - level) / 2, 1 - (1 - level) / 2]))
        limit = bound["spearman"]
        v = Verdict.REPRODUCED if hi <= limit else Verdict.NOT_REPRODUCED if lo > limit else Verdict.UNDECIDED
        out.append(Interval(name, spearman(curves.mean(0)), lo, hi, level, v, len(curves)))
    return out


def trend(measured: dict, expected: dict, cap: int) -> tuple[Verdict, str, int | None]:
    found = trend_intervals(measured, expected, cap)
    limits = {name: bound["spearman"] for name, bound in _norm(expected).items()}
    said = [f"{i.label}: Spearman {i.estimate:+.3f}, {i.level:.1%} bootstrap interval [{i.low:+.3f}, {i.high:+.3f}] "
            f"vs <= {limits[i.label]} -> {i.verdict.value}" for i in found]
    needs = [_needed(i.n, (i.high - i.low) / 2, i.estimate - limits[i.label], 0.0)
             for i in found if i.verdict is Verdict.UNDECIDED]
    verdict = _combine([i.verdict for i in found])
    return verdict, "; ".join(said), _most(needs) if verdict is Verdict.UNDECIDED else None


def spearman(curve: np.ndarray) -> float:
    """Tie-aware Spearman correlation of a curve with its position; 0 for a flat curve."""
    from scipy import stats
    if np.ptp(curve) == 0:
        return 0.0
    return float(stats.spearmanr(np.arange(len(curve)), curve).statistic)


def spearman_rows(curves: np.ndarray) -> np.ndarray:
    """``spearman`` of each row at once: Pearson's r of the rows' average ranks (scipy.stats.rankdata,
    as spearmanr ranks) with the positions' ranks; 0 for a flat row. A bootstrap's 2,000 curves
    in one call, not 2,000 calls."""
    from scipy import stats
    ranks = stats.rankdata(curves, axis=1)
    ranks = ranks - ranks.mean(axis=1, keepdims=True)
    position = np.arange(curves.shape[1], dtype=float) - (curves.shape[1] - 1) / 2
    scale = np.sqrt((ranks ** 2).sum(axis=1) * (position ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (ranks @ position) / scale
    return np.where(np.ptp(curves, axis=1) == 0, 0.0, np.clip(r, -1.0, 1.0))


def _combine(verdicts: list[Verdict]) -> Verdict:
    if Verdict.NOT_REPRODUCED in verdicts:
        return Verdict.NOT_REPRODUCED
    if Verdict.UNDECIDED in verdicts:
        return Verdict.UNDECIDED
    return Verdict.REPRODUCED


# -- the one judge ---------------------------------------------------------------------------------

def judge(claim, backend: str, measured: Any, seeds: int | None = None, cap: int | None = None,
          learned: dict | None = None, reference: list[Any] | None = None) -> Outcome:
    """The verdict of ``claim`` in ``backend`` on ``measured`` (from ``seeds`` seeds per experiment,
    of at most ``cap``, the experiments' seed budget). ``reference``: the same claim measured in
    the other backends (their recorded seeds), which a single-run claim's spread pools."""
    from reprokit.compare import COMPARISONS
    margin = claim.tolerance or 0.0
    expected = claim.expected_for(backend)
    cap = cap or seeds or 1
    extra = {"measured": measured, "seeds": seeds, "learned": learned or {}}
    if claim.compare in SINGLE_RUN:
        what = {"plausible_run": "lie at least as far from the seeds' median as the documented run",
                "plausible_run_at_least": "reach the documented value",
                "plausible_outcome": "show the documented outcome"}[claim.compare]
        k, n, shown, inside = globals()[claim.compare](measured, expected, margin)
        # a yes/no outcome has no spread to pool: the conformal rank alone, with all of ALPHA
        verdict, said, needs = _single_run_decision(k, n, what, inside,
                                                    ALPHA if claim.compare == "plausible_outcome" else ALPHA_CONFORMAL)
        if claim.compare != "plausible_outcome" and (gap := systematic_gap(measured, expected, reference or [])):
            shown += f"; {gap}"
        if verdict is Verdict.UNDECIDED and claim.compare != "plausible_outcome":
            outside, why = prediction_interval(measured, expected, margin, claim.compare == "plausible_run_at_least",
                                               cap, reference or [])
            if outside:
                return Outcome(Verdict.NOT_REPRODUCED, "single run", f"{why}; {said}; {shown}", **extra)
        if verdict is Verdict.UNDECIDED and n >= cap:
            said += f"; the seed budget is {cap}"
        return Outcome(verdict, "single run", f"{said}; {shown}", needs_seeds=needs, **extra)
    if claim.compare == "order":
        verdict, said, needs = order(measured, margin, cap)
        return Outcome(verdict, "recipe", said, needs_seeds=needs, **extra)
    if claim.compare == "trend":
        verdict, said, needs = trend(measured, expected, cap)
        return Outcome(verdict, "recipe", said, needs_seeds=needs, **extra)
    if claim.compare == "ratio_in_range":
        verdict, said = timing(measured, expected)
        return Outcome(verdict, "timing", said, **extra)
    try:
        COMPARISONS[claim.compare](measured, expected, claim.tolerance)
    except AssertionError as exc:
        return Outcome(Verdict.NOT_REPRODUCED, "exact", str(exc), **extra)
    return Outcome(Verdict.REPRODUCED, "exact", f"measured {_short(measured)}", **extra)


def _short(value: Any) -> str:
    s = repr(_norm(value))
    return s if len(s) < 200 else s[:200] + "…"


# -- what expected/ states, and the labels every surface shows ------------------------------------

def stated(claim, backend: str) -> Verdict:
    """The verdict ``expected/`` records for the claim in this backend (``Claim.statement``)."""
    block, _ = claim.statement(backend)
    return {"known_nonrepro": Verdict.NOT_REPRODUCED, "undecided": Verdict.UNDECIDED,
            "reproduced": Verdict.REPRODUCED}[block]


def label(verdict: Verdict, stated_verdict: Verdict) -> str:
    """The one spelling of an outcome said against ``expected/``."""
    if verdict is stated_verdict:
        return {Verdict.REPRODUCED: "reproduced", Verdict.NOT_REPRODUCED: "known non-reproduction",
                Verdict.UNDECIDED: "undecided"}[verdict]
    return f"{verdict.value} (expected/ states {stated_verdict.value})"


ERROR = "error"  # a crash: never a verdict
NO_VERDICT = "no verdict yet"  # an expensive claim whose ledger lacks the full runs (its smoke run learned)
UNDECIDED_HERE = "undecided in this run"  # a timing claim this machine's run could not decide
