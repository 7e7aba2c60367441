"""A JSON Schema of the expectation files, generated from the definitions the loader checks
(``claims.FIELDS``, ``KINDS``, the comparisons, the measurements and their arguments, the backends;
the models' and experiments' vocabulary: layer and data kinds and their dataclasses' fields),
so that an editor validates a file as it is written. ``reprokit schema`` prints it; the committed
copy (``docs/expectations.schema.json``) is tested to be what this generates.

The schema checks the form: fields, types, names. What needs the code or the documents (a quote
found in its document, a model or experiment that exists, an ``expected`` value that fits its
comparison) stays with the loader, which reports every problem at once.
"""

from __future__ import annotations

import json
from typing import Any

JSON_TYPES = {str: "string", dict: "object", list: "array", bool: "boolean"}


def _type(typ: Any) -> dict:
    if typ is object:
        return {}
    if isinstance(typ, tuple):  # (int, float)
        return {"type": "number"}
    return {"type": JSON_TYPES[typ]}


def _hint(hint: Any) -> dict:
    """The JSON Schema of a dataclass field's type hint (int, float, str, bool, Literal, Optional)."""
    import types
    import typing
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_hint(a) if a is not type(None) else {"type": "null"} for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    return {"type": {int: "integer", float: "number", str: "string", bool: "boolean"}[hint]}


def _fields(cls: type, special: dict[str, dict], skip: tuple[str, ...] = ()) -> dict:
    """An object with the dataclass ``cls``'s fields (``special`` for fields that hold other declarations)."""
    import dataclasses
    import typing
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in skip]
    return {"type": "object", "additionalProperties": False,
            "properties": {f.name: special.get(f.name) or _hint(hints[f.name]) for f in fields},
            "required": [f.name for f in fields
                         if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]}


def _kinds(kinds: dict[str, type]) -> dict:
    """One of ``kinds``, named by the field ``kind``."""
    options = []
    for kind, cls in kinds.items():
        option = _fields(cls, {})
        option["properties"] = {"kind": {"const": kind}, **option["properties"]}
        option["required"] = ["kind", *option["required"]]
        options.append(option)
    return {"oneOf": options}


def declarations() -> dict[str, dict]:
    """The ``$defs`` of models and experiments, from the vocabulary ``reprokit.declarations`` builds from."""
    from reprokit import declarations as d
    from reprokit import experiments, models
    data = {"$ref": "#/$defs/data"}
    layers = {"type": "array", "minItems": 1, "items": _kinds(d.LAYERS)}
    smoke = {"anyOf": [_fields(experiments.Smoke, {"data": data}), {"type": "null"}]}
    from reprokit.backends import BACKENDS
    budget = {"anyOf": [{"type": "integer", "minimum": 1},
                        {"type": "object", "minProperties": 1, "additionalProperties": False,
                         "properties": {b: {"type": "integer", "minimum": 1} for b in BACKENDS}}]}
    return {"data": _kinds(d.data_kinds()),
            "model": _fields(models.Model, {"layers": layers}, skip=("name",)),
            "experiment": _fields(experiments.Experiment, {"data": data, "smoke": smoke, "seed_budget": budget},
                                  skip=("name",))}


def schema() -> dict:
    from reprokit import claims
    from reprokit.backends import BACKENDS
    from reprokit.compare import COMPARISONS
    from reprokit.measures import MEASURES
    from reprokit.verdict import RECIPE, SINGLE_RUN, TIMING

    evidence = {"type": "object", "required": ["measured", "reason"], "additionalProperties": False,
                "properties": {"measured": {}, "reason": {"type": "string", "minLength": 1}}}
    value = {"type": "object", "required": ["expected", "why"], "additionalProperties": False,
             "properties": {"expected": {}, "why": {"type": "string"}}}
    properties: dict[str, dict] = {name: _type(typ) for name, (typ, _) in claims.FIELDS.items()}
    properties["id"]["pattern"] = claims.ID.pattern
    properties["kind"]["enum"] = list(claims.KINDS)
    properties["compare"]["enum"] = [*COMPARISONS, *SINGLE_RUN, *RECIPE, *TIMING]
    properties["measure"]["enum"] = sorted(MEASURES)
    properties["backends"]["items"] = {"enum": ["keras", "torch"]}
    properties["per_backend"].update(propertyNames={"enum": ["keras", "torch"]}, additionalProperties=value)
    properties["torch_native"] = value
    for block in claims.STATED:
        allowed = [b for b in BACKENDS if b.startswith("keras-")] if block == "reproduced" else list(BACKENDS)
        properties[block].update(propertyNames={"enum": allowed}, additionalProperties=evidence)
    by_measure = []
    for measure in sorted(MEASURES):
        takes, needs = claims.measure_arguments(measure)
        by_measure.append({"if": {"properties": {"measure": {"const": measure}}, "required": ["measure"]},
                           "then": {"properties": {"args": {"type": "object", "required": needs,
                                                            "propertyNames": {"enum": takes}}},
                                    **({"required": ["args"]} if needs else {})}})
    claim = {"type": "object", "additionalProperties": False, "properties": properties,
             "required": [name for name, (_, required) in claims.FIELDS.items() if required], "allOf": by_measure}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "reprokit expectation file",
        "description": "The checkable claims of one source document (reprokit/schema.py generates this).",
        "type": "object", "additionalProperties": False, "required": ["document", "claims"],
        "properties": {
            "document": {"type": "string", "pattern": claims.DOCUMENT.pattern},
            "transcriptions": {"type": "array", "items": {"type": "string", "pattern": claims.DOCUMENT.pattern}},
            "title": {"type": "string"},
            "choices": {},
            "claims": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/claim"}},
            "models": {"type": "object", "additionalProperties": {"$ref": "#/$defs/model"}},
            "experiments": {"type": "object", "additionalProperties": {"$ref": "#/$defs/experiment"}},
        },
        "$defs": {"claim": claim, **declarations()},
    }


def text() -> str:
    return json.dumps(schema(), indent=1, sort_keys=False) + "\n"
