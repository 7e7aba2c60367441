"""reprokit: claims of notebooks and reports about recurrent networks, as pytest tests run in
Keras and in PyTorch. Importing reprokit imports neither TensorFlow nor torch."""

from __future__ import annotations

from typing import Callable

__version__ = "0.1.0"


def claim_test(fn: Callable) -> Callable:
    """Mark a test function ``(claim, backend)`` to be run once per claim of ``expected/`` and
    per selected backend; the plugin names each ``<claim id>[<backend>]``."""
    fn.__reprokit_claims__ = True
    return fn


def verify(claim, backend: str, outcome) -> None:
    """Compare a claim's ``outcome`` (the ``outcome`` fixture: measured and judged) with the
    verdict ``expected/`` states; raises with the numbers that decided it where they differ."""
    __tracebackhide__ = True
    from reprokit.check import verify as _verify
    _verify(claim, backend, outcome)
