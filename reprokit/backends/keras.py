"""Keras 3 builder and the operations claims need, on whichever Keras backend this process runs."""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up banner out of test output

from reprokit import settings  # noqa: E402
from reprokit.errors import ReprokitError  # noqa: E402

DEVICE = settings.device()  # cpu, cuda or cuda:N: every Keras tensor and variable of this process
os.environ.setdefault("KERAS_TORCH_DEVICE", DEVICE)  # Keras on torch reads its device at import
if DEVICE != "cpu" and settings.env_flag("REPROKIT_DETERMINISTIC", True):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from reprokit import models as m  # noqa: E402
from reprokit import progress  # noqa: E402


def _place(device: str) -> None:
    """Make ``device`` the only accelerator Keras's backend uses (none for cpu), before its first op.
    On a machine without one this changes nothing: the CPU numbers stay the recorded ones."""
    index, backend = int(device.partition(":")[2] or 0), keras.backend.backend()
    found: list = []
    if backend == "tensorflow":
        import tensorflow as tf
        found = tf.config.list_physical_devices("GPU")
        if found:
            tf.config.set_visible_devices([] if device == "cpu" else found[index:index + 1], "GPU")
    elif backend == "jax":
        import jax
        try:
            found = jax.devices("gpu")
        except RuntimeError:  # no GPU platform
            found = []
        if found and device != "cpu" and index < len(found):
            jax.config.update("jax_default_device", found[index])
    elif backend == "torch":
        import torch
        found = list(range(torch.cuda.device_count()))
    if device != "cpu" and index >= len(found):
        raise ReprokitError(f"device {device}: Keras on {backend} sees {len(found)} GPUs here; run on a machine "
                            f"with one and the framework's GPU build (extra gpu), or on cpu")
    if device != "cpu":  # the recipes are float32: no TensorFloat-32 (10 mantissa bits) in matrix products
        if backend == "tensorflow":
            tf.config.experimental.enable_tensor_float_32_execution(False)
        elif backend == "jax":
            jax.config.update("jax_default_matmul_precision", "highest")
        elif backend == "torch":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False


_place(DEVICE)

if keras.backend.backend() == "tensorflow" and settings.env_flag("REPROKIT_DETERMINISTIC", True):
    # Same seed, same numbers: TensorFlow picks deterministic kernels (or raises where it has none).
    # Measured on this CPU: identical results and no slower; on a GPU it costs speed.
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()

CELLS = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def _layer(spec: m.Layer) -> keras.layers.Layer:
    if isinstance(spec, m.Embedding):
        return keras.layers.Embedding(spec.input_dim, spec.output_dim)
    if isinstance(spec, m.Recurrent):
        kw = {}
        if spec.kernel_stddev is not None:
            kw["kernel_initializer"] = keras.initializers.RandomNormal(stddev=spec.kernel_stddev)
        if spec.l2:
            kw["kernel_regularizer"] = keras.regularizers.L2(spec.l2)
            kw["recurrent_regularizer"] = keras.regularizers.L2(spec.l2)
        core = CELLS[spec.cell](spec.units, return_sequences=spec.return_sequences, **kw)
        return keras.layers.Bidirectional(core) if spec.bidirectional else core
    if isinstance(spec, m.Conv1D):
        return keras.layers.Conv1D(spec.filters, spec.kernel_size, activation=spec.activation)
    if isinstance(spec, m.MaxPooling1D):
        return keras.layers.MaxPooling1D(spec.pool_size)
    if isinstance(spec, m.Dense):
        reg = keras.regularizers.L2(spec.l2) if spec.l2 else None
        return keras.layers.Dense(spec.units, activation=spec.activation, kernel_regularizer=reg)
    raise TypeError(f"no Keras layer for {spec!r}")


def build(spec: m.Model, seed: int = 0) -> keras.Model:
    """A built ``keras.Sequential`` for ``spec``, its initial weights drawn from ``seed``."""
    keras.utils.set_random_seed(seed)
    shape = (spec.steps,) if spec.tokens else (spec.steps, spec.features)
    dtype = "int32" if spec.tokens else "float32"
    return keras.Sequential([keras.Input(shape=shape, dtype=dtype), *map(_layer, spec.layers)],
                            name=spec.name.replace(".", "_"))


def param_counts(model: keras.Model) -> list[int]:
    """Parameters per layer, as ``model.summary()`` shows them."""
    return [layer.count_params() for layer in model.layers]


def output_shapes(model: keras.Model) -> list[tuple]:
    """Symbolic output shape per layer, ``None`` for batch and variable dimensions."""
    return [tuple(layer.output.shape) for layer in model.layers]


