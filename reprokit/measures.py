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
# Every training measurement takes ``experiment`` (one name) or ``experiments`` (several) and reads
# the shared runs of ``reprokit.experiments`` for the profile's seeds.

RUNS: Callable[[str, str], list[dict]] | None = None  # set by reprokit.check.decide: which seeds to read


def runs(experiment: str, backend: str) -> list[dict]:
    if RUNS is None:
        raise RuntimeError("training measurements read runs through reprokit.check.decide")
    return RUNS(experiment, backend)


def value(run: dict, metric: str) -> Any:
    """One number (or list) of a run: ``test.accuracy``; ``val_accuracy`` (last epoch);
    ``accuracy@1`` (epoch 1, 1-based); ``max:val_accuracy`` / ``argmax:val_accuracy`` (best epoch,
    1-based); ``epochs_to:accuracy>=0.95`` (first epoch reaching it; epochs + 1 if never);
    ``mean:accuracy_by_length`` (mean of a recorded list); or any recorded key
    (``accuracy_by_length``)."""
    if metric.startswith("test."):
        return run["test"][metric[5:]]
    op, _, rest = metric.rpartition(":")
    if op == "epochs_to":
        name, threshold = rest.split(">=")
        curve = run["history"][name]
        return next((i + 1 for i, v in enumerate(curve) if v >= float(threshold)), len(curve) + 1)
    if op == "mean":
        return float(np.mean(value(run, rest)))
    if op in ("max", "argmax"):
        curve = run["history"][rest]
        return float(max(curve)) if op == "max" else int(np.argmax(curve)) + 1
    if rest in run and rest not in ("history", "test"):
        return run[rest]
    name, _, epoch = rest.partition("@")
    return run["history"][name][int(epoch) - 1 if epoch else -1]


def value_range(metric: str, epochs: int) -> list[float] | None:
    """The values ``metric`` can take in one run of ``epochs`` epochs (``None``: unbounded)."""
    op, _, rest = metric.rpartition(":")
    if op == "epochs_to":
        return [1.0, epochs + 1.0]
    if op == "argmax":
        return [1.0, float(epochs)]
    return [0.0, 1.0] if "accuracy" in rest else None


def stats(values: list) -> dict:
    """Mean, sample standard deviation and n of the seeds' values (elementwise for lists)."""
    a = np.asarray(values, dtype=float)
    sd = np.std(a, axis=0, ddof=1) if len(a) > 1 else np.zeros_like(a[0])
    return {"mean": np.mean(a, axis=0).tolist(), "sd": sd.tolist(), "n": len(a), "values": a.tolist()}


def _names(experiment: str | None, experiments: list[str] | None) -> list[str]:
    return [experiment] if experiment else list(experiments or [])


@measure("training.metrics")
def training_metrics(backend: str, metrics: list[str], experiment: str | None = None,
                     experiments: list[str] | None = None) -> dict:
    """Per metric, the seeds' values, mean and sample standard deviation; with ``experiments``,
    one such dict per experiment."""
    out = {}
    for name in _names(experiment, experiments):
        rs = runs(name, backend)
        out[name] = {metric: stats([value(r, metric) for r in rs]) for metric in metrics}
    return out[experiment] if experiment else out


@measure("training.overfit")
def training_overfit(backend: str, experiment: str) -> dict:
    """Per seed: does the training loss fall every epoch while the validation loss ends above its
    minimum (it flattened and rose)? ``fraction``: the share of seeds that overfit so."""
    per_seed = []
    for r in runs(experiment, backend):
        loss, val = r["history"]["loss"], r["history"]["val_loss"]
        falling = all(b < a for a, b in zip(loss, loss[1:]))
        per_seed.append(bool(falling and val[-1] > min(val) and int(np.argmin(val)) < len(val) - 1))
    return {"fraction": sum(per_seed) / len(per_seed), "per_seed": per_seed}


@measure("training.peak")
def training_peak(backend: str, experiment: str, train_min: float) -> dict:
    """Per seed: the training accuracy ends at ``train_min`` or above while the validation
    accuracy peaks before the last epoch and ends below its peak. ``fraction``: the share of seeds."""
    per_seed = []
    for r in runs(experiment, backend):
        acc, val = r["history"]["accuracy"], r["history"]["val_accuracy"]
        per_seed.append(bool(acc[-1] >= train_min and int(np.argmax(val)) < len(val) - 1 and val[-1] < max(val)))
    return {"fraction": sum(per_seed) / len(per_seed), "per_seed": per_seed}


