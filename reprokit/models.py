"""Backend-neutral descriptions of every model in the five documents.

A model is described once here, as frozen dataclasses, and built by each backend
(``reprokit.backends.keras.build``, ``reprokit.backends.torch.build``). Weights travel between
backends in Keras's layout: per layer, in order, the arrays ``keras.Model.get_weights()`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

Cell = Literal["simple", "lstm", "gru"]
Activation = Literal["linear", "relu", "sigmoid", "log_softmax"]


@dataclass(frozen=True)
class Embedding:
    input_dim: int
    output_dim: int


@dataclass(frozen=True)
class Recurrent:
    """A fused recurrent core: Keras SimpleRNN/LSTM/GRU, torch nn.RNN/LSTM/GRU."""
    cell: Cell
    units: int
    return_sequences: bool = False
    bidirectional: bool = False
    kernel_stddev: float | None = None  # RandomNormal(stddev=...) on the input kernel
    l2: float = 0.0  # L2 penalty on kernel and recurrent kernel (Keras: kernel/recurrent_regularizer)

    @property
    def gates(self) -> int:
        return {"simple": 1, "lstm": 4, "gru": 3}[self.cell]


@dataclass(frozen=True)
class Conv1D:
    filters: int
    kernel_size: int
    activation: Activation = "relu"


@dataclass(frozen=True)
class MaxPooling1D:
    pool_size: int


@dataclass(frozen=True)
class Dense:
    units: int
    activation: Activation = "linear"
    l2: float = 0.0  # L2 penalty on the kernel


Layer = Union[Embedding, Recurrent, Conv1D, MaxPooling1D, Dense]


@dataclass(frozen=True)
class Model:
    """A sequential model. ``steps`` None means variable length; ``features`` None means the
    input is token ids (int32) rather than float vectors of that size."""
    name: str
    steps: int | None
    features: int | None
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    @property
    def tokens(self) -> bool:
        return self.features is None

    @property
    def loss(self) -> str:
        """The loss a head implies: binary cross-entropy for sigmoid, NLL for log-softmax."""
        head = self.layers[-1]
        return {"sigmoid": "binary_crossentropy", "log_softmax": "nll"}.get(head.activation, "mse")


def torch_initial_weights(spec: Model, seed: int) -> list:
    """Initial weights drawn as torch's own modules draw them, in Keras's layout, for Keras runs of
    a document written for torch (``Experiment.framework``). torch draws every weight and both
    biases of ``nn.RNN/LSTM/GRU`` from U(-1/sqrt(units), 1/sqrt(units)); ``nn.Linear`` and
    ``nn.Conv1d`` their weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform
    with a = sqrt(5)); ``nn.Embedding`` N(0, 1). Keras's SimpleRNN and LSTM have one bias where torch
    has two: it starts as their sum. Drawn with numpy from ``seed`` (no torch needed), so the
    distribution is torch's and the draws are not."""
    import numpy as np
    rng = np.random.default_rng(seed)
    uniform = lambda bound, *shape: rng.uniform(-bound, bound, shape).astype("float32")  # noqa: E731
    weights, features = [], spec.features
    for layer in spec.layers:
        if isinstance(layer, Embedding):
            weights.append(rng.standard_normal((layer.input_dim, layer.output_dim)).astype("float32"))
            features = layer.output_dim
        elif isinstance(layer, Recurrent):
            u, g, k = layer.units, layer.gates, layer.units ** -0.5
            for _ in range(2 if layer.bidirectional else 1):
                weights += [uniform(k, features, g * u), uniform(k, u, g * u)]
                weights.append(uniform(k, 2, g * u) if layer.cell == "gru" else uniform(k, g * u) + uniform(k, g * u))
            features = u * (2 if layer.bidirectional else 1)
        elif isinstance(layer, Conv1D):
            k = (features * layer.kernel_size) ** -0.5
            weights += [uniform(k, layer.kernel_size, features, layer.filters), uniform(k, layer.filters)]
            features = layer.filters
        elif isinstance(layer, Dense):
            k = features ** -0.5
            weights += [uniform(k, features, layer.units), uniform(k, layer.units)]
            features = layer.units
    return weights


