"""Deciding one claim in one backend.

In the full profile (and in the quick profile for claims whose runs are cheap) a claim is decided
by measuring it: a *verdict*. In the quick profile a claim reading an expensive experiment is a
*smoke* check instead: a reduced run of each such experiment must learn, and the ledger's recorded
full runs (``results/``) must still give the verdict ``expected/`` states.
"""

from __future__ import annotations

from typing import Any

from reprokit import measures
from reprokit.claims import Claim, _family
from reprokit.compare import COMPARISONS, equal
from reprokit.measures import MEASURES


def mode(claim: Claim, profile: str) -> str:
    """``"verdict"`` or ``"smoke"``."""
    if profile != "quick" or not claim.experiments:
        return "verdict"
    from reprokit.experiments import get
    return "smoke" if any(get(name).smoke for name in claim.experiments) else "verdict"


def _compare(claim: Claim, backend: str, measured: Any) -> None:
    __tracebackhide__ = True
    try:
        COMPARISONS[claim.compare](measured, claim.expected_for(backend), claim.tolerance)
    except AssertionError as exc:
        shown = repr(measured)
        raise AssertionError(f"{claim.id} [{backend}] does not reproduce: {exc}\n"
                             f"  measured: {shown if len(shown) < 600 else shown[:600] + '...'}\n"
                             f"  document {claim.document}: {claim.quote!r}") from None


def verify(claim: Claim, backend: str) -> Any:
    __tracebackhide__ = True
    from reprokit import settings
    if mode(claim, settings.PROFILE) == "smoke":
        return smoke(claim, backend)
    measured = MEASURES[claim.measure](backend, **claim.args)
    _compare(claim, backend, measured)
    if claim.torch_native is not None and backend == "torch":
        native = MEASURES[claim.measure](backend, parametrization="native", **claim.args)
        try:
            equal(native, claim.torch_native.expected)
        except AssertionError as exc:
            raise AssertionError(f"{claim.id} [torch, native parametrization]: {exc} "
                                 f"({claim.torch_native.why})") from None
    return measured


def smoke(claim: Claim, backend: str) -> dict:
    """The quick profile's check of an expensive claim: smoke runs learn; the ledger agrees."""
    __tracebackhide__ = True
    from reprokit import experiments, ledger, settings
    out: dict[str, Any] = {"smoke": {}}
    for name in claim.experiments:
        exp = experiments.get(name)
        if exp.smoke is None:
            continue
        tried = []
        for seed in range(3):  # the first seed that learns passes (see experiments.Smoke)
            tried.append(experiments.run(name, backend, seed, smoke=True)["test"]["accuracy"])
            if tried[-1] >= exp.smoke.min_accuracy:
                break
        out["smoke"][name] = tried
        if tried[-1] < exp.smoke.min_accuracy:
            raise AssertionError(f"{claim.id} [{backend}]: the smoke run of {name} ({exp.smoke.epochs} epoch(s), reduced "
                                 f"budget) did not learn: test accuracy {[round(a, 4) for a in tried]} for seeds 0-2, "
                                 f"all below {exp.smoke.min_accuracy} (chance {exp.smoke.chance})")
    seeds = list(range(settings.DEFAULT_SEEDS["full"]))
    recorded, problems = {}, []
    for name in claim.experiments:
        found, missing = ledger.results(experiments.get(name), backend, seeds)
        recorded[name], problems = found, problems + missing
    if problems:
        out["ledger"] = "pending: " + ", ".join(problems)
        return out
    measures.RUNS = lambda name, _backend: recorded[name]
    try:
        measured = MEASURES[claim.measure](backend, **claim.args)
    finally:
        measures.RUNS = None
    try:
        _compare(claim, backend, measured)
        verdict = "reproduced"
    except AssertionError as exc:
        verdict, why = "known non-reproduction", str(exc)
    stated = "known non-reproduction" if _family(backend) in claim.known_nonrepro else "reproduced"
    if verdict != stated:
        detail = f": {why}" if verdict != "reproduced" else f" (measured {measured!r})"
        raise AssertionError(f"{claim.id} [{backend}]: the ledger's full runs give '{verdict}' but expected/ "
                             f"states '{stated}'; update expected/ or rerun the full profile{detail}")
    out["ledger"] = verdict
    return out
