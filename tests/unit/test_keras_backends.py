"""Keras's own backends compute the same loss and gradients: the gradients reprokit takes (per
weight, and with respect to the input for the mechanism claim) come from each backend's own
differentiation — TensorFlow's tape, ``jax.grad``, torch autograd — and agree on the same weights.
Each backend runs in its own process (Keras fixes its backend per process)."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    sys.path.insert(0, os.path.join(sys.argv[1], "tests", "unit"))
    import keras
    from test_equivalence import batch
    from reprokit import models
    from reprokit.backends import load
    from reprokit import experiments
    backend = {"tensorflow": "keras", "jax": "keras-jax", "torch": "keras-torch"}[keras.backend.backend()]
    K = load(backend)
    out = {"env": experiments.environment(backend)}
    for name in ("binadd.lstm3", "index.gru5", "imdbq.simple5.len30"):
        spec = models.get(name)
        x, y = batch(spec, 8)
        model = K.build(spec, seed=1)
        saved = os.path.join(sys.argv[2], name + ".npz")
        if os.path.exists(saved):  # the same weights in every backend
            with np.load(saved) as f:
                K.set_weights(model, [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))])
        else:
            np.savez(saved, *K.get_weights(model))
        loss, grads = K.loss_and_gradients(model, spec, x, y)
        out[name] = {"loss": loss, "grads": [g.ravel().tolist() for g in grads]}
        if not spec.tokens:
            out[name]["input"] = K.input_gradients(model, spec, x, y).ravel().tolist()
    print("RESULT" + json.dumps(out))
""")


def _run(backend: str, weights: Path) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "REPROKIT_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT), str(weights)], capture_output=True, text=True,
                         env=env, timeout=600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line, out.stdout[-2000:] + out.stderr[-3000:]
    return json.loads(line[len("RESULT"):])


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_keras_backends_give_tensorflows_gradients(backend, tmp_path):
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -c constraints.txt -e '.[{backend}]')")
    reference = _run("tensorflow", tmp_path)  # writes the weights the other backend loads
    found = _run(backend, tmp_path)
    # the framework under Keras is part of a run's key (its version changes the numbers)
    assert found["env"][backend] and found["env"]["keras_backend"] == backend
    assert reference["env"]["tensorflow"] and backend not in reference["env"]
    reference.pop("env")
    for name, ref in reference.items():
        assert abs(found[name]["loss"] - ref["loss"]) <= 1e-5
        for i, (a, b) in enumerate(zip(ref["grads"], found[name]["grads"])):
            a, b = np.asarray(a), np.asarray(b)
            assert np.max(np.abs(a - b)) <= 1e-5 * max(1.0, float(np.max(np.abs(a)))), f"{name} weight {i}"
        if "input" in ref:
            a, b = np.asarray(ref["input"]), np.asarray(found[name]["input"])
            assert np.max(np.abs(a - b)) <= 1e-5 * max(1.0, float(np.max(np.abs(a)))), f"{name} input"
