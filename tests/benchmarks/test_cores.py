"""pytest-benchmark timings of every recurrent core the documents use, forward and
forward+backward(+update) on one batch of the documented batch size, in each backend.

Grouped by model family and phase, so the ratios the time claims need read directly from one
table (``--benchmark-group-by=group``). Timing needs the cores to itself: these tests are marked
``time`` and skip under xdist (pytest-benchmark disables itself there); run them with
``pytest -m reprokit_time -p no:xdist`` (see README, "Benchmarks").
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.reprokit_time

CORES = {  # family: (models, batch, length for variable-length models)
    "imdbq": (["imdbq.simple5.len30", "imdbq.lstm5.len30", "imdbq.gru5.len30"], 64, None),
    "imdbq-hidden": (["imdbq.simple2.len200", "imdbq.simple10.len200", "imdbq.simple20.len200"], 64, None),
    "imdb500": (["imdb500.basic", "imdb500.stacked", "imdb500.bidirectional", "imdb500.hybrid"], 64, None),
    "stack4": (["stack4"], 128, 500),
    "mnist": (["mnist.simple128", "mnist.lstm128", "mnist.lstm64", "mnist.gru128", "mnist.bilstm128",
               "mnist.lstm128.l2"], 64, None),
    "index": (["index.simple10", "index.lstm10", "index.gru10"], 64, 10),
    "binadd": (["binadd.lstm3", "binadd.lstm5"], 64, 4),
}
CASES = [(family, model, backend, phase) for family, (names, _, _) in CORES.items() for model in names
         for backend in ("keras", "torch") for phase in ("forward", "train_step")]


@pytest.fixture(autouse=True)
def _alone(request):
    if hasattr(request.config, "workerinput"):
        pytest.skip("timing needs the cores alone: run `pytest -m reprokit_time -p no:xdist`")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _setup(model: str, backend: str, family: str, parametrization: str = "keras"):
    from reprokit import models
    from reprokit.backends import load
    from reprokit.measures import synthetic_batch
    bk = load(backend)
    spec = models.get(model)
    built = bk.build(spec, 0, parametrization=parametrization) if backend == "torch" else bk.build(spec, 0)
    bk.compile(built, spec, "adam", 1e-3)
    _, batch, length = CORES[family]
    x, y = synthetic_batch(spec, batch, length)
    return bk, built, x, y


@pytest.mark.parametrize("family,model,backend,phase", CASES,
                         ids=[f"{m}-{b}-{p}" for _, m, b, p in CASES])
def test_core(benchmark, family, model, backend, phase):
    bk, built, x, y = _setup(model, backend, family)
    benchmark.group = f"{family} {phase}"
    benchmark.extra_info.update(model=model, backend=backend, phase=phase)
    # the forward pass as each framework runs it for inference: Keras's compiled predict step
    fn = (lambda: bk.predict(built, x)) if phase == "forward" else (lambda: bk.train_step(built, x, y))
    benchmark.pedantic(fn, rounds=5 if family in ("imdb500", "stack4") else 15, warmup_rounds=2)


TORCH_PAIRS = ["imdbq.simple5.len30", "imdbq.lstm5.len30", "imdbq.gru5.len30", "imdb500.basic",
               "mnist.lstm128", "mnist.gru128", "mnist.simple128"]


@pytest.mark.parametrize("parametrization", ["keras", "native"])
@pytest.mark.parametrize("model", TORCH_PAIRS)
def test_torch_parametrization(benchmark, model, parametrization):
    """reprokit's torch cores in Keras's parametrization against plain fused nn.RNN/LSTM/GRU."""
    family = next(f for f, (names, _, _) in CORES.items() if model in names)
    bk, built, x, y = _setup(model, "torch", family, parametrization)
    benchmark.group = f"torch parametrization {model}"
    benchmark.extra_info.update(model=model, parametrization=parametrization)
    benchmark.pedantic(lambda: bk.train_step(built, x, y), rounds=5 if family == "imdb500" else 15, warmup_rounds=2)


@pytest.mark.parametrize("model", TORCH_PAIRS)
def test_keras_parametrization_costs_at_most_20_percent(model):
    """reprokit's torch cores in Keras's parametrization (one bias, reordered gates, Keras init)
    keep torch's fused kernels: a training step costs at most 1.2x plain nn.RNN/LSTM/GRU. Decided
    like the time claims: interleaved rounds after warm-up, median of the per-round ratios."""
    import time

    import numpy as np

    family = next(f for f, (names, _, _) in CORES.items() if model in names)
    steps = {p: _setup(model, "torch", family, p) for p in ("keras", "native")}
    repeat = 1 if family == "imdb500" else 10

    def timed(p: str) -> float:
        bk, built, x, y = steps[p]
        t = time.perf_counter()
        for _ in range(repeat):
            bk.train_step(built, x, y)
        return time.perf_counter() - t

    for p in steps:
        timed(p)
    rounds = 7 if family == "imdb500" else 15
    ratios = []
    for _ in range(rounds):
        a, b = timed("keras"), timed("native")
        ratios.append(a / b)
    median = float(np.median(ratios))
    print(f"\n{model}: keras/native train step {median:.3f} (q1 {np.quantile(ratios, 0.25):.3f}, "
          f"q3 {np.quantile(ratios, 0.75):.3f}, {rounds} rounds)")
    assert median <= 1.2, f"{model}: the Keras parametrization's step costs {median:.2f}x torch's native one"
