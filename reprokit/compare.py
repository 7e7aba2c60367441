"""How a measured value is checked against the documented one. One function per comparison;
each raises AssertionError naming both values. ``COMPARISONS`` is what ``expected/`` may use."""

from __future__ import annotations

import math
from typing import Any, Callable


def _norm(v: Any) -> Any:
    """Tuples and lists compare alike; numpy scalars become Python numbers."""
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            pass
    return v


def _pairs(measured: Any, expected: Any, path: str = ""):
    """Leaves of two equally shaped nested values, with where they are."""
    if isinstance(expected, dict):
        if not isinstance(measured, dict) or set(measured) < set(expected):
            raise AssertionError(f"measured {measured!r} lacks keys of the expected {expected!r}")
        for k in expected:
            yield from _pairs(measured[k], expected[k], f"{path}[{k}]")
    elif isinstance(expected, list):
        if not isinstance(measured, list) or len(measured) != len(expected):
            raise AssertionError(f"measured {measured!r}{path} has another length than the expected {expected!r}")
        for i, (m, e) in enumerate(zip(measured, expected)):
            yield from _pairs(m, e, f"{path}[{i}]")
    else:
        yield path, measured, expected


def equal(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    __tracebackhide__ = True
    m, e = _norm(measured), _norm(expected)
    if m != e:
        raise AssertionError(f"measured {m!r} != documented {e!r}")


def approx(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    __tracebackhide__ = True
    for where, m, e in _pairs(_norm(measured), _norm(expected)):
        if not (isinstance(m, (int, float)) and math.isfinite(m) and abs(m - e) <= tolerance):
            raise AssertionError(f"measured {m!r}{where} is not within ±{tolerance} of documented {e!r}")


def at_least(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    __tracebackhide__ = True
    for where, m, e in _pairs(_norm(measured), _norm(expected)):
        if not m >= e:
            raise AssertionError(f"measured {m!r}{where} is below the documented minimum {e!r}")


def at_most(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    __tracebackhide__ = True
    for where, m, e in _pairs(_norm(measured), _norm(expected)):
        if not m <= e:
            raise AssertionError(f"measured {m!r}{where} is above the documented maximum {e!r}")


def in_range(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    """``expected`` is ``[low, high]``, both included."""
    __tracebackhide__ = True
    m, (lo, hi) = _norm(measured), _norm(expected)
    if not lo <= m <= hi:
        raise AssertionError(f"measured {m!r} lies outside the accepted range [{lo}, {hi}]")


def prefix(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    """The measured sequence or string begins with the documented one (documents print cut lines)."""
    __tracebackhide__ = True
    m, e = _norm(measured), _norm(expected)
    if m[:len(e)] != e:
        raise AssertionError(f"measured {m[:len(e) + 20]!r}… does not begin with documented {e!r}")


COMPARISONS: dict[str, Callable[..., None]] = {
    "equal": equal, "approx": approx, "at_least": at_least, "at_most": at_most,
    "in_range": in_range, "prefix": prefix,
}
NEEDS_TOLERANCE = {"approx"}


def _stat_leaves(measured: Any, expected: Any, path: str = ""):
    """(where, stats, documented value) for each documented value; ``measured`` nests dicts down to
    the seeds' statistics ``{"mean", "sd", "n", ...}``; a documented list is checked elementwise."""
    if isinstance(expected, dict):
        for key, e in expected.items():
            if not isinstance(measured, dict) or key not in measured:
                raise AssertionError(f"nothing measured for {path}{key}")
            yield from _stat_leaves(measured[key], e, f"{path}{key} ")
    elif isinstance(expected, list):
        means, sds = measured["mean"], measured["sd"]
        if not isinstance(means, list) or len(means) != len(expected):
            raise AssertionError(f"{path}: measured {means!r} has another length than documented {expected!r}")
        for i, e in enumerate(expected):
            yield f"{path}[{i}]", {"mean": means[i], "sd": sds[i], "n": measured["n"]}, e
    elif isinstance(measured.get("mean"), list):  # one documented bound for every element
        yield from _stat_leaves(measured, [expected] * len(measured["mean"]), path)
    else:
        yield path.strip(), measured, expected


def _band(stats: dict, tolerance: float) -> float:
    se = stats["sd"] / math.sqrt(stats["n"]) if stats["n"] > 1 else 0.0
    return max(tolerance, 2 * se)


def _show(stats: dict) -> str:
    values = stats.get("values")
    shown = f", values {[round(v, 4) if isinstance(v, float) else v for v in values]}" if values else ""
    return f"mean {stats['mean']:.4f}, sd {stats['sd']:.4f}, n {stats['n']}{shown}"


def mean_within(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    """Seeds' verdict: each documented value lies within the seeds' mean ± max(tolerance, 2
    standard errors)."""
    __tracebackhide__ = True
    bad = []
    for where, stats, value in _stat_leaves(measured, _norm(expected)):
        band = _band(stats, tolerance)
        if not abs(stats["mean"] - value) <= band:
            bad.append(f"{where}: documented {value} lies outside mean {stats['mean']:.4f} ± {band:.4f} "
                       f"({_show(stats) if 'values' in stats else 'sd %.4f' % stats['sd']})")
    if bad:
        raise AssertionError("; ".join(bad))


def mean_at_least(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    """Seeds' verdict for a documented minimum: the seeds' mean is not below it by more than
    max(tolerance, 2 standard errors)."""
    __tracebackhide__ = True
    bad = []
    for where, stats, value in _stat_leaves(measured, _norm(expected)):
        if not stats["mean"] + _band(stats, tolerance) >= value:
            bad.append(f"{where}: mean {stats['mean']:.4f} (sd {stats['sd']:.4f}, n {stats['n']}) is below "
                       f"the documented {value} by more than {_band(stats, tolerance):.4f}")
    if bad:
        raise AssertionError("; ".join(bad))


RELATIONS = {
    ">": "greater, by more than 2 standard errors of the difference",
    "<": "smaller, by more than 2 standard errors of the difference",
    ">=": "not smaller by more than max(tolerance, 2 standard errors of the difference)",
    "!>": "not greater by more than max(tolerance, 2 standard errors of the difference)",
    "~": "equal within the tolerance",
}


def order(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    """Every ``[a, relation, b]`` of ``measured["pairs"]`` holds for the seeds' means of a and b,
    judged against the noise of their difference (``RELATIONS``)."""
    __tracebackhide__ = True
    tol = tolerance or 0.0
    bad = []
    for a, rel, b in measured["pairs"]:
        sa, sb = measured["stats"][a], measured["stats"][b]
        diff = sa["mean"] - sb["mean"]
        se = math.sqrt((sa["sd"] ** 2 / sa["n"] if sa["n"] > 1 else 0) + (sb["sd"] ** 2 / sb["n"] if sb["n"] > 1 else 0))
        ok = {">": diff > 2 * se, "<": diff < -2 * se, ">=": diff >= -max(tol, 2 * se),
              "!>": diff <= max(tol, 2 * se), "~": abs(diff) <= tol}[rel]
        if not ok:
            bad.append(f"{a} {rel} {b} fails: {a} {_show(sa)}; {b} {_show(sb)}; difference {diff:+.4f}, "
                       f"2 SE {2 * se:.4f}")
    if bad:
        raise AssertionError("; ".join(bad))


def ratio_in_range(measured: Any, expected: Any, tolerance: float | None = None) -> None:
    """Each named time ratio's median over the rounds lies in its accepted ``[low, high]``; or,
    given ``{stat: [low, high]}``, that statistic does (``q1`` above 1: slower in 3 of 4 rounds)."""
    __tracebackhide__ = True
    bad = []
    for name, rng in _norm(expected).items():
        stat, (lo, hi) = next(iter(rng.items())) if isinstance(rng, dict) else ("median", rng)
        r = measured[name]
        if not lo <= r[stat] <= hi:
            bad.append(f"{name}: {stat} of the ratio {r[stat]:.3f}, median {r['median']:.3f} (q1 {r['q1']:.3f}, q3 {r['q3']:.3f}; "
                       f"{r['a_ms']:.2f} ms vs {r['b_ms']:.2f} ms per step) outside [{lo}, {hi}]")
    if bad:
        raise AssertionError("; ".join(bad))


COMPARISONS.update(ratio_in_range=ratio_in_range, mean_within=mean_within, mean_at_least=mean_at_least, order=order)
NEEDS_TOLERANCE.update({"mean_within", "mean_at_least"})
