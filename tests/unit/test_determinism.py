"""The same seed gives identical results: two fresh processes train the same runs (a GRU adder and
an embedding + SimpleRNN classifier, on reduced data) and record the same numbers to the last bit,
in native PyTorch and in Keras on TensorFlow (op determinism on, as reprokit's Keras backend sets it)."""

from __future__ import annotations

import os
import textwrap

import pytest
from fresh_process import run_json

SCRIPT = textwrap.dedent("""
    import dataclasses, json, sys
    from reprokit import experiments
    out = {}
    for name, samples, seed in (("binadd.h3.l3.ce", 3000, 0), ("imdbq.adam5", 2000, 0), ("binadd.h3.l3.ce", 3000, 1)):
        e = experiments.get(name)
        e = dataclasses.replace(e, data=dataclasses.replace(e.data, train_samples=samples), epochs=2)
        r = experiments.train(e, sys.argv[1], seed)
        out[f"{name}/seed{seed}"] = {k: v for k, v in r.items() if k not in ("wall_s", "epoch_s")}  # times differ
    print("RESULT" + json.dumps(out))
""")


def _train(backend: str) -> dict:
    return run_json(SCRIPT, backend)


@pytest.mark.parametrize("backend", ["torch", "keras"])
def test_same_seed_same_numbers_in_fresh_processes(backend):
    pytest.importorskip({"torch": "torch", "keras": "keras"}[backend])
    if not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the IMDB data: set REPROKIT_DATA_DIR")
    first, second = _train(backend), _train(backend)  # two fresh processes, the same runs
    assert first == second
    assert first["imdbq.adam5/seed0"]["history"]["loss"][0] > 0  # it trained
    assert first["binadd.h3.l3.ce/seed1"]["history"] != first["binadd.h3.l3.ce/seed0"]["history"]  # the seed matters
