"""Measure the full profile's speed levers on this machine (issue 4), each in fresh processes.

    REPROKIT_DATA_DIR=../shared/data python tools/levers.py [--out results/levers.json]

Run it with the machine otherwise idle: the figures are ratios of epoch (or step) times taken in
one invocation, minutes apart, each time the median of ``--repeat`` fresh repetitions. Every training case times the second of two epochs of a real
experiment (the first includes tracing and warm-up): ``imdbq.rmsprop10`` (the tiny IMDB-Q model,
whole data) and ``mnist.rnn128`` on its first 12,800 images (a mid-sized core). What it measures:

- threads: one torch training at 1 vs 2 threads; two side by side at 2 threads each vs 1 each;
- backends side by side: Keras and torch trainings at the same time, one thread each, vs alone;
- Keras's ``jit_compile`` (XLA) on vs off, and TensorFlow op determinism on vs off;
- input pipeline: Keras ``fit`` from NumPy arrays (what reprokit does) vs a cached, prefetched
  ``tf.data`` pipeline of the same batches; torch's per-batch gather as a share of the epoch;
- grouped seeds, the bound: one training step on 3 batches at once vs 3 steps on one batch each
  (what training 3 seeds as one grouped model could save at most, before the grouping's own cost);
- Keras ``steps_per_execution`` 32 (what reprokit's ``fit`` uses) vs 1, also on the ready-batch
  index task (``index.simple2``) and the binary adder (``binadd.h3.l3.ce``), whole data. It leaves
  the numbers identical (tests/unit/test_ledger_reproduces.py); ``--only spe`` measures just this;
- ``torch.compile`` of the whole torch model (its recurrent core runs eagerly: dynamo does not
  trace ``nn.RNN/LSTM/GRU``) vs eager; ``--only compile`` measures just this;
- Keras ``unroll=True`` on the recurrent layers (the loop over steps written out in the graph
  instead of a TensorFlow while loop) vs not, and torch, on IMDB-Q and the adder (the index task
  has no fixed length to unroll);
  whether the numbers stay identical is checked on the two runs' histories. ``--only unroll``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CASES = {"imdbq": ("imdbq.rmsprop10", None), "mnist": ("mnist.rnn128", 12800),
         "index": ("index.simple2", None), "binadd": ("binadd.h3.l3.ce", None),
         "imdbq200": ("imdbq.len200", None), "imdbqgru": ("imdbq.cells.gru", None)}


def _experiment(case: str):
    from reprokit import experiments
    name, samples = CASES[case]
    exp = dataclasses.replace(experiments.get(name), epochs=2)
    return exp if samples is None else dataclasses.replace(exp, data=dataclasses.replace(exp.data, train_samples=samples))


def child(backend: str, case: str, mode: str) -> dict:
    """One measurement in this (fresh) process; prints its JSON."""
    exp = _experiment(case)
    if mode == "jit":
        import keras
        compile_ = keras.Model.compile
        keras.Model.compile = lambda self, *a, **k: compile_(self, *a, **{**k, "jit_compile": True})
    if mode == "compile":
        import torch
        from reprokit.backends import torch as tb
        build = tb.build
        tb.build = lambda *a, **k: torch.compile(build(*a, **k))
    if mode == "unroll":
        import functools
        from reprokit.backends import keras as kb
        kb.CELLS = {k: functools.partial(v, unroll=True) for k, v in kb.CELLS.items()}
    if mode == "tfdata":
        return _tfdata(exp)
    if mode == "gather":
        return _gather(exp)
    if mode == "group":
        return _group(exp, backend)
    from reprokit import experiments
    result = experiments.train(exp, backend, 0)
    return {"epoch_s": result["epoch_s"][-1], "history": result["history"]}


def _tfdata(exp) -> dict:
    """Keras fit from a cached, prefetched tf.data pipeline of the same batches (no shuffle)."""
    import tensorflow as tf
    from reprokit import models
    from reprokit.backends import keras as kb
    data = exp.data.prepare(0, "split" if exp.validation_split else "test")
    n = len(data.x) - int(len(data.x) * (exp.validation_split or 0))
    ds = tf.data.Dataset.from_tensor_slices((data.x[:n], data.y[:n])).batch(exp.batch_size).cache().prefetch(2)
    spec = models.get(exp.model)
    model = kb.build(spec, 0)
    kb.compile(model, spec, exp.optimizer, exp.learning_rate, loss=exp.loss)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0)
        times.append(time.perf_counter() - t)
    return {"epoch_s": times[-1]}


def _gather(exp) -> dict:
    """torch: time of the epoch's per-batch gathers alone (x[idx], y[idx]), as the fit loop does."""
    import torch
    from reprokit import models
    from reprokit.backends import torch as tb
    data = exp.data.prepare(0, "split" if exp.validation_split else "test")
    x, y = tb._tensor(data.x, models.get(exp.model)), torch.as_tensor(data.y)
    t = time.perf_counter()
    for idx in torch.randperm(len(x)).split(exp.batch_size):
        x[idx], y[idx]
    return {"gather_s": time.perf_counter() - t}