def get_weights(model: keras.Model) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.get_weights()]


def set_weights(model: keras.Model, weights: list[np.ndarray]) -> None:
    model.set_weights(weights)


def forward(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """One eager call: for the measures, which feed inputs of many shapes."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The forward pass as Keras runs it in ``predict``: one compiled call (a ``tf.function``, or
    ``jax.jit``), which is what the benchmarks time. An eager ``model(x)`` pays Python's per-layer,
    per-step dispatch: on the adder, 18.8 ms against a 3.4 ms training step."""
    return np.asarray(model.predict_on_batch(x))


def _loss(spec: m.Model, loss: str | None = None):
    """The training loss: ``loss`` where an experiment names one, else the one the head implies."""
    return {"binary_crossentropy": keras.losses.BinaryCrossentropy(),
            "nll": lambda y, p: -keras.ops.mean(keras.ops.take_along_axis(
                p, keras.ops.expand_dims(keras.ops.cast(y, "int32"), -1), axis=-1)),
            "mse": keras.losses.MeanSquaredError()}[loss or spec.loss]


def loss_and_gradients(model: keras.Model, spec: m.Model, x: np.ndarray, y: np.ndarray
                       ) -> tuple[float, list[np.ndarray]]:
    """The loss (with regularization penalties) of one batch and its gradient per weight, by the
    running Keras backend's own differentiation (TensorFlow's tape, ``jax.grad``, torch autograd)."""
    loss, grads, _ = _differentiate(model, spec, x, y, wrt_input=False)
    return loss, grads


def _differentiate(model: keras.Model, spec: m.Model, x: np.ndarray, y: np.ndarray, wrt_input: bool
                   ) -> tuple[float, list[np.ndarray], np.ndarray | None]:
    """(loss, gradient per trainable weight, gradient with respect to the input ``x`` or None)."""
    loss_fn, backend = _loss(spec), keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            if wrt_input:
                tape.watch(xt)
            loss = loss_fn(y, model(xt, training=True)) + sum(model.losses)
        grads = tape.gradient(loss, [*model.trainable_weights, *([xt] if wrt_input else [])])
        # an embedding's gradient is IndexedSlices: made dense (summed per row) by convert_to_tensor
        weights = [np.asarray(tf.convert_to_tensor(g)) for g in grads[:len(model.trainable_weights)]]
        return float(loss), weights, np.asarray(grads[-1]) if wrt_input else None
    if backend == "jax":
        import jax
        import jax.numpy as jnp
        trainable = [v.value for v in model.trainable_variables]
        fixed = [v.value for v in model.non_trainable_variables]

        def total(params, xin):
            out, _, losses = model.stateless_call(params, fixed, xin, training=True, return_losses=True)
            return loss_fn(jnp.asarray(y), out) + sum(losses)
        loss, grads = jax.value_and_grad(total, argnums=(0, 1) if wrt_input else 0)(trainable, jnp.asarray(x))
        weights, inputs = grads if wrt_input else (grads, None)
        return float(loss), [np.asarray(g) for g in weights], np.asarray(inputs) if wrt_input else None
    if backend == "torch":
        import torch
        xt = torch.as_tensor(x).requires_grad_(wrt_input and np.issubdtype(np.asarray(x).dtype, np.floating))
        for v in model.trainable_variables:
            v.value.grad = None
        loss = loss_fn(torch.as_tensor(y), model(xt, training=True)) + sum(model.losses)
        loss.backward()
        weights = [v.value.grad.detach().cpu().numpy() if v.value.grad is not None else np.zeros(v.shape, "float32")
                   for v in model.trainable_variables]
        return float(loss.detach()), weights, xt.grad.detach().cpu().numpy() if wrt_input else None
    raise ReprokitError(f"gradients are implemented for Keras on tensorflow, jax and torch, not on {backend}")


def compile(model: keras.Model, spec: m.Model, optimizer: str, learning_rate: float,
            loss: str | None = None, steps_per_execution: int = 1, framework: str = "keras", **kw) -> None:
    """Keras's optimizer and loss; ``framework`` (the document's) changes nothing: Keras has one
    formula per loss."""
    opt = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
           "sgd": keras.optimizers.SGD}[optimizer](learning_rate=learning_rate, **kw)
    model.compile(optimizer=opt, loss=_loss(spec, loss), metrics=["accuracy"],
                  steps_per_execution=steps_per_execution)


