"""A document added in YAML alone runs in every backend with no change to Python.

``examples/chollet-rnn`` is the SimpleRNN part of a public notebook (Deep Learning with Python,
6.2), written as a user would: the document's text and one file declaring its claims, its four
models (new architectures) and its training recipe (a new one: RMSprop, 10 epochs, batch 128,
validation split 0.2, length 500). Each backend runs its claims in its own pytest process, as a
user runs them (`--expected`), with an empty ledger: the exact claims reproduce and the training
claims pass their smoke run, the verdict waiting for full runs. The equivalence test, pointed at
the same folder, covers its models without being told about them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "chollet-rnn"
NEEDS = {"keras,torch": ("keras", "tensorflow", "torch"), "keras-torch": ("keras", "torch"),
         "keras-jax": ("keras", "jax")}  # a Keras backend is fixed per process: one pytest run each


def _pytest(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    if not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the IMDB data: set REPROKIT_DATA_DIR")
    # a session of its own: no xdist worker's variables, and each backend picks its Keras backend
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST") and k != "KERAS_BACKEND"}
    clean.update(REPROKIT_DOCUMENTS_DIR=str(EXAMPLE / "documents"), REPROKIT_CACHE_DIR=str(tmp_path / "cache"),
                 REPROKIT_RESULTS_DIR=str(tmp_path / "results"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", *args],
                          cwd=ROOT, env=clean, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("backends", list(NEEDS))
def test_a_yaml_only_document_runs_in_every_backend(backends, tmp_path):
    for module in NEEDS[backends]:
        pytest.importorskip(module)
    out = _pytest(["tests/test_claims.py", "--expected", str(EXAMPLE / "expected"), "--reprokit-backend", backends],
                  tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    for backend in backends.split(","):
        assert f"{backend}: 5 reproduced, 2 no verdict yet" in out.stdout, out.stdout[-2000:]


def test_the_equivalence_test_covers_a_new_documents_models(monkeypatch):
    """test_equivalence is parametrized by the declared catalogue: pointed at the example's folder,
    it holds the example's four models, and each passes it."""
    for module in ("keras", "tensorflow", "torch"):
        pytest.importorskip(module)
    if not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the IMDB data: set REPROKIT_DATA_DIR")
    import test_equivalence

    from reprokit import models, settings
    from reprokit.backends import load
    monkeypatch.setattr(settings, "EXPECTED_DIR", EXAMPLE / "expected")
    names = sorted(models.catalogue())
    assert names == ["chollet.embedding_rnn", "chollet.embedding_rnn4", "chollet.embedding_rnn_sequences",
                     "chollet.simple_rnn"]
    backends = (load("keras"), load("torch"))
    for name in names:
        test_equivalence.test_keras_and_torch_compute_the_same(backends, name)