def _group(exp, backend: str) -> dict:
    """Median step time on one batch and on three batches at once (20 steps each, after 5)."""
    from reprokit import models
    from reprokit.backends import load
    bk = load(backend)
    spec = models.get(exp.model)
    data = exp.data.prepare(0, "split" if exp.validation_split else "test")
    out = {}
    for k in (1, 3):
        model = bk.build(spec, 0)
        bk.compile(model, spec, exp.optimizer, exp.learning_rate, loss=exp.loss)
        x, y = data.x[:k * exp.batch_size], data.y[:k * exp.batch_size]
        steps = []
        for i in range(25):
            t = time.perf_counter()
            bk.train_step(model, x, y)
            steps.append(time.perf_counter() - t)
        out[f"step{k}_s"] = statistics.median(steps[5:])
    out["grouped_over_separate"] = out["step3_s"] / (3 * out["step1_s"])
    return out


def _env(threads: int, deterministic: bool = True, steps_per_execution: int | None = None) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "REPROKIT_THREADS": str(threads),
           "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads),
           "OMP_NUM_THREADS": str(threads), "REPROKIT_DETERMINISTIC": "1" if deterministic else "0"}
    if steps_per_execution is not None:  # else reprokit's own default
        env["REPROKIT_STEPS_PER_EXECUTION"] = str(steps_per_execution)
    return env


def _spawn(backend: str, case: str, mode: str = "fit", threads: int = 1, deterministic: bool = True,
           steps_per_execution: int | None = None):
    return subprocess.Popen([sys.executable, __file__, "--child", backend, case, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env=_env(threads, deterministic, steps_per_execution))


def _result(proc) -> dict:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"a measurement process failed (exit {proc.returncode}); run it alone to see why")
    return json.loads(out.strip().splitlines()[-1])


def together(*procs) -> list[dict]:
    return [_result(p) for p in procs]


REPEAT = 3


