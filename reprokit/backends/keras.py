"""Keras 3 builder and the operations claims need, on whichever Keras backend this process runs."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up banner out of test output

import keras  # noqa: E402
import numpy as np  # noqa: E402

from reprokit import models as m  # noqa: E402

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
    return keras.ops.convert_to_numpy(model(x, training=False))


def _loss(spec: m.Model):
    return {"binary_crossentropy": keras.losses.BinaryCrossentropy(),
            "nll": lambda y, p: -keras.ops.mean(keras.ops.take_along_axis(
                p, keras.ops.expand_dims(keras.ops.cast(y, "int32"), -1), axis=-1)),
            "mse": keras.losses.MeanSquaredError()}[spec.loss]


def loss_and_gradients(model: keras.Model, spec: m.Model, x: np.ndarray, y: np.ndarray
                       ) -> tuple[float, list[np.ndarray]]:
    """The loss (with regularization penalties) of one batch and its gradient per weight."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        from reprokit.errors import ReprokitError
        raise ReprokitError(f"gradients are implemented for Keras on TensorFlow, not on {backend}")
    import tensorflow as tf

    loss_fn = _loss(spec)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + sum(model.losses)
    grads = tape.gradient(loss, model.trainable_weights)
    return float(loss), [np.asarray(tf.convert_to_tensor(g)) for g in grads]  # embedding: IndexedSlices


def compile(model: keras.Model, spec: m.Model, optimizer: str, learning_rate: float, **kw) -> None:
    opt = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
           "sgd": keras.optimizers.SGD}[optimizer](learning_rate=learning_rate, **kw)
    model.compile(optimizer=opt, loss=_loss(spec), metrics=["accuracy"])


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


def fit(spec: m.Model, exp, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
        seed: int) -> dict:
    """``model.fit`` with the experiment's recipe, then ``evaluate`` on the test set."""
    import time

    keras.utils.set_random_seed(seed)
    model = build(spec, seed)
    compile(model, spec, exp.optimizer, exp.learning_rate)
    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    validation = ({"validation_split": exp.validation_split} if exp.validation_split
                  else {"validation_data": (x_test, y_test)})
    history = model.fit(x, y, epochs=exp.epochs, batch_size=exp.batch_size, verbose=0, shuffle=True,
                        callbacks=[EpochTimer()], **validation)
    test = model.evaluate(x_test, y_test, batch_size=exp.batch_size, verbose=0, return_dict=True)
    h = history.history
    return {"history": {k: [float(v) for v in h[k]] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "test": {"loss": float(test["loss"]), "accuracy": float(test["accuracy"])},
            "epoch_s": times}