@measure("training.trend")
def training_trend(backend: str, experiments: list[str], metric: str) -> dict:
    """Per experiment, each seed's list-valued metric (e.g. accuracy against test length), their
    mean and the tie-aware Spearman correlation of the mean with position (``verdict.trend``
    decides, with a bootstrap over seeds)."""
    from reprokit.verdict import spearman
    out = {}
    for name in experiments:
        curves = [value(r, metric) for r in runs(name, backend)]
        mean = np.mean(curves, axis=0)
        out[name] = {"spearman": spearman(mean), "mean": mean.tolist(), "values": curves}
    return out


@measure("training.order")
def training_order(backend: str, metric: str, pairs: list[list[str]]) -> dict:
    """Seeds' statistics of ``metric`` for every experiment named in ``pairs``
    (``[a, relation, b]``), with the values the metric can take; the ``order`` comparison decides
    the relations."""
    from reprokit.experiments import get
    names = sorted({p[0] for p in pairs} | {p[2] for p in pairs})
    out = {name: stats([value(r, metric) for r in runs(name, backend)]) for name in names}
    for name in names:
        out[name]["range"] = value_range(metric, get(name).epochs)
    return {"stats": out, "pairs": pairs}


@measure("training.examples")
def training_examples(backend: str, experiments: list[str]) -> dict:
    """Share of seeds whose model predicts every one of the document's listed examples as printed."""
    out = {}
    for name in experiments:
        per_seed = [r["examples"]["predicted"] == r["examples"]["documented"] for r in runs(name, backend)]
        out[name] = {"fraction": sum(per_seed) / len(per_seed), "per_seed": per_seed,
                     "predicted": [r["examples"]["predicted"] for r in runs(name, backend)]}
    return out


@measure("training.fixed_digits")
def training_fixed_digits(backend: str, experiments: list[str]) -> dict:
    """Share of seeds whose model classifies the first test image of every digit correctly."""
    out = {}
    for name in experiments:
        rs = runs(name, backend)
        per_seed = [r["fixed_digits"]["predicted"] == list(range(10)) for r in rs]
        out[name] = {"fraction": sum(per_seed) / len(per_seed), "per_seed": per_seed,
                     "predicted": [r["fixed_digits"]["predicted"] for r in rs]}
    return out


def per_class(confusion: list[list[int]]) -> dict:
    """Precision, recall and F1 per class from a confusion matrix (rows: true class)."""
    c = np.asarray(confusion, dtype=float)
    tp = np.diag(c)
    precision = tp / np.maximum(c.sum(0), 1)
    recall = tp / np.maximum(c.sum(1), 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist()}


@measure("training.per_class")
def training_per_class(backend: str, experiments: list[str]) -> dict:
    """Per experiment: the smallest per-class precision, recall or F1 of each seed's classification
    report, as the seeds' statistics (``min``)."""
    out = {}
    for name in experiments:
        mins = [min(min(v) for v in per_class(r["confusion"]).values()) for r in runs(name, backend)]
        out[name] = {"min": stats(mins)}
    return out


# -- mechanisms -------------------------------------------------------------------------------