def imdbq(cell: Cell = "simple", units: int = 5, length: int = 30) -> Model:
    """Documents 000/001: Embedding(2000, 50), one cell with RandomNormal(stddev=0.001), sigmoid."""
    return Model(f"imdbq.{cell}{units}.len{length}", length, None, (
        Embedding(2000, 50), Recurrent(cell, units, kernel_stddev=0.001), Dense(1, "sigmoid")))


def imdb500(variant: Literal["basic", "stacked", "bidirectional", "hybrid"]) -> Model:
    """Document 002: Embedding(10000, 128) and SimpleRNN(64) at length 500, four variants."""
    cores: dict[str, tuple[Layer, ...]] = {
        "basic": (Recurrent("simple", 64),),
        "stacked": (Recurrent("simple", 64, return_sequences=True), Recurrent("simple", 64)),
        "bidirectional": (Recurrent("simple", 64, bidirectional=True),),
        "hybrid": (Conv1D(64, 5, "relu"), MaxPooling1D(4), Recurrent("simple", 64)),
    }
    return Model(f"imdb500.{variant}", 500, None,
                 (Embedding(10000, 128), *cores[variant], Dense(1, "sigmoid")))


def stack4() -> Model:
    """Document 003: Embedding(10000, 32), four SimpleRNN(32), sigmoid; built for any length."""
    rnns = tuple(Recurrent("simple", 32, return_sequences=i < 3) for i in range(4))
    return Model("stack4", None, None, (Embedding(10000, 32), *rnns, Dense(1, "sigmoid")))


def mnist(cell: Cell, units: int = 128, bidirectional: bool = False, l2: float = 0.0) -> Model:
    """Document 004: 28 rows of 28 pixels, one cell, Linear(h, 10) + LogSoftmax."""
    name = f"mnist.{'bi' if bidirectional else ''}{cell}{units}{'.l2' if l2 else ''}"
    return Model(name, 28, 28, (Recurrent(cell, units, bidirectional=bidirectional, l2=l2),
                                Dense(10, "log_softmax", l2=l2)))


def index(cell: Cell, units: int) -> Model:
    """Document 004, digit at index K: one-hot digits (size 10), variable length, 10 classes."""
    return Model(f"index.{cell}{units}", None, 10, (Recurrent(cell, units), Dense(10, "log_softmax")))


def binadd(units: int) -> Model:
    """Document 004, binary addition: LSTM(2, h) and a sigmoid sum bit at every step."""
    return Model(f"binadd.lstm{units}", None, 2,
                 (Recurrent("lstm", units, return_sequences=True), Dense(1, "sigmoid")))


def catalogue() -> dict[str, Model]:
    """Every distinct model architecture of the five documents, by name."""
    models = [imdbq(c, 5) for c in ("simple", "lstm", "gru")]
    models += [imdbq("simple", u) for u in (2, 10, 20)]
    models += [imdbq("simple", 5, n) for n in (50, 80, 100, 150, 200)]
    models += [imdbq("simple", u, 200) for u in (2, 10, 20)]  # the notebook's hidden sweep ran at 200
    models += [imdb500(v) for v in ("basic", "stacked", "bidirectional", "hybrid")]
    models += [stack4()]
    models += [mnist("simple"), mnist("lstm"), mnist("lstm", 64), mnist("gru"),
               mnist("lstm", bidirectional=True), mnist("lstm", l2=0.001)]
    models += [index(c, u) for c in ("simple", "lstm", "gru") for u in (2, 5, 10)]
    models += [binadd(3), binadd(5)]
    return {m.name: m for m in models}


def get(name: str) -> Model:
    models = catalogue()
    if name not in models:
        from reprokit.errors import ReprokitError
        raise ReprokitError(f"unknown model {name!r}; known models: {', '.join(sorted(models))}")
    return models[name]
