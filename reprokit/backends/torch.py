"""Native PyTorch builder: fused ``nn.RNN/LSTM/GRU`` cores, in Keras's parametrization or torch's own.

``parametrization="keras"`` (the default) makes the model count, initialise and compute exactly
what the Keras model does: SimpleRNN and LSTM carry one bias (torch's second bias, ``bias_hh``,
becomes a zero buffer the fused kernel still reads), GRU keeps two (Keras's ``reset_after=True``
is torch's formula) and only the gate order differs. ``parametrization="native"`` is plain torch
with its default initialisation. ``fit`` trains a document written for Keras with Keras's
optimizers and losses, ported, and one written for torch (``Experiment.framework``) with torch's
own modules, initialisation, ``torch.optim`` and losses, as document 004 ran it.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import nn

from reprokit import models as m
from reprokit import progress, settings

if (_threads := settings.env_int("REPROKIT_THREADS", None)) is not None:  # the plugin sets it per xdist worker
    torch.set_num_threads(_threads)

DEVICE = torch.device(settings.device())  # models and batches live there; numbers come back as numpy
if DEVICE.type == "cuda":
    from reprokit.errors import ReprokitError
    if not torch.cuda.is_available() or (DEVICE.index or 0) >= torch.cuda.device_count():
        raise ReprokitError(f"device {DEVICE}: this torch ({torch.__version__}) sees {torch.cuda.device_count()} CUDA "
                            "devices; run on a machine with one and torch's CUDA build (extra gpu), or on cpu")
    # the recipes are float32: no TensorFloat-32 (inputs rounded to 10 mantissa bits) in cuBLAS or cuDNN
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if settings.env_flag("REPROKIT_DETERMINISTIC", True):
        # same seed, same numbers on the GPU too: deterministic kernels (cuBLAS needs its workspace
        # fixed before its first call), no autotuned cuDNN algorithm choice
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False

CORES = {"simple": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Keras orders GRU gates [z, r, h], torch [r, z, n]; SimpleRNN and LSTM ([i, f, c, o]) agree.
GATE_ORDER = {"simple": [0], "lstm": [0, 1, 2, 3], "gru": [1, 0, 2]}


def _glorot(t: torch.Tensor, fan_in: int, fan_out: int) -> None:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    nn.init.uniform_(t, -limit, limit)


def _reorder(t: torch.Tensor, cell: str, units: int) -> torch.Tensor:
    """Permute gate blocks along dim 0 (the same swap maps Keras -> torch and back)."""
    return torch.cat([t[g * units:(g + 1) * units] for g in GATE_ORDER[cell]])


class Embedding(nn.Module):
    def __init__(self, spec: m.Embedding, parametrization: str):
        super().__init__()
        self.embedding = nn.Embedding(spec.input_dim, spec.output_dim)
        if parametrization == "keras":
            nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.out_features = spec.output_dim

    def forward(self, x):
        return self.embedding(x.long())

    def keras_weights(self, get=lambda t: t):
        return [get(self.embedding.weight)]

    def load_keras(self, w):
        self.embedding.weight.copy_(w[0])


class Recurrent(nn.Module):
    def __init__(self, spec: m.Recurrent, in_features: int, parametrization: str):
        super().__init__()
        self.spec, self.parametrization = spec, parametrization
        self.core = CORES[spec.cell](in_features, spec.units, batch_first=True,
                                     bidirectional=spec.bidirectional)
        self.suffixes = ["", "_reverse"] if spec.bidirectional else [""]
        self.single_bias = parametrization == "keras" and spec.cell != "gru"
        if self.single_bias:
            for s in self.suffixes:
                delattr(self.core, f"bias_hh_l0{s}")
                self.core.register_buffer(f"bias_hh_l0{s}", torch.zeros(spec.gates * spec.units))
            self.core._init_flat_weights()  # the fused kernel reads the buffer in the bias's place
        if parametrization == "keras":
            self._keras_init(in_features)
        self.out_features = spec.units * len(self.suffixes)

    @torch.no_grad()
    def _keras_init(self, in_features: int) -> None:
        """Keras's initialisers: glorot_uniform kernel (or RandomNormal), orthogonal recurrent
        kernel, zero bias, LSTM forget-gate bias 1 (unit_forget_bias)."""
        u, g = self.spec.units, self.spec.gates
        for s in self.suffixes:
            w_ih, w_hh = getattr(self.core, f"weight_ih_l0{s}"), getattr(self.core, f"weight_hh_l0{s}")
            if self.spec.kernel_stddev is not None:
                nn.init.normal_(w_ih, 0.0, self.spec.kernel_stddev)
            else:
                _glorot(w_ih, in_features, g * u)
            recurrent = torch.empty(u, g * u)
            nn.init.orthogonal_(recurrent)
            w_hh.copy_(recurrent.T)
            for name in (f"bias_ih_l0{s}", f"bias_hh_l0{s}"):
                getattr(self.core, name).zero_()
            if self.spec.cell == "lstm":
                getattr(self.core, f"bias_ih_l0{s}")[u:2 * u] = 1.0

    def forward(self, x):
        out, h = self.core(x)
        if self.spec.return_sequences:
            return out
        if isinstance(h, tuple):  # LSTM: (h_n, c_n)
            h = h[0]
        return h.transpose(0, 1).reshape(x.shape[0], -1)  # [forward, backward] final states

    def keras_weights(self, get=lambda t: t):
        u, cell, out = self.spec.units, self.spec.cell, []
        for s in self.suffixes:
            p = {n: get(getattr(self.core, f"{n}_l0{s}")) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            out += [_reorder(p["weight_ih"], cell, u).T, _reorder(p["weight_hh"], cell, u).T]
            if cell == "gru":
                out.append(torch.stack([_reorder(p["bias_ih"], cell, u), _reorder(p["bias_hh"], cell, u)]))
            else:
                out.append(p["bias_ih"] + p["bias_hh"])  # one bias; the buffer is zero in Keras's form
        return out

    def load_keras(self, w):
        u, cell = self.spec.units, self.spec.cell
        for i, s in enumerate(self.suffixes):
            kernel, recurrent, bias = w[3 * i:3 * i + 3]
            getattr(self.core, f"weight_ih_l0{s}").copy_(_reorder(kernel.T, cell, u))
            getattr(self.core, f"weight_hh_l0{s}").copy_(_reorder(recurrent.T, cell, u))
            if cell == "gru":
                getattr(self.core, f"bias_ih_l0{s}").copy_(_reorder(bias[0], cell, u))
                getattr(self.core, f"bias_hh_l0{s}").copy_(_reorder(bias[1], cell, u))
            else:
                getattr(self.core, f"bias_ih_l0{s}").copy_(bias)
                getattr(self.core, f"bias_hh_l0{s}").zero_()

    def penalty(self):
        if not self.spec.l2:
            return 0.0
        return self.spec.l2 * sum(getattr(self.core, f"{n}_l0{s}").pow(2).sum()
                                  for s in self.suffixes for n in ("weight_ih", "weight_hh"))


def _sigmoid(z: torch.Tensor) -> torch.Tensor:
    """``sigmoid(z)`` that keeps its logits, as Keras on TensorFlow does (``_keras_logits``): Keras's
    binary cross-entropy of a sigmoid output is then computed from the logits (``loss_fn``)."""
    p = torch.sigmoid(z)
    p._keras_logits = z
    return p


ACTIVATIONS = {"linear": lambda x: x, "relu": torch.relu, "sigmoid": _sigmoid,
               "log_softmax": lambda x: torch.log_softmax(x, dim=-1)}


class Conv1D(nn.Module):
    def __init__(self, spec: m.Conv1D, in_features: int, parametrization: str):
        super().__init__()
        self.conv = nn.Conv1d(in_features, spec.filters, spec.kernel_size)
        self.activation = ACTIVATIONS[spec.activation]
        if parametrization == "keras":
            with torch.no_grad():
                _glorot(self.conv.weight, spec.kernel_size * in_features, spec.kernel_size * spec.filters)
                self.conv.bias.zero_()
        self.out_features = spec.filters

    def forward(self, x):  # Keras is channels-last, torch channels-first
        return self.activation(self.conv(x.transpose(1, 2)).transpose(1, 2))

    def keras_weights(self, get=lambda t: t):
        return [get(self.conv.weight).permute(2, 1, 0), get(self.conv.bias)]

    def load_keras(self, w):
        self.conv.weight.copy_(w[0].permute(2, 1, 0))
        self.conv.bias.copy_(w[1])


class MaxPooling1D(nn.Module):
    def __init__(self, spec: m.MaxPooling1D, in_features: int, parametrization: str):
        super().__init__()
        self.pool = nn.MaxPool1d(spec.pool_size)
        self.out_features = in_features

    def forward(self, x):
        return self.pool(x.transpose(1, 2)).transpose(1, 2)

    def keras_weights(self, get=lambda t: t):
        return []

    def load_keras(self, w):
        pass


class Dense(nn.Module):
    def __init__(self, spec: m.Dense, in_features: int, parametrization: str):
        super().__init__()
        self.spec = spec
        self.linear = nn.Linear(in_features, spec.units)
        self.activation = ACTIVATIONS[spec.activation]
        if parametrization == "keras":
            with torch.no_grad():
                _glorot(self.linear.weight, in_features, spec.units)
                self.linear.bias.zero_()
        self.out_features = spec.units

    def forward(self, x):
        return self.activation(self.linear(x))

    def keras_weights(self, get=lambda t: t):
        return [get(self.linear.weight).T, get(self.linear.bias)]

    def load_keras(self, w):
        self.linear.weight.copy_(w[0].T)
        self.linear.bias.copy_(w[1])

    def penalty(self):
        return self.spec.l2 * self.linear.weight.pow(2).sum() if self.spec.l2 else 0.0


LAYERS = {m.Recurrent: Recurrent, m.Conv1D: Conv1D, m.MaxPooling1D: MaxPooling1D, m.Dense: Dense}


class Network(nn.Module):
    """The sequential model of a ``reprokit.models.Model``."""

    def __init__(self, spec: m.Model, parametrization: str = "keras"):
        super().__init__()
        if parametrization not in ("keras", "native"):
            raise ValueError(f"parametrization must be 'keras' or 'native', not {parametrization!r}")
        self.spec, self.parametrization = spec, parametrization
        layers, features = [], spec.features
        for s in spec.layers:
            layer = Embedding(s, parametrization) if isinstance(s, m.Embedding) else \
                LAYERS[type(s)](s, features, parametrization)
            features = layer.out_features
            layers.append(layer)
        self.layers = nn.ModuleList(layers)
        self.optimizer: torch.optim.Optimizer | None = None

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def penalty(self):
        return sum(layer.penalty() for layer in self.layers if hasattr(layer, "penalty"))


def build(spec: m.Model, seed: int = 0, parametrization: str = "keras") -> Network:
    torch.manual_seed(seed)
    return Network(spec, parametrization).to(DEVICE)  # drawn on the CPU: the same weights on any device


def param_counts(model: Network) -> list[int]:
    return [sum(p.numel() for p in layer.parameters()) for layer in model.layers]


@torch.no_grad()
def output_shapes(model: Network) -> list[tuple]:
    """Output shape per layer from two probe batches of different batch size (and length, where
    the model takes any length); a dimension that changes between them is shown as None."""
    spec = model.spec

    def probe(batch: int, steps: int) -> list[tuple]:
        shape = (batch, steps) if spec.tokens else (batch, steps, spec.features)
        x = torch.zeros(shape, dtype=torch.long if spec.tokens else torch.float32)
        shapes = []
        for layer in model.layers:
            x = layer(x)
            shapes.append(tuple(x.shape))
        return shapes

    a = probe(2, spec.steps or 37)
    b = probe(3, spec.steps or 41)
    return [tuple(i if i == j else None for i, j in zip(sa, sb)) for sa, sb in zip(a, b)]


def get_weights(model: Network) -> list[np.ndarray]:
    return [w.detach().cpu().numpy().copy() for layer in model.layers for w in layer.keras_weights()]


@torch.no_grad()
def set_weights(model: Network, weights: list[np.ndarray]) -> None:
    i = 0
    for layer in model.layers:
        n = len(layer.keras_weights())
        layer.load_keras([torch.as_tensor(np.asarray(w)) for w in weights[i:i + n]])
        i += n
    if i != len(weights):
        raise ValueError(f"{len(weights)} arrays given, the model takes {i}")


def _tensor(x: np.ndarray, spec: m.Model) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.long if spec.tokens else torch.float32).to(DEVICE)


def _labels(y) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y)).to(DEVICE)


@torch.no_grad()
def forward(model: Network, x: np.ndarray) -> np.ndarray:
    model.eval()
    return model(_tensor(x, model.spec)).cpu().numpy()


predict = forward  # torch runs its forward pass as called (keras.predict: Keras's compiled one)


def binary_crossentropy(p: torch.Tensor, y: torch.Tensor, framework: str = "keras") -> torch.Tensor:
    """Per-element binary cross-entropy of probabilities ``p``. "keras": Keras on TensorFlow's, which
    computes from the logits of a sigmoid output (``_sigmoid``; ``sigmoid_cross_entropy_with_logits``:
    a saturated wrong output keeps its gradient) and clips other probabilities to [1e-7, 1 - 1e-7].
    "torch": ``torch.nn.functional.binary_cross_entropy``, which bounds each log at -100."""
    if framework == "torch":
        return nn.functional.binary_cross_entropy(p, y, reduction="none")
    logits = getattr(p, "_keras_logits", None)
    if logits is not None:
        return nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    p = p.clamp(1e-7, 1 - 1e-7)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def loss_fn(spec: m.Model, loss: str | None = None, framework: str = "keras"):
    """The training loss: ``loss`` where an experiment names one, else the one the head implies;
    binary cross-entropy in ``framework``'s formula (``binary_crossentropy``)."""
    name = loss or spec.loss
    if name == "binary_crossentropy":
        return lambda p, y: binary_crossentropy(p, y, framework).mean()
    if name == "nll":
        return lambda p, y: nn.functional.nll_loss(p.reshape(-1, p.shape[-1]), y.reshape(-1).long())
    return lambda p, y: nn.functional.mse_loss(p, y)


