"""The torch backend's binary cross-entropy in each framework's formula (``torch.binary_crossentropy``).

A document written for Keras gets Keras on TensorFlow's: the loss of a sigmoid output computed
from its logits, so a saturated wrong output keeps its gradient (an earlier port clipped the
probability, as Keras on JAX and torch do, and had none: for logit 30 and label 0 TensorFlow's
gradient is 1.0, the clipped one 0). A document written for torch gets torch's own
``binary_cross_entropy``, whose logs are bounded at -100.
"""

import numpy as np
import pytest

from reprokit import models


@pytest.fixture(scope="module")
def kt(keras_tf_and_torch):
    return keras_tf_and_torch


@pytest.mark.parametrize("scale", [1.0, 1e6], ids=["moderate", "saturated"])
def test_ported_binary_crossentropy_is_keras_on_tensorflow(kt, scale):
    """Loss and every weight's gradient, from the same weights; ``saturated``: the head's kernel
    scaled so that most logits are beyond +-17, some on the wrong side."""
    from test_equivalence import batch
    K, T = kt
    spec = models.get("imdbq.simple5.len30")
    x, y = batch(spec, 16)
    km = K.build(spec, seed=3)
    weights = K.get_weights(km)
    weights[-2] = weights[-2] * scale
    K.set_weights(km, weights)
    tm = T.build(spec, seed=4)
    T.set_weights(tm, weights)
    outputs = K.forward(km, x)
    if scale > 1:
        assert np.mean((outputs < 1e-7) | (outputs > 1 - 1e-7)) >= 0.5, "most outputs saturated"
    k_loss, k_grads = K.loss_and_gradients(km, spec, x, y)
    t_loss, t_grads = T.loss_and_gradients(tm, spec, x, y)
    assert abs(k_loss - t_loss) <= 1e-5 * max(1.0, abs(k_loss))
    if scale > 1:
        assert k_loss > 17  # some outputs are wrong: their loss is |logit|, not -log(1e-7) = 16.1
        assert np.abs(k_grads[-1]).sum() > 0.01  # and their gradient is kept
    for i, (a, b) in enumerate(zip(k_grads, t_grads)):
        assert np.max(np.abs(a - b)) <= 1e-5 * max(1.0, float(np.max(np.abs(a)))), f"weight {i}"


def test_logit_30_label_0_has_gradient_1_in_keras_formula_and_torch_bounds_its_log():
    torch = pytest.importorskip("torch")
    from reprokit.backends import torch as T
    z = torch.tensor([30.0, -30.0, 0.5], requires_grad=True)
    y = torch.tensor([0.0, 1.0, 1.0])
    T.binary_crossentropy(T.ACTIVATIONS["sigmoid"](z), y).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [1.0, -1.0, torch.sigmoid(torch.tensor(0.5)).item() - 1], rtol=1e-6)
    p = torch.tensor([1.0, 0.0, 0.7])
    torch_form = T.binary_crossentropy(p, y, "torch")
    np.testing.assert_allclose(torch_form.numpy(), [100.0, 100.0, -np.log(0.7)], rtol=1e-6)
    np.testing.assert_allclose(torch_form.numpy(), torch.nn.functional.binary_cross_entropy(p, y, reduction="none"))


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_a_training_step_takes_the_formula_of_the_framework_it_was_compiled_for(framework):
    """``compile(framework=...)`` is how ``timing.ratios`` times a torch document's own loss: a
    saturated wrong output's step loss is |logit| in Keras's formula, 100 (torch's bound) in torch's."""
    torch = pytest.importorskip("torch")
    from reprokit.backends import torch as T
    spec = models.get("binadd.lstm3")
    model = T.build(spec, 0, "native")
    with torch.no_grad():  # every output saturated: the head's logits are -1000 for any input
        head = model.layers[-1]
        for p in head.parameters():
            p.zero_()
        next(p for name, p in head.named_parameters() if name.endswith("bias")).fill_(-1000.0)
    T.compile(model, spec, "sgd", 0.0, framework=framework)
    x = np.zeros((2, 4, spec.features), "float32")
    loss = T.train_step(model, x, np.ones((2, 4, 1), "float32"))
    assert loss == pytest.approx({"keras": 1000.0, "torch": 100.0}[framework], rel=1e-5)
