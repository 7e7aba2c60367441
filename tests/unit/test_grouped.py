"""A grouped run is the same experiment as each seed's solo run (reprokit.backends.torch_group,
reprokit.backends.keras_group).

Over the whole first epoch of the real recipe, each seed of a group has the loss and
accuracy history, test metrics and final weights of its solo run, to float32 rounding: the group
sums in another order inside the cell, nothing else differs. A group repeated in a fresh process is
bit-identical, and the ledger records which runs trained in a group.
"""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap

import numpy as np
import pytest
from fresh_process import run_json

from reprokit import experiments, ledger, models, settings

# One experiment per cell and data kind the grouped trainer takes: token ids and a split
# (IMDB-Q, RMSprop and Adam), ready batches of varying length (the index task), per-seed arrays
# with an output at every step (the binary adder). The index task and the adder are document
# 004's, written for torch: torch's own parametrization, Adam and loss (Experiment.framework).
CASES = ["imdbq.rmsprop10", "imdbq.cells.gru", "index.lstm5", "binadd.h3.l3.ce"]
SEEDS = [0, 1]
# float32 rounding after one epoch (313-938 optimizer steps), measured (docs/performance.md, "Grouped runs"): at
# most 1.3e-7 on a metric (Keras: 0 on IMDB-Q, the same sums in the same order); on a weight
# 5.5e-7 relative, except the binary adder (Adam at lr 0.01, weights up to 7), whose rounding grows
# to 1.4e-5 relative over its 938 steps (4.5e-5 under cross-entropy). A real difference (another shuffle, another initial draw,
# seeds leaking into each other) moves them by 1e-3 or more.
METRIC_TOLERANCE = 1e-6
WEIGHT_TOLERANCE = 1e-4  # relative to max(1, |w|)


def needs_data(name: str) -> None:
    if experiments.get(name).data.digest() != "synthetic" and not os.environ.get("REPROKIT_DATA_DIR"):
        pytest.skip("needs the data: set REPROKIT_DATA_DIR")


def one_epoch(name: str) -> experiments.Experiment:
    return dataclasses.replace(experiments.get(name), epochs=1)


def differences(grouped: tuple[dict, object], alone: tuple[dict, object], bk) -> dict[str, float]:
    (g, gm), (s, sm) = grouped, alone
    metrics = [abs(a - b) for k in s["history"] for a, b in zip(g["history"][k], s["history"][k])]
    metrics += [abs(g["test"][k] - s["test"][k]) for k in s["test"]]
    weights = [float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
               for a, b in zip(bk.get_weights(gm), bk.get_weights(sm))]
    return {"metrics": max(metrics), "weights": max(weights)}


def backend(name: str):
    pytest.importorskip({"torch": "torch", "keras": "keras"}[name])
    if name == "keras":
        import keras
        if keras.backend.backend() != "tensorflow":
            pytest.skip("Keras's grouped trainer runs on TensorFlow")
    from reprokit.backends import load
    return load(name)


@pytest.mark.parametrize("backend_name", ["torch", "keras"])
@pytest.mark.parametrize("name", CASES)
def test_each_seed_of_a_group_is_its_solo_run(name, backend_name):
    bk = backend(backend_name)
    needs_data(name)
    exp = one_epoch(name)
    spec = models.get(exp.model)
    datas = [exp.data.prepare(seed, "split" if exp.validation_split else "test") for seed in SEEDS]
    grouped = bk.fit_group(spec, exp, datas, SEEDS)
    for seed, data, group_run in zip(SEEDS, datas, grouped):
        found = differences(group_run, bk.fit(spec, exp, data, seed), bk)
        assert found["metrics"] <= METRIC_TOLERANCE and found["weights"] <= WEIGHT_TOLERANCE, (
            f"{name} seed {seed}: the grouped run differs from the solo run by {found}")
    # and not trivially: each seed trained to its own numbers
    assert len({r["history"]["loss"][0] for r, _ in grouped}) == len(SEEDS)


REPEAT = textwrap.dedent("""
    import dataclasses, json, sys
    from reprokit import experiments
    exp = dataclasses.replace(experiments.get(sys.argv[1]), epochs=1)
    results = experiments.train_group(exp, sys.argv[2], [0, 1, 2])
    print("RESULT" + json.dumps([{k: v for k, v in r.items() if k not in ("wall_s", "epoch_s")} for r in results]))
""")


@pytest.mark.parametrize("name, backend_name", [("index.gru10.k2", "torch"), ("binadd.h3.l3.ce", "torch"),
                                                 ("binadd.h3.l3.ce", "keras")])
def test_a_group_repeated_is_bit_identical(name, backend_name):
    backend(backend_name)
    assert run_json(REPEAT, name, backend_name) == run_json(REPEAT, name, backend_name)


def test_the_ledger_records_the_group(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    name = "binadd.h3.l3.ce"
    monkeypatch.setitem(experiments.EXPERIMENTS, name, one_epoch(name))
    monkeypatch.setattr(settings, "PROFILE", "full")
    monkeypatch.setattr(settings, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "cache")
    first = experiments.runs(name, "torch", SEEDS)
    for seed, result in zip(SEEDS, first):
        entry = json.loads(ledger.path(name, "torch", seed).read_text())
        assert entry["recorded"]["group"] == {"size": len(SEEDS), "seeds": SEEDS}
        assert entry["result"] == result
    monkeypatch.setattr(experiments, "train_group", lambda *a: pytest.fail("trained again"))
    monkeypatch.setattr(experiments, "train", lambda *a: pytest.fail("trained again"))
    assert experiments.runs(name, "torch", SEEDS) == first


def test_keras_fit_order_is_read_from_its_pipeline_and_repeats_every_epoch():
    """What keras_group.fit_orders reads is the order a solo ``fit(shuffle=True)`` visits (seen by
    a layer that records its inputs), and with a seed set it is the same order every epoch."""
    backend("keras")
    import keras

    from reprokit.backends import keras_group
    for seed in (0, 1):
        seen = []

        class Record(keras.layers.Layer):
            def call(self, x):
                seen.append(np.asarray(x)[:, 0].astype(int))
                return x
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((1,)), Record(), keras.layers.Dense(1)])
        model.compile("sgd", "mse", run_eagerly=True, steps_per_execution=32)
        x = np.arange(1000, dtype="float32")[:, None]
        model.fit(x, x, batch_size=64, shuffle=True, epochs=2, verbose=0)
        visited = np.concatenate(seen)
        read = keras_group.fit_orders(1000, 64, 2, seed)
        assert (visited == np.concatenate(read)).all()
        assert (read[0] == read[1]).all() and not (read[0] == np.arange(1000)).all()