def _loss(model: Network, x: np.ndarray, y: np.ndarray) -> torch.Tensor:
    spec = model.spec
    pred = model(_tensor(x, spec))
    target = _labels(np.asarray(y, dtype="float32")).reshape(pred.shape[:-1] + (-1,)) \
        if spec.loss != "nll" else _labels(y)
    if spec.loss != "nll" and target.shape != pred.shape:
        target = target.reshape(pred.shape)
    loss = loss_fn(spec, getattr(model, "loss_name", None), getattr(model, "loss_framework", "keras"))
    return loss(pred, target) + model.penalty()


def loss_and_gradients(model: Network, spec: m.Model, x: np.ndarray, y: np.ndarray
                       ) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients in Keras's weight layout (so they compare one to one with Keras's)."""
    model.train()
    model.zero_grad()
    loss = _loss(model, x, y)
    loss.backward()

    def grad(t):  # the zero bias buffer of Keras's form has no gradient
        return t.grad if t.grad is not None else torch.zeros_like(t)
    grads = [g for layer in model.layers for g in layer.keras_weights(grad)]
    return loss.item(), [g.detach().cpu().numpy().copy() for g in grads]


def compile(model: Network, spec: m.Model, optimizer: str, learning_rate: float,
            loss: str | None = None, framework: str = "keras", **kw) -> None:
    """``train_step``'s optimizer and loss; binary cross-entropy in ``framework``'s formula."""
    cls = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD}[optimizer]
    model.optimizer = cls(model.parameters(), lr=learning_rate, **kw)
    model.loss_name, model.loss_framework = loss, framework


def train_step(model: Network, x: np.ndarray, y: np.ndarray) -> float:
    model.train()
    model.optimizer.zero_grad()
    loss = _loss(model, x, y)
    loss.backward()
    model.optimizer.step()
    return loss.item()


def optimizer_params(model: Network) -> int:
    """Elements of the optimizer's state (Adam: exp_avg, exp_avg_sq and a step count per tensor)."""
    return sum(t.numel() for state in model.optimizer.state.values() for t in state.values()
               if torch.is_tensor(t))


