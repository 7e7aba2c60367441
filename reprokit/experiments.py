"""Training runs, each defined once as a document's recipe and shared by every claim that reads it.

An ``Experiment`` names a model of ``reprokit.models``, the data preparation, optimizer, epochs,
batch size and validation exactly as the document wrote them. ``run(experiment, backend, seed)``
trains it once per (experiment, backend, seed) and caches the result (``reprokit.cache``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from reprokit import models
from reprokit.errors import ReprokitError


@dataclass(frozen=True)
class ImdbData:
    num_words: int
    maxlen: int
    padding: str = "pre"
    truncating: str = "pre"

    def arrays(self):
        from reprokit.data import imdb
        from reprokit.data.sequences import pad_sequences
        (x, y), (xt, yt) = imdb.load(num_words=self.num_words)
        pad = lambda s: pad_sequences(s, self.maxlen, padding=self.padding, truncating=self.truncating)  # noqa: E731
        return pad(x), y.astype("float32"), pad(xt), yt.astype("float32")

    def digest(self) -> str:
        from reprokit.data import imdb
        return imdb.DIGESTS["x_train"] + imdb.DIGESTS["x_test"] + imdb.DIGESTS["y"]


@dataclass(frozen=True)
class Experiment:
    name: str
    model: str
    data: ImdbData
    optimizer: str  # keras semantics: adam (Keras defaults), rmsprop (Keras defaults)
    learning_rate: float
    epochs: int
    batch_size: int
    validation_split: float | None = None  # None: validate on the test set
    quote: str = ""

    def recipe(self) -> dict:
        return dataclasses.asdict(self)


def _imdbq(name: str, cell: str = "simple", units: int = 5, length: int = 30, optimizer: str = "rmsprop",
           lr: float = 1e-4, epochs: int = 10, quote: str = "") -> Experiment:
    return Experiment(name, models.imdbq(cell, units, length).name,
                      ImdbData(2000, length, "post", "post"), optimizer, lr, epochs, 64, 0.2, quote)


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in [
    _imdbq("imdbq.adam5", optimizer="adam", lr=1e-3, epochs=5,
           quote="compile(optimizer='adam', ...) fit(x_train_padded, y_train, epochs=5, batch_size=64, validation_split=0.2)"),
    _imdbq("imdbq.rmsprop10",
           quote="RMSprop(learning_rate=0.0001) ... fit(x_train_padded, y_train, epochs=10, batch_size=64, validation_split=0.2)"),
    _imdbq("imdbq.cells.lstm", cell="lstm", quote="build_and_evaluate_rnn('LSTM'): units=5, max_len=30, RMSprop(1e-4), 10 epochs"),
    _imdbq("imdbq.cells.gru", cell="gru", quote="build_and_evaluate_rnn('GRU'): units=5, max_len=30, RMSprop(1e-4), 10 epochs"),
]}


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ReprokitError(f"unknown experiment {name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[name]


def environment(backend: str) -> dict[str, str]:
    """Library versions and machine: part of the cache key and of every recorded result."""
    import reprokit
    env = {"reprokit": reprokit.__version__, "numpy": np.__version__, "python": platform.python_version(),
           "machine": platform.machine(), "backend": backend}
    # Thread counts change the order of float sums, and so the exact result of a run.
    env["threads"] = os.environ.get("REPROKIT_THREADS", "all")
    if backend.startswith("keras"):
        import keras
        env["keras"] = keras.__version__
        env["keras_backend"] = keras.backend.backend()
        if env["keras_backend"] == "tensorflow":
            import tensorflow as tf
            env["tensorflow"] = tf.__version__
    else:
        import torch
        env["torch"] = torch.__version__
    return env


def train(exp: Experiment, backend: str, seed: int) -> dict[str, Any]:
    """Train ``exp`` once in ``backend`` from ``seed``: per-epoch history, test metrics, times."""
    from reprokit.backends import load
    bk = load(backend)
    spec = models.get(exp.model)
    x, y, xt, yt = exp.data.arrays()
    start = time.perf_counter()
    result = bk.fit(spec, exp, x, y, xt, yt, seed)
    result["wall_s"] = time.perf_counter() - start
    return json.loads(json.dumps(result))  # plain floats and lists only


def run(name: str, backend: str, seed: int) -> dict[str, Any]:
    """The result of one training run, from the cache when an identical run was done before."""
    from reprokit import cache
    exp = get(name)
    key = {"recipe": exp.recipe(), "seed": seed, "data": exp.data.digest(), "env": environment(backend)}
    return cache.get_or_compute(key, f"{name}/{backend}-seed{seed}", lambda: train(exp, backend, seed))