def med(spawn, key: str) -> list[float]:
    """Median over REPEAT repetitions of one measurement (its processes started anew each time):
    single epochs of the small models vary by up to 1.7x from run to run here."""
    runs = [together(*spawn()) for _ in range(REPEAT)]
    return [statistics.median(r[i][key] for r in runs) for i in range(len(runs[0]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="also write the figures as JSON (with the machine) to this file")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions per measurement; the median is kept (default 3)")
    ap.add_argument("--only", choices=["spe", "compile", "unroll"],
                    help="measure only this lever (spe: Keras steps_per_execution; compile: torch.compile; unroll: Keras unroll=True)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    global REPEAT
    REPEAT = args.repeat
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if not os.environ.get("REPROKIT_DATA_DIR"):
        raise SystemExit("set REPROKIT_DATA_DIR to the folder holding the IMDB and MNIST files (../shared/data)")
    rows = []

    def row(lever: str, case: str, a: str, ta: float, b: str, tb: float) -> None:
        rows.append({"lever": lever, "case": case, "a": a, "a_s": ta, "b": b, "b_s": tb, "b_over_a": tb / ta})
        print(f"{lever:<34} {case:<6} {a:<34} {ta:8.3f}s  {b:<34} {tb:8.3f}s  {tb / ta:5.2f}x", flush=True)

    for case in ("imdbq", "mnist", "index", "binadd") if args.only == "spe" else ():  # not the unroll checks' cases
        spe1 = med(lambda: [_spawn("keras", case, steps_per_execution=1)], "epoch_s")[0]
        spe32 = med(lambda: [_spawn("keras", case, steps_per_execution=32)], "epoch_s")[0]
        row("keras steps_per_execution", case, "1 step per call", spe1, "32 steps per call", spe32)
    for case in ("imdbq", "mnist") if args.only == "compile" else ():
        eager = med(lambda: [_spawn("torch", case)], "epoch_s")[0]
        compiled = med(lambda: [_spawn("torch", case, "compile")], "epoch_s")[0]
        row("torch.compile", case, "eager", eager, "torch.compile(model)", compiled)
    for case in ("imdbq", "binadd") if args.only == "unroll" else ():  # the index task: no fixed length to unroll
        loop, unrolled = (together(_spawn("keras", case, mode)) for mode in ("fit", "unroll"))
        same = loop[0]["history"] == unrolled[0]["history"]
        keras_loop = med(lambda: [_spawn("keras", case)], "epoch_s")[0]
        keras_unrolled = med(lambda: [_spawn("keras", case, "unroll")], "epoch_s")[0]
        torch_ = med(lambda: [_spawn("torch", case)], "epoch_s")[0]
        row("keras unroll=True", case, "while loop", keras_loop, f"unrolled ({'same' if same else 'other'} numbers)",
            keras_unrolled)
        row("keras vs torch", case, "torch", torch_, "keras (while loop)", keras_loop)
    for case in ("imdbq", "mnist") if args.only is None else ():
        one = med(lambda: [_spawn("torch", case, threads=1)], "epoch_s")[0]
        two = med(lambda: [_spawn("torch", case, threads=2)], "epoch_s")[0]
        row("threads, one torch training", case, "1 thread", one, "2 threads", two)
        pair2 = max(med(lambda: [_spawn("torch", case, threads=2), _spawn("torch", case, threads=2)], "epoch_s"))
        pair1 = max(med(lambda: [_spawn("torch", case, threads=1), _spawn("torch", case, threads=1)], "epoch_s"))
        row("threads, two torch side by side", case, "1 thread each", pair1, "2 threads each", pair2)
        k_alone = med(lambda: [_spawn("keras", case)], "epoch_s")[0]
        k_side, t_side = med(lambda: [_spawn("keras", case), _spawn("torch", case)], "epoch_s")
        row("backends side by side (keras)", case, "alone, 1 thread", k_alone, "beside torch", k_side)
        row("backends side by side (torch)", case, "alone, 1 thread", one, "beside keras", t_side)
        nodet = med(lambda: [_spawn("keras", case, deterministic=False)], "epoch_s")[0]
        row("TF op determinism", case, "off", nodet, "on", k_alone)
        jit = med(lambda: [_spawn("keras", case, "jit", deterministic=False)], "epoch_s")[0]
        row("keras jit_compile (XLA)", case, "off", nodet, "on", jit)
        tfdata = med(lambda: [_spawn("keras", case, "tfdata")], "epoch_s")[0]
        row("keras input: tf.data cached", case, "fit(numpy), shuffled", k_alone, "tf.data, cached, prefetch", tfdata)
        gather = med(lambda: [_spawn("torch", case, "gather")], "gather_s")[0]
        row("torch input: per-batch gather", case, "whole epoch", one, "its gathers alone", gather)
        for backend in ("keras", "torch"):
            s1, s3 = (med(lambda: [_spawn(backend, case, "group")], k)[0] for k in ("step1_s", "step3_s"))
            row(f"grouped seeds, bound ({backend})", case, "3 steps of 1 batch", 3 * s1, "1 step of 3 batches", s3)
    if args.out:
        import reprokit.ledger as ledger
        with open(args.out, "w") as f:
            json.dump({"device": ledger.device(), "python": platform.python_version(), "commit": ledger.commit(),
                       "method": __doc__, "repeat": REPEAT, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