def validation_split(arrays: tuple[np.ndarray, ...], fraction: float) -> tuple[tuple, tuple]:
    """Keras's rule, reimplemented for the torch trainer: the last ``floor(n * fraction)``-ish
    samples validate (``split_at = floor(n * (1 - fraction))``), in order, before any shuffle."""
    n = len(arrays[0])
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at in (0, n):
        raise ValueError(f"{n} samples cannot be split with validation_split={fraction}")
    return tuple(a[:split_at] for a in arrays), tuple(a[split_at:] for a in arrays)


def input_shape(x: np.ndarray) -> tuple:
    """Shape of ``x`` as the tensor the torch model is fed."""
    return tuple(torch.as_tensor(np.asarray(x)).shape)


def trainable_count(model: Network) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class _KerasOptimizer(torch.optim.Optimizer):
    def scratch(self, p: torch.Tensor) -> torch.Tensor:
        """A buffer shaped like ``p`` for the denominator, kept between steps: the same arithmetic
        as a fresh tensor, without allocating (and page-faulting) one per step and weight, which
        cost the grouped trainer's per-seed embedding tables a third of their step."""
        buffers = self.__dict__.setdefault("_scratch", {})
        if id(p) not in buffers:
            buffers[id(p)] = torch.empty_like(p)
        return buffers[id(p)]


