"""Several seeds of one experiment trained together in Keras, each its own solo ``keras.fit`` run.

The group is one Keras model trained with Keras's own ``fit``, optimizer, losses and RNN layer.
Every weight carries a seed axis (``SeedDense``, ``SeedCell``) and each seed has its own
``keras.layers.Embedding``, so seed ``s`` only meets its own weights. What each seed keeps
from its solo run (``keras.fit``):

- its initial weights: the ones ``keras.fit`` starts from (``keras.build(spec, s)``'s draw, or
  ``models.torch_initial_weights`` for a document written for torch);
- its batches, in the order its solo ``fit`` visits them: read from the same Keras/TensorFlow
  pipeline that ``fit(shuffle=True)`` builds after ``set_random_seed(s)`` (``fit_orders``), or from
  its ``Batches`` (the index task);
- its loss: the group's loss is the sum of the seeds' batch means, so each seed's gradient is its
  own; its metrics are its own (``s3_loss``, ``s3_accuracy``, ...).

Only the order of float32 sums differs (``tests/unit/test_grouped.py`` bounds it). A seed whose
batch is shorter (the index task) is padded after its end with steps flagged inactive, in which
the cell keeps its state exactly (``flag * new + (1 - flag) * old`` with flags 0 or 1).
"""

from __future__ import annotations


import keras
import numpy as np
from keras import ops

from reprokit import models as m
from reprokit.backends import keras as solo


def supports(spec: m.Model) -> bool:
    layers = spec.layers
    return all(isinstance(layer, (m.Embedding, m.Recurrent, m.Dense)) and not getattr(layer, "bidirectional", False)
               and not getattr(layer, "l2", 0.0) for layer in layers) \
        and sum(isinstance(layer, m.Recurrent) for layer in layers) == 1


