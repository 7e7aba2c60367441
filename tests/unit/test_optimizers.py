"""The torch backend's ports of Keras's RMSprop and Adam (``torch.KERAS_OPTIMIZERS``) against Keras
itself on TensorFlow, step by step, from the same weights on the same batch.

Where every weight's gradient is dense they agree to float32 rounding. An embedding's gradient
is not: on TensorFlow it reaches the optimizer as ``IndexedSlices``, one slice per occurrence of
an id, and Keras's ``ops.square`` squares the slices before they are summed, so a row whose id
occurs k times gets ``sum_i g_i**2`` in its second moment where the port (like Keras on JAX and on
torch, which see a dense gradient) gets ``(sum_i g_i)**2``. Measured below: the rows whose id
occurs once agree, the rows of repeated ids do not.
"""

import numpy as np
import pytest

from reprokit import models

TOL = 1e-6
STEPS = 5


@pytest.fixture(scope="module")
def kt(keras_tf_and_torch):
    return keras_tf_and_torch


def _train(kt, name: str, optimizer: str, lr: float, x, y, steps: int):
    """Keras's weights and the port's after ``steps`` steps from the same start."""
    K, T = kt
    spec = models.get(name)
    km = K.build(spec, seed=1)
    K.compile(km, spec, optimizer, lr)
    tm = T.build(spec, seed=2)
    T.set_weights(tm, K.get_weights(km))
    opt = T.KERAS_OPTIMIZERS[optimizer](tm.parameters(), lr=lr)
    start = K.get_weights(km)
    for _ in range(steps):
        km.train_on_batch(x, y)
        tm.train()
        opt.zero_grad()
        T._loss(tm, x, y).backward()
        opt.step()
    return start, K.get_weights(km), T.get_weights(tm)


def _relative(a, b):
    return np.abs(a - b) / np.maximum(1.0, np.abs(a))


@pytest.mark.parametrize("optimizer,lr", [("rmsprop", 1e-3), ("adam", 1e-2)])
@pytest.mark.parametrize("name", ["binadd.lstm5", "index.gru5"])
def test_ported_optimizer_follows_keras_on_dense_gradients(kt, name, optimizer, lr):
    from test_equivalence import batch
    x, y = batch(models.get(name), 32)
    start, keras_w, torch_w = _train(kt, name, optimizer, lr, x, y, STEPS)
    for i, (a, b, s) in enumerate(zip(keras_w, torch_w, start)):
        assert np.max(np.abs(a - s)) > 100 * TOL, f"weight {i} did not move: the comparison would be empty"
        assert np.max(_relative(a, b)) <= TOL, f"{name} {optimizer} weight {i}: {np.max(_relative(a, b)):.2e}"


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_embedding_rows_of_repeated_ids_differ_on_tensorflow(kt, optimizer):
    """One step on real IMDB batches: every dense weight and every row of an id that occurs once
    agree; the rows of ids that occur several times differ (TensorFlow's per-occurrence squares)."""
    from test_equivalence import batch
    x, y = batch(models.get("imdbq.simple5.len30"), 32)
    start, keras_w, torch_w = _train(kt, "imdbq.simple5.len30", optimizer, 1e-3, x, y, 1)
    for i in range(1, len(keras_w)):
        assert np.max(_relative(keras_w[i], torch_w[i])) <= TOL, f"dense weight {i}"
    counts = np.bincount(np.asarray(x).ravel(), minlength=keras_w[0].shape[0])
    row_diff = np.max(_relative(keras_w[0], torch_w[0]), axis=1)
    once, repeated = counts == 1, counts > 1
    assert once.sum() > 50 and repeated.sum() > 50
    assert np.max(row_diff[once]) <= TOL
    # not rounding: another update (how much depends on how unequal the occurrences' gradients are)
    assert np.max(row_diff[repeated]) > 30 * TOL
    print(f"{optimizer}: repeated rows beyond {TOL}: {np.mean(row_diff[repeated] > TOL):.0%}, "
          f"largest {np.max(row_diff[repeated]):.1e}")
    assert np.mean(row_diff[repeated] > TOL) > 0.25
    assert np.max(row_diff[counts == 0]) == 0.0  # untouched rows stay put in both