class KerasRMSprop(_KerasOptimizer):
    """Keras 3's RMSprop: ``v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + eps)`` (eps inside the
    root, unlike torch.optim.RMSprop), rho 0.9, eps 1e-7."""

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                v = self.state[p].setdefault("velocity", torch.zeros_like(p))
                v.mul_(group["rho"]).addcmul_(p.grad, p.grad, value=1 - group["rho"])
                denominator = torch.add(v, group["eps"], out=self.scratch(p)).sqrt_()  # (v + eps).sqrt()
                p.addcdiv_(p.grad, denominator, value=-group["lr"])


class KerasAdam(_KerasOptimizer):
    """Keras 3's Adam: ``w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``, eps 1e-7."""

    def __init__(self, params, lr: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999, eps: float = 1e-7):
        super().__init__(params, {"lr": lr, "beta_1": beta_1, "beta_2": beta_2, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            b1, b2 = group["beta_1"], group["beta_2"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                t = state["t"] = state.get("t", 0) + 1
                m = state.setdefault("m", torch.zeros_like(p))
                v = state.setdefault("v", torch.zeros_like(p))
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                alpha = group["lr"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                denominator = torch.sqrt(v, out=self.scratch(p)).add_(group["eps"])  # v.sqrt() + eps
                p.addcdiv_(m, denominator, value=-alpha)


KERAS_OPTIMIZERS = {"adam": KerasAdam, "rmsprop": KerasRMSprop}
TORCH_OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}


def optimizer(exp, params) -> torch.optim.Optimizer:
    """The experiment's optimizer with its framework's defaults: Keras's, ported, or torch.optim's
    (``params``: tensors, or param groups whose own ``lr_scale`` multiplies the learning rate)."""
    table = TORCH_OPTIMIZERS if exp.framework == "torch" else KERAS_OPTIMIZERS
    groups = [dict(g) for g in params] if isinstance(params, list) and params and isinstance(params[0], dict) \
        else [{"params": list(params)}]
    for g in groups:
        g["lr"] = exp.learning_rate * g.pop("lr_scale", 1.0)
    return table[exp.optimizer](groups, lr=exp.learning_rate)


def _accuracy(pred: torch.Tensor, y: torch.Tensor, spec: m.Model) -> torch.Tensor:
    """Summed per-sample accuracy; a sample with several outputs scores the mean over them, as
    Keras's ``binary_accuracy`` averages over the last axis."""
    if spec.loss == "nll":
        return (pred.argmax(-1) == y).float().sum()
    return ((pred.reshape(y.shape) > 0.5).float() == y).float().reshape(len(y), -1).mean(1).sum()


def _target(pred: torch.Tensor, y: torch.Tensor, spec: m.Model) -> torch.Tensor:
    return y if spec.loss == "nll" else y.reshape(pred.shape)


@torch.no_grad()
def evaluate(model: Network, batches, loss: str | None = None, framework: str = "keras") -> dict:
    """Sample-weighted mean loss and accuracy over ``batches`` of (x, y) tensors."""
    model.eval()
    loss_fn_, total, correct, n = loss_fn(model.spec, loss, framework), 0.0, 0.0, 0
    for xb, yb in batches:
        pred = model(xb)
        total += loss_fn_(pred, _target(pred, yb, model.spec)).item() * len(xb)
        correct += _accuracy(pred, yb, model.spec).item()
        n += len(xb)
    return {"loss": total / n, "accuracy": correct / n}


def _as_batches(data, spec: m.Model, batch_size: int) -> list:
    """(x, y) arrays cut into batches in order, or ready batches, as tensors."""
    if isinstance(data, tuple):
        x, y = _tensor(data[0], spec), _labels(data[1])
        return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return [(_tensor(xb, spec), _labels(yb)) for xb, yb in data]


def fit(spec: m.Model, exp, data, seed: int) -> tuple[dict, Network]:
    """Keras's ``fit`` loop, ported: the last ``validation_split`` validates, the rest is shuffled
    every epoch, batches of ``batch_size`` (the last one partial); epoch loss and accuracy are the
    sample-weighted means over the epoch's batches, as Keras reports them. Ready batches
    (``data.batches``) are visited in a new order each epoch."""
    import time

    model = build(spec, seed, "native" if exp.framework == "torch" else "keras")
    model.optimizer = optimizer(exp, model.parameters())
    gen = torch.Generator().manual_seed(seed)
    if data.batches is not None:
        train = _as_batches(data.batches, spec, exp.batch_size)
        val = _as_batches(data.val, spec, exp.batch_size)
    else:
        x, y = data.x, data.y
        if exp.validation_split:
            (x, y), val_arrays = validation_split((x, y), exp.validation_split)
        else:
            val_arrays = data.val
        x, y = _tensor(x, spec), _labels(y)
        val = _as_batches(tuple(val_arrays), spec, exp.batch_size)
    test = _as_batches(tuple(data.test) if isinstance(data.test, tuple) else data.test, spec, exp.batch_size)
    loss_fn_ = loss_fn(spec, exp.loss, exp.framework)
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    times = []
    for _ in range(exp.epochs):
        t0 = time.perf_counter()
        model.train()
        if data.batches is not None:
            epoch = [train[i] for i in torch.randperm(len(train), generator=gen).tolist()]
        else:
            order = torch.randperm(len(x), generator=gen)
            epoch = ((x[idx], y[idx]) for idx in order.split(exp.batch_size))
        total, correct, n = 0.0, 0.0, 0
        for xb, yb in epoch:
            model.optimizer.zero_grad()
            pred = model(xb)
            loss = loss_fn_(pred, _target(pred, yb, spec)) + model.penalty()
            loss.backward()
            model.optimizer.step()
            total += loss.item() * len(xb)
            correct += _accuracy(pred.detach(), yb, spec).item()
            n += len(xb)
        v = evaluate(model, val, exp.loss, exp.framework)
        times.append(time.perf_counter() - t0)
        progress.epoch(len(times))
        history["loss"].append(total / n)
        history["accuracy"].append(correct / n)
        history["val_loss"].append(v["loss"])
        history["val_accuracy"].append(v["accuracy"])
    return {"history": history, "test": evaluate(model, test, exp.loss, exp.framework), "epoch_s": times}, model


def input_gradients(model: Network, spec: m.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the batch loss with respect to the (float) inputs, shaped like ``x``."""
    xt = torch.as_tensor(x, dtype=torch.float32).to(DEVICE).requires_grad_(True)
    pred = model(xt)
    loss_fn(spec)(pred, _target(pred, _labels(y), spec)).backward()
    return xt.grad.cpu().numpy()


def groups(spec: m.Model) -> bool:
    """Does ``fit_group`` train this model (reprokit.backends.torch_group)?"""
    from reprokit.backends import torch_group
    return torch_group.supports(spec)


def fit_group(spec: m.Model, exp, datas: list, seeds: list[int]) -> list[tuple[dict, Network]]:
    """``fit`` for several seeds as one group: reprokit.backends.torch_group.fit_group."""
    from reprokit.backends import torch_group
    return torch_group.fit_group(spec, exp, datas, seeds)