@measure("gradients.vanishing")
def gradients_vanishing(backend: str, depths: list[int], threshold: float, units: int = 32, maxlen: int = 500,
                        batch: int = 64, seeds: int = 3, early: int = 100, late: int = 10) -> dict:
    """For stacks of ``depth`` SimpleRNN(units) + sigmoid at initialization, fed the first
    ``batch`` IMDB reviews (pre-padded to ``maxlen``, embedded by a Keras-style uniform(±0.05)
    table): the mean gradient magnitude of the loss at the first ``early`` real (non-padding)
    steps of each review over that at its last ``late`` steps (median over reviews), per depth.
    ``vanishing``: the ratio is below ``threshold`` at every depth; ``falls_with_depth``: the
    seeds' mean ratio falls with every added layer."""
    from reprokit.data.sequences import pad_sequences
    bk = load(backend)
    (xt, yt), _ = _imdb(10000)
    ids = pad_sequences(xt[:batch], maxlen)
    y = yt[:batch].astype("float32")
    table = np.random.default_rng(0).uniform(-0.05, 0.05, size=(10000, units)).astype("float32")
    x = table[ids]
    real = ids != 0
    out = {}
    for depth in depths:
        rnns = tuple(models.Recurrent("simple", units, return_sequences=i < depth - 1) for i in range(depth))
        spec = models.Model(f"stack{depth}.core", None, units, (*rnns, models.Dense(1, "sigmoid")))
        ratios = []
        for seed in range(seeds):
            g = np.abs(bk.input_gradients(bk.build(spec, seed), spec, x, y)).mean(-1)
            per_review = []
            for row, mask in zip(g, real):
                steps = row[mask]
                if len(steps) >= early + late:
                    per_review.append(steps[:early].mean() / steps[-late:].mean())
            ratios.append(float(np.median(per_review)))
        out[str(depth)] = stats(ratios)
    means = [out[str(d)]["mean"] for d in depths]
    return {"vanishing": all(m < threshold for m in means),
            "falls_with_depth": all(b < a for a, b in zip(means, means[1:])), "ratio": out}


# -- time -------------------------------------------------------------------------------------

def synthetic_batch(spec: models.Model, batch: int, length: int | None = None, seed: int = 0):
    """A random batch of the model's input and target shapes (timing does not depend on values)."""
    rng = np.random.default_rng(seed)
    steps = spec.steps or length
    if steps is None:
        raise ValueError(f"model {spec.name} takes any length: give 'length'")
    x = (rng.integers(1, spec.layers[0].input_dim, size=(batch, steps)).astype("int32") if spec.tokens
         else rng.random((batch, steps, spec.features), dtype=np.float32))
    if spec.loss == "nll":
        y = rng.integers(0, 10, size=batch)
    elif getattr(spec.layers[-2], "return_sequences", False):
        y = rng.integers(0, 2, size=(batch, steps)).astype("float32")
    else:
        y = rng.integers(0, 2, size=(batch, 1)).astype("float32")
    return x, y


@measure("timing.ratios")
def timing_ratios(backend: str, ratios: list[list[str]], batch: int, length: int | None = None,
                  rounds: int = 15, warmup: int = 3, repeat: int = 1, framework: str = "keras") -> dict:
    """Same-run time ratios of training steps (forward, backward, optimizer update; Adam) on one
    batch of ``batch``. Each entry of ``ratios`` is ``[a, b]``, a model name optionally followed by
    ``:mse`` (or another loss). After ``warmup`` steps of each, ``rounds`` rounds time one step of
    every model in turn (interleaved, so drifts of the machine hit all alike); the ratio a/b of
    each round is taken and the median decides; q1 and q3 show its spread. ``repeat`` steps are
    timed together where one step is too short for the clock (a few milliseconds). ``framework``
    is the one the document was written for (``Experiment.framework``): in torch, "torch" builds
    torch's own modules and takes torch's binary cross-entropy of probabilities, as such a document's
    code does."""
    import time
    bk = load(backend)
    parametrization = "native" if backend == "torch" and framework == "torch" else "keras"
    names = list(dict.fromkeys(n for pair in ratios for n in pair))
    steps = {}
    for name in names:
        model, _, loss = name.partition(":")
        _, spec, built = _build(backend, model, parametrization=parametrization)
        bk.compile(built, spec, "adam", 1e-3, loss=loss or None, framework=framework)
        x, y = synthetic_batch(spec, batch, length)
        steps[name] = (built, x, y)

    def step(name: str) -> float:
        built, x, y = steps[name]
        t = time.perf_counter()
        for _ in range(repeat):
            bk.train_step(built, x, y)
        return time.perf_counter() - t

    for _ in range(warmup):
        for name in names:
            step(name)
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            times[name].append(step(name))
    out = {}
    for a, b in ratios:
        r = np.asarray(times[a]) / np.asarray(times[b])
        out[f"{a}/{b}"] = {"median": float(np.median(r)), "q1": float(np.quantile(r, 0.25)),
                           "q3": float(np.quantile(r, 0.75)), "a_ms": float(np.median(times[a]) * 1e3),
                           "b_ms": float(np.median(times[b]) * 1e3), "rounds": rounds,
                           "ratios": [round(float(v), 4) for v in r]}
    return out
