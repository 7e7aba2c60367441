"""The vocabulary of backend-neutral model descriptions: layers and models as frozen dataclasses.

The models themselves are declared in the documents' files (``models:``, read by
``reprokit.declarations``), each once, and built by each backend
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
        """The loss a head implies: binary cross-entropy for sigmoid, NLL for log-softmax, else
        (a linear head, or a model with no dense head, as a notebook's summary shows) MSE."""
        activation = getattr(self.layers[-1], "activation", "linear")
        return {"sigmoid": "binary_crossentropy", "log_softmax": "nll"}.get(activation, "mse")


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


def catalogue() -> dict[str, Model]:
    """Every model the documents' files declare (``reprokit.declarations``), by name."""
    from reprokit import declarations, settings
    return declarations.load(settings.EXPECTED_DIR).models


def get(name: str) -> Model:
    models = catalogue()
    if name not in models:
        from reprokit.errors import ReprokitError
        raise ReprokitError(f"unknown model {name!r}; known models: {', '.join(sorted(models))}")
    return models[name]
