"""The models and experiments each document declares in its YAML file (``models:`` and
``experiments:`` beside ``claims:``), built into the vocabulary's frozen dataclasses: layers in
``reprokit.models``, data kinds, ``Smoke`` and ``Experiment`` in ``reprokit.experiments``. Python
holds the vocabulary; the documents hold the instances.

Checked at load, every problem of every file at once, each naming the file, the model or
experiment, and the field. A model is written as its input and its layers::

    models:
      imdbq.simple5.len30:
        steps: 30            # time steps; null: any length
        features: null       # null: token ids (an embedding first); else the size of each step
        layers:
          - {kind: embedding, input_dim: 2000, output_dim: 50}
          - {kind: recurrent, cell: simple, units: 5, kernel_stddev: 0.001}
          - {kind: dense, units: 1, activation: sigmoid}

and an experiment as its recipe (``Experiment``'s fields; ``data`` and ``smoke.data`` name their
data kind the same way).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from reprokit import models as m
from reprokit.errors import ExpectationError

LAYERS: dict[str, type] = {"embedding": m.Embedding, "recurrent": m.Recurrent, "conv1d": m.Conv1D,
                           "max_pooling1d": m.MaxPooling1D, "dense": m.Dense}


def data_kinds() -> dict[str, type]:
    from reprokit import experiments as e
    return {"imdb": e.ImdbData, "mnist_rows": e.MnistRows, "index_task": e.IndexData,
            "binary_addition": e.BinaryAdditionData}


def kind_of(obj: Any) -> str:
    """The YAML ``kind`` of a layer or data instance."""
    return next(k for k, cls in {**LAYERS, **data_kinds()}.items() if type(obj) is cls)


@dataclasses.dataclass(frozen=True)
class Declared:
    models: dict[str, m.Model]
    experiments: dict[str, Any]  # name -> experiments.Experiment


class _Problems(list):
    def add(self, where: str, field: str, what: str) -> None:
        self.append(f"{where}: field {field}: {what}")


def _scalar(hint: Any, value: Any, where: str, field: str, problems: _Problems) -> Any:
    """``value`` checked against a field's type hint (int, float, str, bool, Literal, Optional)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return _scalar(rest[0] if len(rest) == 1 else Union[tuple(rest)], value, where, field, problems)
    if origin is Literal:
        if value not in args:
            problems.add(where, field, f"{value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint_text = " (write 1.0e-3, not 1e-3: YAML reads 1e-3 as text)" if isinstance(value, str) else ""
            problems.add(where, field, f"{value!r} is not a number{hint_text}")
            return value
        return float(value)
    if hint in (int, str, bool) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        problems.add(where, field, f"{value!r} is not {'a whole number' if hint is int else 'text' if hint is str else 'true or false'}")
    return value


def _build(cls: type, raw: Any, where: str, problems: _Problems, skip: tuple[str, ...] = (), **given: Any) -> Any:
    """An instance of the dataclass ``cls`` from the mapping ``raw``: unknown, missing and
    mistyped fields are problems; ``given`` fields come from elsewhere (a name from its key)."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping of {cls.__name__}'s fields, found {type(raw).__name__}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in given}
    for key in raw:
        if key not in fields and key not in skip:
            problems.add(where, key, f"unknown; {cls.__name__} takes {', '.join(fields)}")
    kwargs, before = dict(given), len(problems)
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.add(where, name, "required")
            continue
        value = raw[name]
        if name == "data":
            value = _tagged(data_kinds(), value, where, "data", problems)
        elif name == "smoke":
            value = None if value is None else _smoke(value, where, problems)
        elif name == "seed_budget":
            value = _seed_budget(value, where, problems)
        elif name == "layers":
            if not isinstance(value, list) or not value:
                problems.add(where, "layers", "a non-empty list of layers is required")
                continue
            value = tuple(_tagged(LAYERS, layer, where, f"layers[{i}]", problems) for i, layer in enumerate(value))
        else:
            value = _scalar(hints[name], value, where, name, problems)
        kwargs[name] = value
    if len(problems) > before:
        return None
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
        return None


def _seed_budget(value: Any, where: str, problems: _Problems) -> Any:
    """A whole number of seeds, or a mapping of backend names to one."""
    from reprokit.backends import BACKENDS
    per = value if isinstance(value, dict) else {"": value}
    for backend, n in per.items():
        if backend and backend not in BACKENDS:
            problems.add(where, "seed_budget", f"{backend!r} is not a backend: give one of {', '.join(BACKENDS)}")
        elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
            problems.add(where, "seed_budget", f"{n!r} is not a whole number of seeds (1 or more)"
                         + ("; give one number, or one per backend (keras: 10)" if not backend else f" for {backend}"))
    if isinstance(value, dict) and not value:
        problems.add(where, "seed_budget", "an empty mapping: give a number, or one per backend (keras: 10)")
    return value


def _tagged(kinds: dict[str, type], raw: Any, where: str, field: str, problems: _Problems) -> Any:
    """One of ``kinds``, named by the mapping's ``kind``."""
    if not isinstance(raw, dict) or raw.get("kind") not in kinds:
        found = raw.get("kind") if isinstance(raw, dict) else raw
        problems.add(where, field, f"{found!r}: give a mapping whose kind is one of {', '.join(kinds)}")
        return None
    return _build(kinds[raw["kind"]], raw, f"{where}: field {field} ({raw['kind']})", problems, skip=("kind",))


def _smoke(raw: Any, where: str, problems: _Problems) -> Any:
    from reprokit.experiments import Smoke
    return _build(Smoke, raw, f"{where}: field smoke", problems)


def _section(doc: dict, key: str, name: str, problems: _Problems) -> dict:
    section = doc.get(key) or {}
    if not isinstance(section, dict):
        problems.append(f"{name}: field {key}: a mapping of names to declarations is required")
        return {}
    return section


# A model's or experiment's name becomes a folder of the ledger and of the run cache: one plain
# path component (no separators, no "..", not absolute), so no name writes outside its folder.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def safe_name(name: Any) -> bool:
    return isinstance(name, str) and NAME.fullmatch(name) is not None and ".." not in name


def declare(doc: dict, name: str, problems: list[str]) -> tuple[dict[str, m.Model], dict[str, Any]]:
    """The models and experiments of one parsed file ``name``; their problems go to ``problems``."""
    from reprokit.experiments import Experiment
    found = _Problems()
    models, experiments = {}, {}
    for kind in ("models", "experiments"):
        for bad in [n for n in _section(doc, kind, name, _Problems()) if not safe_name(n)]:
            found.append(f"{name}: {kind[:-1]} {bad!r}: not a plain name (letters, digits, '.', '_', '-'; no '/', "
                         f"no '..'): it names a folder of the ledger")
    for model, raw in _section(doc, "models", name, found).items():
        if not safe_name(model):
            continue
        built = _build(m.Model, raw, f"{name}: model {model}", found, name=str(model))
        if built is not None:
            models[str(model)] = built
    for exp, raw in _section(doc, "experiments", name, found).items():
        if not safe_name(exp):
            continue
        built = _build(Experiment, raw, f"{name}: experiment {exp}", found, name=str(exp))
        if built is not None and built.smoke is None and built.full_run_s is None:
            # the quick profile would have nothing to train and nothing to show learning: not a pass
            found.add(f"{name}: experiment {exp}", "smoke", "no smoke run and no stated cost (full_run_s): give a "
                      "smoke: block (a reduced run the quick profile trains), or full_run_s: the seconds one full "
                      "run takes on one core (at most 120 to train it whole in the quick profile)")
        if built is not None:  # kept, so that the checks across files still see it
            experiments[str(exp)] = built
    problems += found
    return models, experiments


def load(folder: Path) -> Declared:
    """Every model and experiment the ``*.yaml`` files of ``folder`` declare; one
    ExpectationError lists every problem (a name declared twice, an experiment whose model no
    file declares, a malformed field)."""
    folder = Path(folder).resolve()
    paths = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
    return _load(folder, tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in paths))


@functools.cache  # read again only when a file changes; tests may patch its dicts (monkeypatch.setitem)
def _load(folder: Path, files_stamp: tuple) -> Declared:
    from reprokit.claims import parse_file
    problems: list[str] = []
    declared: dict[str, dict] = {"model": {}, "experiment": {}}
    files: dict[tuple[str, str], str] = {}  # (kind, name) -> the file that declares it
    for path, _, _ in files_stamp:
        try:
            doc = parse_file(path)
        except ExpectationError:
            continue  # unreadable as a whole: the claims' loader reports it
        for kind, found in zip(("model", "experiment"), declare(doc, path.name, problems)):
            for name, value in found.items():
                if (kind, name) in files:
                    problems.append(f"{path.name}: {kind} {name}: declared twice (also in {files[kind, name]})")
                    continue
                declared[kind][name], files[kind, name] = value, path.name
    models, experiments = declared["model"], declared["experiment"]
    for name, exp in experiments.items():
        if exp.model not in models:
            problems.append(f"{files['experiment', name]}: experiment {name}: field model: {exp.model!r} is "
                            f"declared in no file of {folder}")
    if problems:
        raise ExpectationError(*problems)
    return Declared(models, experiments)