# Training and evaluation steps per call into TensorFlow's graph in ``fit``: the same steps in the
# same order, so the numbers are identical to one step per call (tests/unit/test_ledger_reproduces.py),
# without the per-call overhead that dominates the tiny models (tools/levers.py --only spe).
STEPS_PER_EXECUTION = settings.env_int("REPROKIT_STEPS_PER_EXECUTION", 32)
if keras.backend.backend() == "torch":  # Keras's torch trainer runs one step per call only
    STEPS_PER_EXECUTION = 1


def optimizer_params(model: keras.Model) -> int:
    """Elements of the optimizer's state, as ``model.summary()`` counts them (built after a step)."""
    return sum(int(np.prod(v.shape)) for v in model.optimizer.variables)


def train_step(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """One optimizer step on a batch; returns the batch loss."""
    return float(np.ravel(model.train_on_batch(x, y))[0])


def validation_split(arrays: tuple[np.ndarray, ...], fraction: float) -> tuple[tuple, tuple]:
    """Keras's own split for ``fit(validation_split=...)``: the last ``fraction`` validates."""
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    return train_validation_split(arrays, validation_split=fraction)


def input_shape(x: np.ndarray) -> tuple:
    """Shape of ``x`` as the tensor Keras feeds the model."""
    return tuple(keras.ops.convert_to_tensor(x).shape)


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


class Batches(keras.utils.PyDataset):
    """Ready batches (each may have its own sequence length), in a new order every epoch."""

    def __init__(self, batches: list, seed: int, shuffle: bool):
        super().__init__()
        self.batches, self.shuffle = batches, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(batches)) if shuffle else np.arange(len(batches))
        # Keras derives the input signature from the first two batches; where their lengths
        # agree it fixes the length and rejects the others. Put a batch of another length second.
        shape = lambda i: np.shape(batches[self.order[i]][0])  # noqa: E731
        other = next((i for i in range(1, len(batches)) if shape(i) != shape(0)), None)
        if other is not None:
            self.order[[1, other]] = self.order[[other, 1]]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return self.batches[self.order[i]]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self.rng.permutation(len(self.batches))


class EpochTimer(keras.callbacks.Callback):
    """Appends each epoch's seconds to ``times`` and reports the epoch to the progress display."""

    def __init__(self, times: list[float]):
        super().__init__()
        self.times = times

    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t)
        progress.epoch(len(self.times))


def fit(spec: m.Model, exp, data, seed: int) -> tuple[dict, keras.Model]:
    """``model.fit`` with the experiment's recipe, then ``evaluate`` on the test set."""
    keras.utils.set_random_seed(seed)
    model = build(spec, seed)
    if exp.framework == "torch":  # a document written for torch: its model starts as torch's would
        model.set_weights(m.torch_initial_weights(spec, seed))
    compile(model, spec, exp.optimizer, exp.learning_rate, loss=exp.loss, steps_per_execution=STEPS_PER_EXECUTION)
    times: list[float] = []

    if data.batches is not None:
        train = {"x": Batches(data.batches, seed, shuffle=True)}
        validation = {"validation_data": Batches(data.val, seed, shuffle=False)}
        test = {"x": Batches(data.test, seed, shuffle=False)}
    else:
        train = {"x": data.x, "y": data.y, "batch_size": exp.batch_size, "shuffle": True}
        validation = ({"validation_split": exp.validation_split} if exp.validation_split
                      else {"validation_data": tuple(data.val)})
        test = {"x": data.test[0], "y": data.test[1], "batch_size": exp.batch_size}
    history = model.fit(**train, epochs=exp.epochs, verbose=0, callbacks=[EpochTimer(times)], **validation)
    result = model.evaluate(**test, verbose=0, return_dict=True)
    h = history.history
    return ({"history": {k: [float(v) for v in h[k]] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
             "test": {"loss": float(result["loss"]), "accuracy": float(result["accuracy"])},
             "epoch_s": times}, model)


def input_gradients(model: keras.Model, spec: m.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the batch loss with respect to the (float) inputs, shaped like ``x``, on any
    Keras backend (the mechanism claim; ``_differentiate``)."""
    return _differentiate(model, spec, x, y, wrt_input=True)[2]


def groups(spec: m.Model) -> bool:
    """Does ``fit_group`` train this model (reprokit.backends.keras_group)? On TensorFlow only:
    a seed's batch order is read from Keras's TensorFlow input pipeline."""
    from reprokit.backends import keras_group
    return keras.backend.backend() == "tensorflow" and keras_group.supports(spec)


def fit_group(spec: m.Model, exp, datas: list, seeds: list[int]) -> list[tuple[dict, keras.Model]]:
    """``fit`` for several seeds as one group: reprokit.backends.keras_group.fit_group."""
    from reprokit.backends import keras_group
    return keras_group.fit_group(spec, exp, datas, seeds)