class SeedDense(keras.layers.Layer):
    """``x @ kernel[s] + bias[s]`` for each seed ``s`` of axis 1: (B, S, ..., i) -> (B, S, ..., o)."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray, activation: str = "linear", **kw):
        super().__init__(**kw)
        self.kernel = self.add_weight(shape=kernel.shape, initializer=keras.initializers.Constant(kernel), name="kernel")
        self.bias = self.add_weight(shape=bias.shape, initializer=keras.initializers.Constant(bias), name="bias")
        self.activation = {"log_softmax": lambda x: keras.activations.log_softmax(x, axis=-1)}.get(
            activation, keras.activations.get(activation))

    def call(self, x):
        middle = "t" if len(x.shape) == 4 else ""
        y = ops.einsum(f"bs{middle}i,sio->bs{middle}o", x, self.kernel)
        return self.activation(y + (ops.expand_dims(self.bias, 1) if middle else self.bias))


class BlockDiagonal(keras.constraints.Constraint):
    """Keeps a weight block-diagonal: after each optimizer step, the entries between seeds are set
    to zero again (the optimizer moves them; the seeds' own blocks are multiplied by exactly 1)."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask

    def __call__(self, w):
        return w * ops.convert_to_tensor(self.mask, dtype=w.dtype)


class SeedCell(keras.layers.Layer):
    """Keras's SimpleRNN, LSTM or GRU cell (GRU with ``reset_after``) for S seeds, on inputs
    already multiplied by the kernel (bias included): (B, S * G * U) plus, where ``flags``, one
    0/1 per seed saying whether the step is inside the seed's sequence.

    The recurrent kernels are one block-diagonal (S * U, S * G * U) matrix kept so by a constraint,
    so a step is one matrix product: a product batched over seeds costs TensorFlow a transpose
    each way and runs 20 tiny products (measured: 2.4x slower per epoch at 20 seeds). The zeros
    between seeds add exact zeros to each seed's sums."""

    def __init__(self, cell: str, units: int, recurrent: np.ndarray, recurrent_bias: np.ndarray | None,
                 flags: bool, **kw):
        super().__init__(**kw)
        self.cell, self.units, self.flags = cell, units, flags
        self.seeds = s = recurrent.shape[0]
        self.gates = g = recurrent.shape[-1] // units
        block, mask = np.zeros((s * units, s * g * units), "float32"), np.zeros((s * units, s * g * units), "float32")
        for k in range(s):
            block[k * units:(k + 1) * units, k * g * units:(k + 1) * g * units] = recurrent[k]
            mask[k * units:(k + 1) * units, k * g * units:(k + 1) * g * units] = 1.0
        self.recurrent = self.add_weight(shape=block.shape, initializer=keras.initializers.Constant(block),
                                         constraint=BlockDiagonal(mask), name="recurrent_kernel")
        self.recurrent_bias = None if recurrent_bias is None else self.add_weight(
            shape=recurrent_bias.shape, initializer=keras.initializers.Constant(recurrent_bias), name="recurrent_bias")
        size = s * units
        self.state_size = [size, size] if cell == "lstm" else size
        self.output_size = size

    def seed_recurrent(self, k: int) -> np.ndarray:
        u, gu = self.units, self.gates * self.units
        return np.asarray(self.recurrent)[k * u:(k + 1) * u, k * gu:(k + 1) * gu]

    def call(self, inputs, states):
        s, u, g = self.seeds, self.units, self.gates
        z = ops.reshape(inputs[:, :s * g * u], (-1, s, g * u))
        h = ops.reshape(states[0], (-1, s, u))
        r = ops.reshape(ops.matmul(states[0], self.recurrent), (-1, s, g * u))
        sigmoid, tanh = keras.activations.sigmoid, keras.activations.tanh
        c = None
        if self.cell == "simple":
            new = tanh(z + r)
        elif self.cell == "lstm":
            c = ops.reshape(states[1], (-1, s, u))
            zi, zf, zc, zo = ops.split(z + r, 4, axis=-1)
            c_new = sigmoid(zf) * c + sigmoid(zi) * tanh(zc)
            new = sigmoid(zo) * tanh(c_new)
        else:
            r = r + self.recurrent_bias
            xz, xr, xh = ops.split(z, 3, axis=-1)
            rz, rr, rh = ops.split(r, 3, axis=-1)
            update = sigmoid(xz + rz)
            new = update * h + (1 - update) * tanh(xh + sigmoid(xr + rr) * rh)
        if self.flags:  # outside its sequence a seed keeps its state (exactly: flags are 0 or 1)
            flag = ops.expand_dims(inputs[:, s * g * u:], -1)
            new = flag * new + (1 - flag) * h
            if c is not None:
                c_new = flag * c_new + (1 - flag) * c
        out = ops.reshape(new, (-1, s * u))
        return out, ([out, ops.reshape(c_new, (-1, s * u))] if c is not None else out)


class OffsetIds(keras.layers.Layer):
    """Token ids (B, S, T) -> rows of one table holding every seed's: seed s's ids + s * V."""

    def __init__(self, vocabulary: int, **kw):
        super().__init__(**kw)
        self.vocabulary = vocabulary

    def call(self, x):
        seeds = x.shape[1]
        return x + ops.reshape(ops.arange(seeds, dtype=x.dtype) * self.vocabulary, (1, seeds, 1))


def build_group(spec: m.Model, weights: list[list[np.ndarray]], steps: int, flags: bool
                ) -> tuple[keras.Model, list]:
    """The group model, inputs (B, S, T) ids or (B, S, T, F) floats (and (B, S, T) flags), and
    per layer of ``spec`` the Keras layers holding its weights (for ``seed_weights``)."""
    arrays = [np.stack(a) for a in zip(*weights)]  # per Keras weight: (S, ...)
    s = len(weights)
    x_in = keras.Input((s, steps) if spec.tokens else (s, steps, spec.features),
                       dtype="int32" if spec.tokens else "float32", name="x")
    inputs, holders = [x_in], []
    x, i = x_in, 0
    for layer in spec.layers:
        if isinstance(layer, m.Embedding):
            # one Keras Embedding per seed: the optimizer then updates one seed's table at a time,
            # which stays in the core's cache where one table of all seeds' rows does not
            tables = [keras.layers.Embedding(layer.input_dim, layer.output_dim,
                                             embeddings_initializer=keras.initializers.Constant(arrays[i][k]))
                      for k in range(s)]
            x = keras.layers.Lambda(lambda t: ops.unstack(t, axis=1), name="split_seeds")(x) if s > 1 else [x[:, 0]]
            x = ops.stack([table(x[k]) for k, table in enumerate(tables)], axis=1)  # (B, S, T, D)
            holders.append(tables)
            i += 1
        elif isinstance(layer, m.Recurrent):
            kernel, recurrent, bias = arrays[i:i + 3]
            i += 3
            input_bias, recurrent_bias = (bias[:, 0], bias[:, 1]) if layer.cell == "gru" else (bias, None)
            projection = SeedDense(kernel, input_bias)
            z = keras.layers.Permute((2, 1, 3))(projection(x))  # (B, T, S, G*U)
            z = keras.layers.Reshape((steps, s * kernel.shape[-1]))(z)
            if flags:
                flag_in = keras.Input((s, steps), dtype="float32", name="flags")
                inputs.append(flag_in)
                z = keras.layers.Concatenate()([z, keras.layers.Permute((2, 1))(flag_in)])
            cell = SeedCell(layer.cell, layer.units, recurrent, recurrent_bias, flags)
            x = keras.layers.RNN(cell, return_sequences=layer.return_sequences)(z)
            if layer.return_sequences:  # (B, T, S*U) -> (B, S, T, U)
                x = keras.layers.Permute((2, 1, 3))(keras.layers.Reshape((steps, s, layer.units))(x))
            else:
                x = keras.layers.Reshape((s, layer.units))(x)
            holders.append([projection, cell])
        else:
            dense = SeedDense(arrays[i], arrays[i + 1], layer.activation)
            x = dense(x)
            holders.append([dense])
            i += 2
    return keras.Model(inputs, x), holders


def seed_weights(spec: m.Model, holders: list, k: int) -> list[np.ndarray]:
    """Seed ``k``'s weights in the solo model's layout (``keras.Model.get_weights()``)."""
    out = []
    for layer, held in zip(spec.layers, holders):
        if isinstance(layer, m.Embedding):
            out.append(np.asarray(held[k].embeddings))
        elif isinstance(layer, m.Recurrent):
            projection, cell = held
            input_bias = np.asarray(projection.bias)[k]
            bias = np.stack([input_bias, np.asarray(cell.recurrent_bias)[k]]) if layer.cell == "gru" else input_bias
            out += [np.asarray(projection.kernel)[k], cell.seed_recurrent(k), bias]
        else:
            out += [np.asarray(held[0].kernel)[k], np.asarray(held[0].bias)[k]]
    return out


def _per_sample(spec: m.Model, loss: str | None):
    """Each seed's per-sample loss (B, S) and accuracy (B, S), as the solo run's Keras loss and
    ``accuracy`` metric compute them (means over the time steps of a sequence output)."""
    name = loss or spec.loss

    # y arrives with a trailing axis of 1 (B, S[, T], 1), the rank of p, so that Keras's
    # squeeze-or-expand of y and p leaves both as they are
    def losses(y, p):
        if name == "nll":
            return -ops.squeeze(ops.take_along_axis(p, ops.cast(y, "int32"), axis=-1), -1)
        loss_fn = keras.losses.binary_crossentropy if name == "binary_crossentropy" else keras.losses.mean_squared_error
        per = loss_fn(y, p)  # mean over the last axis (of 1), as the solo loss takes it
        return ops.mean(ops.reshape(per, (ops.shape(per)[0], ops.shape(per)[1], -1)), axis=-1)  # over the steps

    def accuracy(y, p):
        if spec.loss == "nll":
            return ops.cast(ops.equal(ops.argmax(p, -1), ops.cast(ops.squeeze(y, -1), "int64")), "float32")
        hits = keras.metrics.binary_accuracy(y, p)  # elementwise in Keras 3
        return ops.mean(ops.reshape(hits, (ops.shape(hits)[0], ops.shape(hits)[1], -1)), axis=-1)
    return losses, accuracy


class SeedMetrics(keras.metrics.Metric):
    """Each seed's mean loss and accuracy over the samples seen (``s0_loss``, ``s0_accuracy``, ...):
    per seed, the sums Keras's ``Mean`` metrics keep, kept together so that a step computes the
    per-sample losses once, not once per seed and metric."""

    def __init__(self, seeds: int, losses, accuracy, name: str = "seeds"):
        super().__init__(name=name)
        self.seeds, self.losses, self.accuracy = seeds, losses, accuracy
        self.loss_total = self.add_variable(shape=(seeds,), initializer="zeros", name="loss_total")
        self.accuracy_total = self.add_variable(shape=(seeds,), initializer="zeros", name="accuracy_total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.loss_total.assign_add(ops.sum(self.losses(y_true, y_pred), axis=0))
        self.accuracy_total.assign_add(ops.sum(self.accuracy(y_true, y_pred), axis=0))
        self.count.assign_add(ops.cast(ops.shape(y_true)[0], "float32"))

    def result(self):
        out = {}
        for k in range(self.seeds):
            out[f"s{k}_loss"] = self.loss_total[k] / self.count
            out[f"s{k}_accuracy"] = self.accuracy_total[k] / self.count
        return out


def _compile(group: keras.Model, spec: m.Model, exp, seeds: int) -> None:
    losses, accuracy = _per_sample(spec, exp.loss)

    def total(y, p):  # per sample: the sum over seeds; Keras's batch mean makes it sum_s mean_b
        return ops.sum(losses(y, p), axis=1)
    optimizer = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[exp.optimizer]
    group.compile(optimizer=optimizer(learning_rate=exp.learning_rate), loss=total,
                  metrics=[SeedMetrics(seeds, losses, accuracy)], steps_per_execution=solo.STEPS_PER_EXECUTION)


def fit_orders(x_len: int, batch_size: int, epochs: int, seed: int) -> list[np.ndarray]:
    """The sample order of each epoch of ``fit(shuffle=True)`` on ``x_len`` samples after
    ``set_random_seed(seed)``: read from Keras's own TensorFlow pipeline for an index array."""
    import tensorflow as tf
    from keras.src.backend.tensorflow.trainer import TFEpochIterator
    keras.utils.set_random_seed(seed)
    index = np.arange(x_len, dtype="int64")
    iterator = TFEpochIterator(x=index, y=index, batch_size=batch_size, shuffle=True,
                               steps_per_execution=solo.STEPS_PER_EXECUTION,
                               distribute_strategy=tf.distribute.get_strategy())
    return [np.concatenate([np.asarray(xb) for xb, _ in iterator._get_iterator()]) for _ in range(epochs)]


class ArrayEpochs(keras.utils.PyDataset):
    """Batches of every seed's own order, epoch after epoch: x (B, S, ...), y (B, S, ...)."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, orders: list[list[np.ndarray]] | None, batch_size: int):
        super().__init__()
        self.xs, self.ys, self.orders, self.batch_size = xs, ys, orders, batch_size  # xs: (S, N, ...)
        # fit calls on_epoch_end once before the first epoch (EpochIterator.reset): start at -1;
        # Keras reads batches 0 and 1 even before that, for the input signature
        self.n, self.epoch = xs.shape[1], -1

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __getitem__(self, i: int):
        window = slice(i * self.batch_size, (i + 1) * self.batch_size)
        if self.orders is None:  # in order (validation, test)
            rows = np.arange(self.n)[window]
            index = np.broadcast_to(rows, (len(self.xs), len(rows)))
        else:
            index = np.stack([order[max(self.epoch, 0)][window] for order in self.orders])
        seeds = np.arange(len(self.xs))[:, None]
        return np.swapaxes(self.xs[seeds, index], 0, 1), np.swapaxes(self.ys[seeds, index], 0, 1)[..., None]

    def on_epoch_end(self) -> None:
        self.epoch += 1


class BatchEpochs(keras.utils.PyDataset):
    """The index task: each seed's ready batches in the order its solo ``fit`` visits them (its
    ``solo.Batches`` order, which Keras's ``fit(shuffle=True)`` permutes again with Python's
    ``random``: ``keras_shuffles``), padded after the end to ``steps`` with the steps flagged
    inactive."""

    def __init__(self, batch_lists: list[list], seeds: list[int], steps: int, shuffles: list[list] | None = None):
        super().__init__()
        self.orders = [solo.Batches(batches, seed, shuffles is not None) for batches, seed in zip(batch_lists, seeds)]
        self.shuffles, self.steps, self.epoch = shuffles, steps, -1  # -1: see ArrayEpochs

    def __len__(self) -> int:
        return len(self.orders[0])

    def __getitem__(self, i: int):
        xs, flags, ys = [], [], []
        for k, order in enumerate(self.orders):
            x, y = order[self.shuffles[k][max(self.epoch, 0)][i] if self.shuffles else i]
            pad = self.steps - x.shape[1]
            xs.append(np.pad(x, ((0, 0), (0, pad), (0, 0))))
            flags.append(np.pad(np.ones(x.shape[:2], "float32"), ((0, 0), (0, pad))))
            ys.append(y)
        return (np.stack(xs, 1), np.stack(flags, 1)), np.stack(ys, 1)[..., None]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        for order in self.orders:
            order.on_epoch_end()


def keras_shuffles(spec: m.Model, exp, seed: int, batches: int) -> list[list[int]]:
    """The permutation of a ``PyDataset``'s batches that ``fit(shuffle=True)`` draws at each
    epoch with Python's ``random`` in the solo run of ``seed``: its state replayed from what the
    solo ``fit`` does before it (seed, build, compile)."""
    import random
    keras.utils.set_random_seed(seed)
    model = solo.build(spec, seed)
    solo.compile(model, spec, exp.optimizer, exp.learning_rate, loss=exp.loss,
                 steps_per_execution=solo.STEPS_PER_EXECUTION)
    out = []
    for _ in range(exp.epochs):
        order = list(range(batches))
        random.shuffle(order)
        out.append(order)
    return out


def fit_group(spec: m.Model, exp, datas: list, seeds: list[int]) -> list[tuple[dict, keras.Model]]:
    """``keras.fit`` for each of ``seeds`` (``datas[i]`` is what ``prepare(seeds[i])`` gave),
    trained as one group. Returns, per seed, its result and a solo model holding its final weights."""
    if not supports(spec):
        raise ValueError(f"{spec.name}: the grouped trainer builds one embedding, one recurrent and dense layers")
    s = len(seeds)
    solos = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        solos.append(solo.build(spec, seed))  # each seed's own initial draw
    initial = [m.torch_initial_weights(spec, seed) if exp.framework == "torch" else solo.get_weights(model)
               for seed, model in zip(seeds, solos)]
    if datas[0].batches is not None:
        steps = max(x.shape[1] for d in datas for part in (d.batches, d.val, d.test) for x, _ in part)
        group, holders = build_group(spec, initial, steps, flags=True)
        shuffles = [keras_shuffles(spec, exp, seed, len(d.batches)) for seed, d in zip(seeds, datas)]
        train = BatchEpochs([d.batches for d in datas], seeds, steps, shuffles)
        val = BatchEpochs([d.val for d in datas], seeds, steps)
        test = BatchEpochs([d.test for d in datas], seeds, steps)
    else:
        parts = [solo.validation_split((d.x, d.y), exp.validation_split) if exp.validation_split
                 else ((d.x, d.y), tuple(d.val)) for d in datas]
        stack = lambda arrays: np.stack([np.asarray(a) for a in arrays])  # noqa: E731
        xs, ys = stack(p[0][0] for p in parts), stack(p[0][1] for p in parts)
        orders = [fit_orders(xs.shape[1], exp.batch_size, exp.epochs, seed) for seed in seeds]
        group, holders = build_group(spec, initial, xs.shape[2], flags=False)
        train = ArrayEpochs(xs, ys, orders, exp.batch_size)
        val = ArrayEpochs(stack(p[1][0] for p in parts), stack(p[1][1] for p in parts), None, exp.batch_size)
        test = ArrayEpochs(stack(d.test[0] for d in datas), stack(d.test[1] for d in datas), None, exp.batch_size)
    _compile(group, spec, exp, s)
    times: list[float] = []

    # shuffle=False: the datasets give each seed's own order; Keras must not permute the group's
    h = group.fit(train, validation_data=val, epochs=exp.epochs, shuffle=False, verbose=0,
                  callbacks=[solo.EpochTimer(times)]).history
    tested = group.evaluate(test, verbose=0, return_dict=True)
    out = []
    for k, model in enumerate(solos):
        model.set_weights(seed_weights(spec, holders, k))
        history = {"loss": h[f"s{k}_loss"], "accuracy": h[f"s{k}_accuracy"],
                   "val_loss": h[f"val_s{k}_loss"], "val_accuracy": h[f"val_s{k}_accuracy"]}
        out.append(({"history": {n: [float(v) for v in vs] for n, vs in history.items()},
                     "test": {"loss": float(tested[f"s{k}_loss"]), "accuracy": float(tested[f"s{k}_accuracy"])},
                     "epoch_s": [t / s for t in times]}, model))
    return out
