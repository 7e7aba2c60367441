"""Every claim of ``expected/`` in every selected backend; the reprokit plugin generates one
test per claim and backend, named ``<claim id>[<backend>]``. The ``outcome`` fixture measures and
judges the claim (an exception there is an error, not a verdict); the test compares the verdict
with the one ``expected/`` states."""

import reprokit


@reprokit.claim_test
def test_claim(claim, backend, outcome):
    reprokit.verify(claim, backend, outcome)
