"""Exact comparisons of a measured value with the documented one (counts, shapes, a measured
time ratio). One function per comparison; each raises AssertionError naming both values. The
questions asked of seeds (``plausible_run``, ``order``, ...) are in ``reprokit.verdict``."""

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
