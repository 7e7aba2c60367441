"""On a CUDA GPU, every model of the five documents computes what it computes on the CPU: the same
weights give the same outputs, loss and gradients through cuDNN's fused kernels (the zero
``bias_hh`` buffer of Keras's form included), in Keras's parametrization and in torch's own.
Skipped where torch sees no GPU, as in CI; run on a lent GPU machine (README "Devices").
That training on the GPU is deterministic is test_determinism's check run with
``REPROKIT_DEVICE=cuda``."""

import numpy as np
import pytest
from test_equivalence import batch

from reprokit import models



@pytest.fixture(scope="module")
def torch():
    """torch, on a machine where it sees a GPU (imported by the first test: collecting imports no framework)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    return torch


# float32 sums in another order (cuDNN's kernels against the CPU's), on the tensor's own scale as in
# test_equivalence: outputs and loss to 1e-5. Gradients sum over up to 500 steps and 4 stacked
# layers; first run on an H200 (2026-11-26, results/gpu/): 71 of the 72 cases within 1e-5, stack4's
# (4 LSTMs, Keras's form) 1.26e-5 off. Gradients to 1e-4.
TOL, TOL_GRADIENT = 1e-5, 1e-4


def _close(a: np.ndarray, b: np.ndarray, tol: float = TOL) -> bool:
    return np.allclose(a, b, rtol=0, atol=tol * max(1.0, float(np.abs(a).max())))


@pytest.mark.parametrize("parametrization", ["keras", "native"])
@pytest.mark.parametrize("name", sorted(models.catalogue()))
def test_the_gpu_computes_what_the_cpu_does(name, parametrization, monkeypatch, torch):
    from reprokit.backends import torch as T
    spec = models.get(name)
    x, y = batch(spec)
    monkeypatch.setattr(T, "DEVICE", torch.device("cpu"))
    model = T.build(spec, 0, parametrization)
    out_cpu = T.forward(model, x)
    loss_cpu, grads_cpu = T.loss_and_gradients(model, spec, x, y)
    monkeypatch.setattr(T, "DEVICE", torch.device("cuda"))
    model.to(T.DEVICE)
    assert {p.device.type for p in model.parameters()} | {b.device.type for b in model.buffers()} == {"cuda"}
    out_gpu = T.forward(model, x)
    loss_gpu, grads_gpu = T.loss_and_gradients(model, spec, x, y)
    assert _close(out_cpu, out_gpu), np.abs(out_cpu - out_gpu).max()
    assert abs(loss_cpu - loss_gpu) <= TOL * max(1.0, abs(loss_cpu))
    worst = [float(np.abs(a - b).max()) for a, b in zip(grads_cpu, grads_gpu) if not _close(a, b, TOL_GRADIENT)]
    assert not worst, worst
