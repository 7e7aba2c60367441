"""For every model of the five documents, Keras and the native PyTorch build are the same
function: weights moved Keras -> torch and back give the same outputs (1e-5) on real IMDB/MNIST
batches, and the same loss and gradients of a training step."""

import numpy as np
import pytest

from reprokit import models
from reprokit.backends import load
from reprokit.data import imdb, mnist, synthetic
from reprokit.data.sequences import pad_sequences

TOL = 1e-5


@pytest.fixture(scope="module")
def kt():
    """The Keras and torch backends, loaded by the first test (collection imports no framework)."""
    return load("keras"), load("torch")


def batch(spec: models.Model, n: int = 16):
    """A real batch for the model: IMDB reviews padded as its document pads, MNIST rows, or the
    synthetic task's own data."""
    rng = np.random.default_rng(0)
    if spec.name.startswith("imdbq"):
        (x, y), _ = imdb.load(num_words=2000)
        return pad_sequences(x[:n], spec.steps, padding="post", truncating="post"), y[:n].astype("float32")
    if spec.tokens:
        (x, y), _ = imdb.load(num_words=10000)
        return pad_sequences(x[:n], spec.steps or 500), y[:n].astype("float32")
    if spec.name.startswith("mnist"):
        (x, y), _ = mnist.load()
        return mnist.rows(x[:n]), y[:n].astype("int64")
    if spec.name.startswith("index"):
        seqs, y = synthetic.index_task(n, 3, rng, min_len=7, max_len=7)  # one length: one batch
        return synthetic.one_hot(np.stack(seqs)), y
    x, y = synthetic.binary_addition(n, 6, rng)
    return x, y[..., None]


def close(a, b):
    return np.allclose(a, b, rtol=0, atol=TOL)


def close_grad(a, b):
    """1e-5 on the tensor's own scale: float32 carries ~7 digits, so a gradient of 20 cannot
    agree to 1e-5 absolute after two different kernels sum 200 steps (seen: 1.5e-5 at 19.9)."""
    return np.allclose(a, b, rtol=0, atol=TOL * max(1.0, float(np.abs(a).max())))


@pytest.mark.parametrize("name", sorted(models.catalogue()))
def test_keras_and_torch_compute_the_same(kt, name):
    K, T = kt
    spec = models.get(name)
    x, y = batch(spec)
    km, tm = K.build(spec, seed=1), T.build(spec, seed=2)
    assert K.param_counts(km) == T.param_counts(tm)
    assert K.output_shapes(km) == T.output_shapes(tm)

    # Keras -> torch
    T.set_weights(tm, K.get_weights(km))
    assert all(np.array_equal(a, b) for a, b in zip(K.get_weights(km), T.get_weights(tm)))
    out_k, out_t = K.forward(km, x), T.forward(tm, x)
    assert out_k.shape == out_t.shape and close(out_k, out_t), np.abs(out_k - out_t).max()
    if not isinstance(spec.layers[-1], models.Dense):  # no head (a summary's model): MSE towards zero
        y = np.zeros_like(out_k)
    loss_k, grads_k = K.loss_and_gradients(km, spec, x, y)
    loss_t, grads_t = T.loss_and_gradients(tm, spec, x, y)
    assert abs(loss_k - loss_t) <= TOL
    assert len(grads_k) == len(grads_t)
    for gk, gt in zip(grads_k, grads_t):
        assert gk.shape == gt.shape and close_grad(gk, gt), np.abs(gk - gt).max()

    # torch -> Keras, after the torch model has taken one SGD step of its own
    T.compile(tm, spec, "sgd", 0.1)
    T.train_step(tm, x, y)
    back = K.build(spec, seed=3)
    K.set_weights(back, T.get_weights(tm))
    assert close(K.forward(back, x), T.forward(tm, x))


@pytest.mark.parametrize("name", ["imdbq.simple5.len30", "mnist.lstm128", "mnist.gru128", "stack4"])
def test_native_parametrization_computes_the_same_too(kt, name):
    """Keras weights loaded into torch's own form (second bias zero) give Keras's outputs."""
    K, T = kt
    spec = models.get(name)
    x, _ = batch(spec, 8)
    km, tm = K.build(spec, seed=1), T.build(spec, seed=2, parametrization="native")
    T.set_weights(tm, K.get_weights(km))
    assert close(K.forward(km, x), T.forward(tm, x))


def test_keras_form_counts_one_bias_native_two(kt):
    _, T = kt
    spec = models.get("imdbq.simple5.len30")
    assert T.param_counts(T.build(spec))[1] == 280
    assert T.param_counts(T.build(spec, parametrization="native"))[1] == 285
