"""pytest-benchmark: what 20 seeds trained as one group cost against one seed alone.

One training step of the real trainers on a batch of 64 (per seed), per family whose cost is
per-step overhead: in torch ``torch.fit``'s step (forward, loss, backward, the Keras-formula
optimizer) against ``torch_group``'s step for 20 seeds; in Keras ``train_on_batch`` of the solo
model against that of ``keras_group``'s model for 20 seeds (the same Keras loss, optimizer and
RNN layer ``fit`` runs). ``solo`` and ``group20`` of a family and backend share a benchmark group,
so the table shows their ratio: 20 seeds cost ``group20 / solo`` times one seed (the goal is at
most 4). The index task's steps cycle through the lengths 3..10 as its batches do; a group pads
each step to the longest of its seeds. Marked ``reprokit_time``: run alone, ``pytest -m reprokit_time -p no:xdist``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.reprokit_time

FAMILIES = {  # family: (experiment, sequence length or None for the index task's 3..10)
    "imdbq.simple5.len30": ("imdbq.rmsprop10", 30),
    "imdbq.lstm5.len30": ("imdbq.cells.lstm", 30),
    "imdbq.gru5.len30": ("imdbq.cells.gru", 30),
    "imdbq.simple5.len200": ("imdbq.len200", 200),
    "index.gru10": ("index.gru10", None),
    "binadd.lstm5.len7": ("binadd.h5.l7.ce", 8),
}
SEEDS = 20
LENGTHS = list(range(3, 11))


@pytest.fixture(autouse=True)
def _alone(request):
    if hasattr(request.config, "workerinput"):
        pytest.skip("timing needs the cores alone: run `pytest -m reprokit_time -p no:xdist`")


def _batches(spec, seeds: int, length: int | None, rng: np.random.Generator) -> list:
    """One round of (x, y) batches with a seed axis: one batch, or one per index-task length."""
    import torch
    out = []
    for n in ([length] if length else LENGTHS):
        if spec.tokens:
            x = torch.as_tensor(rng.integers(0, 2000, (seeds, 64, n)))
        else:
            x = torch.as_tensor(rng.random((seeds, 64, n, spec.features)), dtype=torch.float32)
        if spec.loss == "nll":
            y = torch.as_tensor(rng.integers(0, 10, (seeds, 64)))
        elif spec.layers[-2].return_sequences:
            y = torch.as_tensor(rng.integers(0, 2, (seeds, 64, n)), dtype=torch.float32)
        else:
            y = torch.as_tensor(rng.integers(0, 2, (seeds, 64)), dtype=torch.float32)
        lengths = torch.as_tensor(rng.choice(LENGTHS[:n - 2], seeds)) if not length else None
        out.append((x, y, lengths))
    return out


@pytest.mark.parametrize("trainer", ["solo", "group20"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_grouped_step_torch(benchmark, family, trainer):
    pytest.importorskip("torch")
    from reprokit import experiments, models
    from reprokit.backends import torch as solo
    from reprokit.backends import torch_group
    exp = experiments.get(FAMILIES[family][0])
    spec = models.get(exp.model)
    batches = _batches(spec, SEEDS if trainer == "group20" else 1, FAMILIES[family][1], np.random.default_rng(0))
    if trainer == "solo":
        model = solo.build(spec, 0)
        optimizer = solo.KERAS_OPTIMIZERS[exp.optimizer](model.parameters(), lr=exp.learning_rate)
        loss_fn = solo.loss_fn(spec, exp.loss)
        batches = [(x[0], y[0]) for x, y, _ in batches]

        def step():
            for x, y in batches:
                optimizer.zero_grad()
                pred = model(x)
                loss = loss_fn(pred, solo._target(pred, y, spec))
                loss.backward()
                optimizer.step()
    else:
        group = torch_group.Group(spec, [solo.get_weights(solo.build(spec, s)) for s in range(SEEDS)])
        optimizer = solo.KERAS_OPTIMIZERS[exp.optimizer](group.parameters(), lr=exp.learning_rate)

        def step():
            for x, y, lengths in batches:
                optimizer.zero_grad()
                torch_group._seed_losses(spec, exp.loss, group(x, lengths), y).sum().backward()
                optimizer.step()
    benchmark.group = f"grouped {family} torch"
    benchmark.extra_info.update(family=family, backend="torch", trainer=trainer, seeds=SEEDS if trainer == "group20" else 1)
    benchmark.pedantic(step, rounds=15, warmup_rounds=3)


@pytest.mark.parametrize("trainer", ["solo", "group20"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_grouped_step_keras(benchmark, family, trainer):
    pytest.importorskip("keras")
    from reprokit import experiments, models
    from reprokit.backends import load
    kb = load("keras")
    import keras
    if keras.backend.backend() != "tensorflow":
        pytest.skip("Keras's grouped trainer runs on TensorFlow")
    from reprokit.backends import keras_group
    exp = experiments.get(FAMILIES[family][0])
    spec = models.get(exp.model)
    length = FAMILIES[family][1]
    seeds = SEEDS if trainer == "group20" else 1
    batches = [(x.numpy(), y.numpy(), lengths) for x, y, lengths in
               _batches(spec, seeds, length, np.random.default_rng(0))]
    if trainer == "solo":
        model = kb.build(spec, 0)
        kb.compile(model, spec, exp.optimizer, exp.learning_rate, loss=exp.loss)
        batches = [(x[0], y[0]) for x, y, _ in batches]

        def step():
            for x, y in batches:
                model.train_on_batch(x, y)
    else:
        steps = max(LENGTHS) if length is None else length
        group, _ = keras_group.build_group(spec, [kb.get_weights(kb.build(spec, s)) for s in range(SEEDS)], steps,
                                           flags=length is None)
        keras_group._compile(group, spec, exp, SEEDS)
        fed = []
        for x, y, lengths in batches:
            y = np.swapaxes(y, 0, 1)[..., None]
            x = np.swapaxes(x, 0, 1)
            if length is None:  # pad to the longest length, flag each seed's own steps
                flags = (np.arange(steps) < np.asarray(lengths)[:, None]).astype("float32")
                x = np.pad(x, ((0, 0), (0, 0), (0, steps - x.shape[2]), (0, 0)))
                fed.append(((x, np.broadcast_to(flags, (x.shape[0], *flags.shape)).copy()), y))
            else:
                fed.append((x, y))

        def step():
            for x, y in fed:
                group.train_on_batch(x, y)
    benchmark.group = f"grouped {family} keras"
    benchmark.extra_info.update(family=family, backend="keras", trainer=trainer, seeds=seeds)
    benchmark.pedantic(step, rounds=15, warmup_rounds=3)
