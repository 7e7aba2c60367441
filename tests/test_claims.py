"""Every claim of ``expected/`` in every selected backend; the reprokit plugin generates one
test per claim and backend, named ``<claim id>[<backend>]``."""

import json

import reprokit


@reprokit.claim_test
def test_claim(claim, backend, record_property):
    measured = reprokit.verify(claim, backend)
    record_property("measured", json.dumps(measured, default=repr))
