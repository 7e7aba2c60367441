"""Keras's own backends compute the same loss and gradients: the gradients reprokit takes (per
weight, and with respect to the input for the mechanism claim) come from each backend's own
differentiation — TensorFlow's tape, ``jax.grad``, torch autograd — and agree on the same weights.
Where they do not, the difference is measured here (docs/backends.md):

- binary cross-entropy of a sigmoid output: TensorFlow computes it from the logits, JAX and torch
  clip the probability to [1e-7, 1 - 1e-7], so a saturated wrong output has a gradient on
  TensorFlow only;
- RMSprop and Adam on an embedding: TensorFlow squares each occurrence's gradient slice before
  summing (IndexedSlices), JAX and torch square the summed row, so rows of repeated ids move
  differently.

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
        if name == "imdbq.simple5.len30":
            # the head made saturated: logits of +-thousands, some of them on the wrong side
            weights = K.get_weights(model)
            K.set_weights(model, weights[:-2] + [weights[-2] * 1e6, weights[-1]])
            loss, grads = K.loss_and_gradients(model, spec, x, y)
            out["saturated"] = {"loss": loss, "head": float(np.abs(grads[-2]).sum() + np.abs(grads[-1]).sum()),
                                "outputs": K.forward(model, x).ravel().tolist()}
            # one RMSprop step from the same weights on a batch with repeated ids
            K.set_weights(model, weights)
            K.compile(model, spec, "rmsprop", 1e-3)
            model.train_on_batch(x, y)
            out["rmsprop_step"] = {"ids": np.asarray(x).ravel().tolist(),
                                   "weights": [w.ravel().tolist() for w in K.get_weights(model)]}
    print("RESULT" + json.dumps(out))
""")


def _run(backend: str, weights: Path) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "REPROKIT_THREADS": "1"}
    # a torch warning on every gradient of Keras on torch (float() of a loss that requires grad) is an error
    out = subprocess.run([sys.executable, "-W", "error:Converting a tensor with requires_grad:UserWarning", "-c", SCRIPT,
                          str(ROOT), str(weights)], capture_output=True, text=True, env=env, timeout=600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line, out.stdout[-2000:] + out.stderr[-3000:]
    return json.loads(line[len("RESULT"):])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Each Keras backend's measurements from the same weights, run once per session; TensorFlow's
    run first writes the weights the others load."""
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    weights = tmp_path_factory.mktemp("weights")
    found = {"tensorflow": _run("tensorflow", weights)}

    def get(backend: str) -> dict:
        if importlib.util.find_spec(backend) is None:
            pytest.skip(f"{backend} is not installed (pip install -c constraints.txt -e '.[{backend}]')")
        if backend not in found:
            found[backend] = _run(backend, weights)
        return found[backend]
    return get


def _close(a, b, tolerance: float = 1e-5) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return bool(np.max(np.abs(a - b)) <= tolerance * max(1.0, float(np.max(np.abs(a)))))


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_keras_backends_give_tensorflows_gradients(backend, results):
    reference, found = results("tensorflow"), results(backend)
    # the framework under Keras is part of a run's key (its version changes the numbers)
    assert found["env"][backend] and found["env"]["keras_backend"] == backend
    assert reference["env"]["tensorflow"] and backend not in reference["env"]
    for name in ("binadd.lstm3", "index.gru5", "imdbq.simple5.len30"):
        ref = reference[name]
        assert abs(found[name]["loss"] - ref["loss"]) <= 1e-5
        for i, (a, b) in enumerate(zip(ref["grads"], found[name]["grads"])):
            assert _close(a, b), f"{name} weight {i}"
        if "input" in ref:
            assert _close(ref["input"], found[name]["input"]), f"{name} input"


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_binary_crossentropy_of_a_saturated_sigmoid_differs_from_tensorflows(backend, results):
    """TensorFlow: from the logits, so each wrong saturated output keeps its full gradient and a
    loss of |logit|; JAX and torch: the clipped probability, whose gradient is 0 there and whose
    loss is -log(1e-7) = 16.1."""
    ref, found = results("tensorflow")["saturated"], results(backend)["saturated"]
    outputs = np.asarray(ref["outputs"])
    assert np.mean((outputs < 1e-7) | (outputs > 1 - 1e-7)) >= 0.5  # clipped in JAX and torch
    assert ref["loss"] - found["loss"] > 1.0  # TensorFlow: |logit| per wrong output, not 16.1
    assert abs(ref["head"] - found["head"]) > 0.01 * ref["head"]  # and the wrong outputs' gradients
    print(f"{backend}: head gradient {found['head']:.3g} vs TensorFlow's {ref['head']:.3g}; "
          f"loss {found['loss']:.4g} vs {ref['loss']:.4g}")


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_rmsprop_on_an_embedding_differs_from_tensorflows_for_repeated_ids(backend, results):
    """One RMSprop step from the same weights: every dense weight and every row of an id that
    occurs once agree; rows of ids that occur several times do not (TensorFlow squares each
    occurrence's slice, JAX and torch the summed row)."""
    ref, found = results("tensorflow")["rmsprop_step"], results(backend)["rmsprop_step"]
    for i, (a, b) in enumerate(zip(ref["weights"][1:], found["weights"][1:]), 1):
        assert _close(a, b, 1e-6), f"dense weight {i}"
    rows = lambda w: np.asarray(w).reshape(2000, 50)  # noqa: E731
    difference = np.max(np.abs(rows(ref["weights"][0]) - rows(found["weights"][0])), axis=1)
    counts = np.bincount(ref["ids"], minlength=2000)
    assert counts[counts > 0].size > 50 and (counts > 1).sum() > 20
    assert np.max(difference[counts == 1]) <= 1e-6
    assert np.max(difference[counts > 1]) > 1e-5
    print(f"{backend}: rows of repeated ids differ by up to {np.max(difference[counts > 1]):.2e}")


def test_an_xdist_worker_of_a_keras_jax_run_keeps_to_its_own_cores():
    """XLA's CPU pool takes a thread per schedulable core and reads no thread variable, so each
    worker of a keras-jax run is pinned to its share of the cores (``settings.pin_cores``)."""
    cores = sorted(os.sched_getaffinity(0))
    script = "import os; from reprokit import settings; settings.pin_cores(1, 1); print(sorted(os.sched_getaffinity(0)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [cores[1 % len(cores)]]
