"""The same seed gives identical results: two fresh processes train the same runs (a GRU adder and
an embedding + SimpleRNN classifier, on reduced data) and record the same numbers to the last bit,
in native PyTorch and in Keras on TensorFlow (op determinism on, as reprokit's Keras backend sets it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import dataclasses, json, sys
    from reprokit import experiments
    out = {}
    for name, samples in (("binadd.h3.l3.ce", 3000), ("imdbq.adam5", 2000)):
        e = experiments.get(name)
        e = dataclasses.replace(e, data=dataclasses.replace(e.data, train_samples=samples), epochs=2)
        r = experiments.train(e, sys.argv[1], int(sys.argv[2]))
        out[name] = {k: v for k, v in r.items() if k not in ("wall_s", "epoch_s")}  # times differ, numbers must not
    print("RESULT" + json.dumps(out))
""")


def _train(backend: str, seed: int) -> dict:
    env = {**os.environ, "REPROKIT_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, backend, str(seed)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


@pytest.mark.parametrize("backend", ["torch", "keras"])
def test_same_seed_same_numbers_in_fresh_processes(backend):
    pytest.importorskip({"torch": "torch", "keras": "keras"}[backend])
    if not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the IMDB data: set REPROKIT_DATA_DIR")
    first, second = _train(backend, 0), _train(backend, 0)
    assert first == second
    assert first["imdbq.adam5"]["history"]["loss"][0] > 0  # it trained
    other = _train(backend, 1)
    assert other["binadd.h3.l3.ce"]["history"] != first["binadd.h3.l3.ce"]["history"]  # the seed matters
