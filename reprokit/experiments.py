"""Training runs, each defined once as a document's recipe and shared by every claim that reads it.

An ``Experiment`` names a model of ``reprokit.models``, its data, optimizer, epochs, batch size
and validation exactly as the document wrote them, plus the choices the document left open (each
with the quote that forced it). ``run(name, backend, seed)`` trains it once per (experiment,
backend, seed): from the run cache, else from the ledger of full runs (``reprokit.ledger``), else
by training (and, in the full profile, recording the run in the ledger).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import platform
import time
from dataclasses import dataclass
from collections.abc import MutableMapping
from typing import Any, ClassVar, Union

import numpy as np

from reprokit import models, progress, settings
from reprokit.errors import ReprokitError


# -- data -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """What a backend's ``fit`` consumes. Either arrays (``x``, ``y``: Keras ``fit`` semantics,
    shuffled per epoch) or ready batches (``batches``: lists of (x, y) whose order is shuffled
    per epoch; used where a batch has its own sequence length)."""
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    batches: list | None = None
    val: tuple | list | None = None  # arrays (x, y) or batches; None: use validation_split
    test: tuple | list | None = None


@dataclass(frozen=True)
class ImdbData:
    # a seed has learned when its test accuracy reaches this (chance 0.5; over 20 seeds of the
    # IMDB-Q recipes the seeds that never take off end at 0.52-0.60, the others at 0.61-0.71)
    learned_at: ClassVar[float] = 0.60
    num_words: int
    maxlen: int
    padding: str = "pre"
    truncating: str = "pre"
    train_samples: int | None = None  # smoke runs only: the first n (shuffled) reviews

    def prepare(self, seed: int, validation: str) -> Prepared:
        from reprokit.data import imdb
        from reprokit.data.sequences import pad_sequences
        (x, y), (xt, yt) = imdb.load(num_words=self.num_words)
        if self.train_samples:  # IMDB's files are sorted by label; a prefix would hold one class
            keep = np.random.default_rng(12345).permutation(len(x))[:self.train_samples]
            x, y = x[keep], y[keep]
            keep_t = np.random.default_rng(54321).permutation(len(xt))[:2000]
            xt, yt = xt[keep_t], yt[keep_t]
        pad = lambda s: pad_sequences(s, self.maxlen, padding=self.padding, truncating=self.truncating)  # noqa: E731
        test = (pad(xt), yt.astype("float32"))
        return Prepared(pad(x), y.astype("float32"), val=test if validation == "test" else None, test=test)

    def digest(self) -> str:
        from reprokit.data import imdb
        return imdb.DIGESTS["x_train"] + imdb.DIGESTS["x_test"] + imdb.DIGESTS["y"]


@dataclass(frozen=True)
class MnistRows:
    """Document 004: images read row by row, validated (each epoch) and tested on the test set."""
    learned_at: ClassVar[float] = 0.50  # a seed has learned when its test accuracy reaches this: chance 0.1
    train_samples: int | None = None  # smoke runs only

    def prepare(self, seed: int, validation: str) -> Prepared:
        from reprokit.data import mnist
        (x, y), (xt, yt) = mnist.load()
        x, y = mnist.rows(x), y.astype("int64")
        if self.train_samples:
            x, y = x[:self.train_samples], y[:self.train_samples]
        test = (mnist.rows(xt), yt.astype("int64"))
        return Prepared(x, y, val=test, test=test)

    def digest(self) -> str:
        from reprokit.data import mnist
        return mnist.DIGEST


# The document's printed prediction examples (section 3.4), inputs and the outputs shown.
INDEX_EXAMPLES = {
    3: [([6, 8, 0, 2, 8, 7], 0), ([1, 6, 6, 2, 8], 6), ([1, 5, 1, 0, 1], 1), ([5, 5, 1, 3, 5], 1),
        ([2, 3, 5, 8, 2, 5, 2], 5)],
    2: [([4, 5, 8], 5), ([6, 8, 7, 8], 8), ([7, 1, 1, 0, 7, 8], 1), ([4, 2, 3, 6, 5, 1, 3], 2),
        ([1, 8, 7, 7, 3, 7], 8)],
}


@dataclass(frozen=True)
class IndexData:
    """Document 004 section 3: digits 0-9 one-hot, 3..10 long; the target is the digit at K."""
    learned_at: ClassVar[float] = 0.50  # a seed has learned when its test accuracy reaches this: chance 0.1
    k: int = 3
    train_batches: int = 938  # MNIST's epoch: 60,000 images in 938 batches of 64
    test_batches: int = 16
    batch_size: int = 64

    def _batches(self, n: int, rng: np.random.Generator) -> list:
        from reprokit.data.synthetic import index_task, one_hot
        out = []
        for _ in range(n):  # one length per batch: no padding, the final state is the sequence's own
            length = int(rng.integers(3, 11))
            seqs, targets = index_task(self.batch_size, self.k, rng, min_len=length, max_len=length)
            out.append((one_hot(np.stack(seqs)), targets))
        return out

    def prepare(self, seed: int, validation: str) -> Prepared:
        rng = np.random.default_rng([seed, self.k, 1])
        test = self._batches(self.test_batches, np.random.default_rng([seed, self.k, 2]))
        return Prepared(batches=self._batches(self.train_batches, rng), val=test, test=test)

    def digest(self) -> str:
        return "synthetic"

    def extras(self, bk, model) -> dict:
        from reprokit.data.synthetic import one_hot
        preds = []
        for seq, _ in INDEX_EXAMPLES[self.k]:
            out = bk.forward(model, one_hot(np.array([seq])))
            preds.append(int(np.argmax(out[0])))
        return {"examples": {"inputs": [s for s, _ in INDEX_EXAMPLES[self.k]], "predicted": preds,
                             "documented": [t for _, t in INDEX_EXAMPLES[self.k]]}}


@dataclass(frozen=True)
class BinaryAdditionData:
    """Document 004 section 4: LSB-first bit pairs of a fixed length; tested on 100 samples of
    every length 1..20 (a sample counts as correct when every bit of its sum is)."""
    learned_at: ClassVar[float] = 0.90  # a seed has learned when its test accuracy reaches this: bitwise test accuracy; chance 0.5
    length: int
    train_samples: int = 60000  # MNIST's epoch size (see the adder's choices in document 004's file)
    test_samples: int = 100
    test_lengths: int = 20

    def prepare(self, seed: int, validation: str) -> Prepared:
        from reprokit.data.synthetic import binary_addition
        x, y = binary_addition(self.train_samples, self.length, np.random.default_rng([seed, 1]))
        xv, yv = binary_addition(1000, self.length, np.random.default_rng([seed, 2]))
        return Prepared(x, y, val=(xv, yv), test=(xv, yv))

    def digest(self) -> str:
        return "synthetic"

    def extras(self, bk, model) -> dict:
        from reprokit.data.synthetic import binary_addition
        acc = []
        for n in range(1, self.test_lengths + 1):
            x, y = binary_addition(self.test_samples, n, np.random.default_rng([n, 3]))
            bits = np.asarray(bk.forward(model, x)).reshape(y.shape) > 0.5
            acc.append(float(np.mean(np.all(bits == (y > 0.5), axis=1))))
        return {"accuracy_by_length": acc}


Data = Union[ImdbData, MnistRows, IndexData, BinaryAdditionData]


# -- experiments ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Smoke:
    """The quick profile's reduced run of an expensive experiment: it must learn (test accuracy
    at least ``min_accuracy``, chance being ``chance``). Reported as a smoke run, never a verdict.
    Some initializations do not start learning within the reduced budget (torch on imdbq: see
    imdbq.acc.adam5), so seeds 0, 1, 2 are tried in turn and the first that learns passes.
    Each ``min_accuracy`` is chance + 5 binomial standard errors of the smoke test set (IMDB: 25,000
    or 2000 reviews, MNIST: 10,000 images, index: 1,024 sequences), rounded up."""
    data: Data
    epochs: int
    min_accuracy: float
    chance: float


@dataclass(frozen=True)
class Experiment:
    name: str
    model: str
    data: Data
    optimizer: str  # adam, rmsprop: the framework's defaults (below) besides the learning rate
    learning_rate: float
    epochs: int
    batch_size: int
    validation_split: float | None = None  # None: validate on the data's own validation set
    loss: str | None = None  # None: the loss the model's head implies (models.Model.loss)
    quote: str = ""
    choices: str = ""  # what the document left open and how it was fixed here
    smoke: Smoke | None = None  # the quick profile's reduced run (None: see full_run_s)
    # The framework the document was written for: its defaults are part of the recipe. "keras":
    # Keras's initializers, optimizers and losses (the torch backend ports them). "torch": torch's
    # own modules, initialisation, torch.optim and losses; Keras backends start from weights drawn
    # as torch draws them (models.torch_initial_weights) and train with Keras's optimizer.
    framework: str = "keras"
    # Seconds one full run takes on one CPU core, as stated (measured where the file says so). The
    # quick profile trains an experiment with no smoke run whole only when this is at most
    # CHEAP_FULL_RUN_S; unstated, it is not cheap: its verdict waits for the ledger's full runs.
    full_run_s: float | None = None
    # The seeds a claim on this experiment may use here (docs/verdicts.md, "Seeds until decided"): one number for every
    # backend, or a number per backend (set from what a run costs in it; unnamed ones get 3).
    seed_budget: int | dict[str, int] = 3

    def budget(self, backend: str | None = None) -> int:
        """The seed budget in ``backend`` (``None``: the largest of any backend)."""
        if isinstance(self.seed_budget, int):
            return self.seed_budget
        if backend is None:
            return max(self.seed_budget.values())
        return self.seed_budget.get(backend, DEFAULT_SEED_BUDGET)

    def recipe(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("quote", "choices", "smoke", "full_run_s", "seed_budget"):  # none changes a full run
            d.pop(k)
        if d["framework"] == "keras":  # the default: absent, so the keys recorded before it stay valid
            d.pop("framework")
        d["data_type"] = type(self.data).__name__
        return d

    def smoke_experiment(self) -> "Experiment":
        assert self.smoke is not None
        return dataclasses.replace(self, name=self.name + ".smoke", data=self.smoke.data,
                                   epochs=self.smoke.epochs, smoke=None)


class _Declared(MutableMapping):
    """Every experiment the documents' files declare (``reprokit.declarations``), read from
    ``settings.EXPECTED_DIR`` at first use. A mapping: tests may patch an entry."""

    def _data(self) -> dict[str, Experiment]:
        from reprokit import declarations
        return declarations.load(settings.EXPECTED_DIR).experiments

    def __getitem__(self, name: str) -> Experiment:
        return self._data()[name]

    def __setitem__(self, name: str, exp: Experiment) -> None:
        self._data()[name] = exp

    def __delitem__(self, name: str) -> None:
        del self._data()[name]

    def __iter__(self):
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


EXPERIMENTS: MutableMapping[str, Experiment] = _Declared()

# One full run on one core at most this long (stated in its file): the quick profile trains it whole.
CHEAP_FULL_RUN_S = 120.0


def cheap(exp: Experiment) -> bool:
    """Does the quick profile train this experiment at full fidelity? Only with no smoke run and a
    stated cost within ``CHEAP_FULL_RUN_S``; an experiment of unknown cost is not cheap."""
    return exp.smoke is None and exp.full_run_s is not None and exp.full_run_s <= CHEAP_FULL_RUN_S


def family(name: str) -> str:
    return name.split(".")[0]


DEFAULT_SEED_BUDGET = 3


def seed_budget(names: list[str], backend: str | None = None) -> int:
    """The seeds a claim reading these experiments may use in ``backend``: the smallest of their
    budgets (``None``: of each one's largest over the backends)."""
    return min(get(n).budget(backend) for n in names)


def learned(name: str, result: dict) -> bool:
    """Did this run learn at all (``Data.learned_at``)? Shown next to a verdict: outcomes over seeds
    are often bimodal (learns / stays near chance)."""
    return result["test"]["accuracy"] >= get(name).data.learned_at


def matching(prefixes: list[str]) -> list[str]:
    """The experiments named, or whose names start with one of ``prefixes`` (e.g. ``index.``)."""
    names = [n for n in EXPERIMENTS if any(n == p or n.startswith(p) for p in prefixes)]
    if not names:
        raise ReprokitError(f"no experiment matches {' '.join(prefixes)}; the documents' files declare them "
                            f"(experiments: in {settings.EXPECTED_DIR})")
    return names


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ReprokitError(f"unknown experiment {name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[name]


# The revision of reprokit's torch port of Keras's training (losses, optimizers, fit loop) where it
# changes a run's numbers: part of the key of every torch run of a document written for Keras, so
# that a change retrains them. 2: binary cross-entropy of a sigmoid from its logits, as Keras on
# TensorFlow computes it (1, no field: the probability clipped).
TORCH_PORT = "2"

DISTRIBUTIONS = {"tensorflow": ("tensorflow-cpu", "tensorflow"), "jax": ("jax",), "torch": ("torch",)}


def _installed(*distributions: str) -> str:
    """The installed version of the first of ``distributions`` found (one clear error if none)."""
    from importlib import metadata
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    from reprokit.errors import ReprokitError
    raise ReprokitError(f"{distributions[0]} is not installed: pip install -c constraints.txt {distributions[0]}")


def environment(backend: str) -> dict[str, str]:
    """Library versions and machine: part of the cache key and of every recorded result. Read from
    the installed distributions and the backend's name, so any process can compute any backend's
    key (a TensorFlow process the key of a keras-jax run) without importing a framework."""
    import reprokit
    from reprokit.backends import BACKENDS
    env = {"reprokit": reprokit.__version__, "numpy": np.__version__, "python": platform.python_version(),
           "machine": platform.machine(), "backend": backend}
    # Thread counts change the order of float sums, and so the exact result of a run.
    env["threads"] = str(settings.env_int("REPROKIT_THREADS", None) or "all")
    framework = BACKENDS[backend][1]
    if framework:  # Keras, and the framework under it: its version changes the numbers too
        env["keras"] = _installed("keras")
        env["keras_backend"] = framework
        env[framework] = _installed(*DISTRIBUTIONS[framework])
    else:
        env["torch"] = _installed("torch")
    device = settings.device()
    if device != "cpu":  # absent on the CPU, so the keys recorded there stay valid
        env.update(device=device, **accelerator(device))
    return env


@functools.cache  # nvidia-smi is a subprocess; keys are computed for every seed looked up
def accelerator(device: str) -> dict[str, str]:
    """The GPU's model (``nvidia-smi``) and the CUDA libraries installed as distributions
    (``nvidia-*``: cuDNN, cuBLAS, ...), whose versions change a GPU run's numbers."""
    import subprocess
    from importlib import metadata
    index = device.partition(":")[2] or "0"
    try:
        gpu = subprocess.run(["nvidia-smi", f"--id={index}", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        gpu = "unknown"
    libraries = sorted(f"{d.metadata['Name']} {d.version}" for d in metadata.distributions()
                       if (d.metadata["Name"] or "").lower().startswith("nvidia-"))
    return {"gpu": gpu, "cuda_libraries": ", ".join(libraries) or "none found"}


def train(exp: Experiment, backend: str, seed: int) -> dict[str, Any]:
    """Train ``exp`` once in ``backend`` from ``seed``: per-epoch history, test metrics, times."""
    from reprokit.backends import load
    bk = load(backend)
    spec = models.get(exp.model)
    data = exp.data.prepare(seed, "split" if exp.validation_split else "test")
    start = time.perf_counter()
    progress.start(f"{exp.name}/{backend}-seed{seed}", exp.epochs)
    try:
        result, model = bk.fit(spec, exp, data, seed)
    finally:
        progress.finish()  # a failed run must not show as running forever
    result["wall_s"] = time.perf_counter() - start
    return _finish(exp, bk, result, model, data)


def _finish(exp: Experiment, bk, result: dict, model, data: Prepared) -> dict[str, Any]:
    if hasattr(exp.data, "extras"):
        result.update(exp.data.extras(bk, model))
    if isinstance(exp.data, MnistRows):
        result.update(_classification(bk, model, data.test))
    return json.loads(json.dumps(result))  # plain floats and lists only


def groupable(exp: Experiment, backend: str) -> bool:
    """Can ``backend`` train several seeds of ``exp`` as one group (``fit_group``)?"""
    from reprokit.backends import load
    bk = load(backend)
    return hasattr(bk, "fit_group") and bk.groups(models.get(exp.model))


def train_group(exp: Experiment, backend: str, seeds: list[int]) -> list[dict[str, Any]]:
    """``train`` for each of ``seeds``, the seeds trained together as one group (each its own solo
    run to float32 rounding: tests/unit/test_grouped.py). Each result's ``wall_s`` and ``epoch_s``
    are its share of the group's time, and ``group`` says which group trained it."""
    from reprokit.backends import load
    bk = load(backend)
    spec = models.get(exp.model)
    datas = [exp.data.prepare(seed, "split" if exp.validation_split else "test") for seed in seeds]
    start = time.perf_counter()
    progress.start(f"{exp.name}/{backend}-seeds{seeds[0]}-{seeds[-1]}", exp.epochs)
    try:
        trained = bk.fit_group(spec, exp, datas, seeds)
    finally:
        progress.finish()
    wall = time.perf_counter() - start
    results = []
    for (result, model), data in zip(trained, datas):
        result["wall_s"] = wall / len(seeds)
        result["group"] = {"size": len(seeds), "seeds": list(seeds)}
        results.append(_finish(exp, bk, result, model, data))
    return results


def _classification(bk, model, test: tuple) -> dict:
    """Confusion matrix on the test set (rows: true digit) and the predictions for the first
    test image of each digit (the document's "fixed" images are not identified)."""
    x, y = test
    pred = np.concatenate([np.argmax(bk.forward(model, x[i:i + 1000]), axis=-1) for i in range(0, len(x), 1000)])
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    first = [int(np.flatnonzero(y == d)[0]) for d in range(10)]
    return {"confusion": confusion.tolist(), "fixed_digits": {"index": first, "predicted": [int(pred[i]) for i in first]}}


def port(exp: Experiment, backend: str) -> str | None:
    """The port revision a run of ``exp`` in ``backend`` computes with: ``TORCH_PORT`` where
    reprokit's port of Keras trains it (torch, a document written for Keras), else none."""
    return TORCH_PORT if backend == "torch" and exp.framework == "keras" else None


def key(exp: Experiment, backend: str, seed: int) -> dict:
    env = environment(backend)
    if (revision := port(exp, backend)) is not None:
        env["port"] = revision
    return {"recipe": exp.recipe(), "seed": seed, "data": exp.data.digest(), "env": env}


def run(name: str, backend: str, seed: int, smoke: bool = False) -> dict[str, Any]:
    """The result of one training run: cached, else recorded in the ledger, else trained."""
    from reprokit import cache, ledger, settings
    exp = get(name)
    if smoke:
        exp = exp.smoke_experiment()
    k = key(exp, backend, seed)
    label = f"{exp.name}/{backend}-seed{seed}"

    full = not smoke and settings.PROFILE == "full"

    def compute() -> dict:
        if not smoke and not settings.RETRAIN and (recorded := ledger.lookup(exp, backend, seed, k)) is not None:
            return recorded
        result = train(exp, backend, seed)
        if full:
            ledger.record(exp, backend, seed, k, result)
        return result
    result = cache.get_or_compute(k, label, compute)
    if full and ledger.lookup(exp, backend, seed, k) is None:
        # trained earlier by this code with this exact key (a quick-profile run at full fidelity)
        # and read from the cache: the full profile records it too, marked as such
        ledger.record(exp, backend, seed, k, result, source="cache")
    return result


def runs(name: str, backend: str, seeds: list[int]) -> list[dict[str, Any]]:
    """The results of ``seeds``' runs, in order: each from the run cache or the ledger, and those
    still missing trained together as one group where the backend groups this model (one by one
    where it does not, or where one seed is missing)."""
    from reprokit import cache, ledger, settings
    exp = get(name)
    full = settings.PROFILE == "full"

    def known(seed: int) -> dict | None:
        k = key(exp, backend, seed)
        hit = cache.read(k, f"{exp.name}/{backend}-seed{seed}")
        if hit is None and not settings.RETRAIN:
            hit = ledger.lookup(exp, backend, seed, k)
        return hit

    missing = [seed for seed in seeds if known(seed) is None]
    if len(missing) > 1 and groupable(exp, backend):
        with cache.lock(cache.path(key(exp, backend, missing[0]), f"{exp.name}/{backend}-group")):
            # parallel workers: one trains, the others read
            missing = [seed for seed in missing if known(seed) is None]
            if len(missing) > 1:
                for seed, result in zip(missing, train_group(exp, backend, missing)):
                    k = key(exp, backend, seed)
                    cache.write(k, f"{exp.name}/{backend}-seed{seed}", result)
                    if full:
                        ledger.record(exp, backend, seed, k, result)
    return [run(name, backend, seed) for seed in seeds]
