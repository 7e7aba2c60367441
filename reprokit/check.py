"""Deciding one claim in one backend."""

from __future__ import annotations

from typing import Any

from reprokit.claims import Claim
from reprokit.compare import COMPARISONS, equal
from reprokit.measures import MEASURES


def verify(claim: Claim, backend: str) -> Any:
    __tracebackhide__ = True
    measured = MEASURES[claim.measure](backend, **claim.args)
    expected = claim.expected_for(backend)
    try:
        COMPARISONS[claim.compare](measured, expected, claim.tolerance)
    except AssertionError as exc:
        raise AssertionError(f"{claim.id} [{backend}] does not reproduce: {exc}\n"
                             f"  document {claim.document}: {claim.quote!r}") from None
    if claim.torch_native is not None and backend == "torch":
        native = MEASURES[claim.measure](backend, parametrization="native", **claim.args)
        try:
            equal(native, claim.torch_native.expected)
        except AssertionError as exc:
            raise AssertionError(f"{claim.id} [torch, native parametrization]: {exc} "
                                 f"({claim.torch_native.why})") from None
    return measured
