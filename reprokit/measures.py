"""Measurements a claim can name in ``expected/`` (field ``measure``), each run in one backend.

A measurement takes the backend name and the claim's ``args`` and returns plain Python data
(numbers, lists, dicts, strings), which the claim's comparison checks. Adding a claim that uses an
existing measurement takes YAML only.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from reprokit import models
from reprokit.backends import load

MEASURES: dict[str, Callable[..., Any]] = {}


def measure(name: str):
    def register(fn):
        MEASURES[name] = fn
        return fn
    return register


def _build(backend: str, model: str, seed: int = 0, parametrization: str = "keras"):
    bk = load(backend)
    spec = models.get(model)
    if backend == "torch":
        return bk, spec, bk.build(spec, seed, parametrization=parametrization)
    if parametrization != "keras":
        raise ValueError("only the torch backend has a native parametrization")
    return bk, spec, bk.build(spec, seed)


# -- data -------------------------------------------------------------------------------------

def _imdb(num_words: int | None):
    from reprokit.data import imdb
    return imdb.load(num_words=num_words)


@measure("imdb.sizes")
def imdb_sizes(backend: str, num_words: int | None = None) -> dict:
    (xt, _), (xs, _) = _imdb(num_words)
    return {"train": len(xt), "test": len(xs)}


@measure("imdb.label_counts")
def imdb_label_counts(backend: str, num_words: int | None = None) -> dict:
    (_, yt), (_, ys) = _imdb(num_words)
    return {split: {str(k): int(v) for k, v in zip(*np.unique(y, return_counts=True))}
            for split, y in (("train", yt), ("test", ys))}


@measure("imdb.train_shape")
def imdb_train_shape(backend: str, num_words: int | None = None) -> list:
    (xt, _), _ = _imdb(num_words)
    return list(xt.shape)


@measure("imdb.padded_shapes")
def imdb_padded_shapes(backend: str, num_words: int, maxlen: int, padding: str = "pre",
                       truncating: str = "pre") -> dict:
    """Shapes of the padded arrays as the backend's input tensors."""
    from reprokit.data.sequences import pad_sequences
    (xt, _), (xs, _) = _imdb(num_words)
    bk = load(backend)
    return {split: list(bk.input_shape(pad_sequences(x, maxlen, padding=padding, truncating=truncating)))
            for split, x in (("train", xt), ("test", xs))}


@measure("imdb.review")
def imdb_review(backend: str, num_words: int, index: int, field: str) -> Any:
    """Review ``index`` of the training set: its ``ids``, ``label`` or decoded ``text``."""
    from reprokit.data import imdb
    (xt, yt), _ = _imdb(num_words)
    return {"ids": lambda: list(xt[index]), "label": lambda: int(yt[index]),
            "text": lambda: imdb.decode(xt[index])}[field]()


@measure("validation_split")
def validation_split(backend: str, num_words: int, fraction: float) -> dict:
    """Sizes of the training and validation parts ``fit(validation_split=...)`` uses."""
    (xt, yt), _ = _imdb(num_words)
    train, val = load(backend).validation_split((np.arange(len(xt)), yt), fraction)
    return {"train": len(train[0]), "validation": len(val[0])}


# -- models -----------------------------------------------------------------------------------

@measure("params")
def params(backend: str, model: str, layers: str | list[int] = "all", parametrization: str = "keras") -> Any:
    """Parameter count per layer (``layers`` a list of indices, or ``"all"``), the ``"total"``, or
    the ``"summary"`` line of ``model.summary()``: per-layer counts, total and trainable."""
    bk, _, built = _build(backend, model, parametrization=parametrization)
    counts = bk.param_counts(built)
    if layers == "total":
        return sum(counts)
    if layers == "summary":
        return {"layers": counts, "total": sum(counts), "trainable": bk.trainable_count(built)}
    if layers == "all":
        return counts
    return [counts[i] for i in layers]


@measure("output_shapes")
def output_shapes(backend: str, model: str) -> list:
    bk, _, built = _build(backend, model)
    return [list(s) for s in bk.output_shapes(built)]


@measure("optimizer_params")
def optimizer_params(backend: str, model: str, optimizer: str, learning_rate: float, num_words: int,
                     maxlen: int, batch_size: int, padding: str = "post", truncating: str = "post",
                     parametrization: str = "keras") -> dict:
    """Optimizer-state size after training steps on real IMDB batches, and the total with weights.

    The state's size is fixed once the first step has created it; two steps are taken.
    """
    from reprokit.data.sequences import pad_sequences
    bk, spec, built = _build(backend, model, parametrization=parametrization)
    bk.compile(built, spec, optimizer, learning_rate)
    (xt, yt), _ = _imdb(num_words)
    for start in (0, batch_size):
        x = pad_sequences(xt[start:start + batch_size], maxlen, padding=padding, truncating=truncating)
        bk.train_step(built, x, yt[start:start + batch_size].astype("float32"))
    n = bk.optimizer_params(built)
    return {"optimizer": n, "total": n + sum(bk.param_counts(built))}


# -- training runs ----------------------------------------------------------------------------

def _runs(experiment: str, backend: str) -> list[dict]:
    from reprokit import experiments, settings
    return [experiments.run(experiment, backend, seed) for seed in settings.seeds()]


def _metric(run: dict, metric: str) -> float:
    """``test.accuracy``, ``val_accuracy`` (last epoch) or ``accuracy@1`` (epoch 1, 1-based)."""
    if metric.startswith("test."):
        return run["test"][metric[5:]]
    name, _, epoch = metric.partition("@")
    return run["history"][name][int(epoch) - 1 if epoch else -1]


@measure("training.metrics")
def training_metrics(backend: str, experiment: str, metrics: list[str]) -> dict:
    """Per metric, the seeds' values, mean and sample standard deviation."""
    runs = _runs(experiment, backend)
    out = {}
    for metric in metrics:
        values = [_metric(r, metric) for r in runs]
        out[metric] = {"mean": float(np.mean(values)), "n": len(values), "values": values,
                       "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
    return out


@measure("training.overfit")
def training_overfit(backend: str, experiment: str) -> dict:
    """Per seed: does the training loss fall every epoch while the validation loss ends above its
    minimum (it flattened and rose)? ``fraction``: the share of seeds that overfit so."""
    per_seed = []
    for r in _runs(experiment, backend):
        loss, val = r["history"]["loss"], r["history"]["val_loss"]
        falling = all(b < a for a, b in zip(loss, loss[1:]))
        per_seed.append(bool(falling and val[-1] > min(val) and int(np.argmin(val)) < len(val) - 1))
    return {"fraction": sum(per_seed) / len(per_seed), "per_seed": per_seed}
