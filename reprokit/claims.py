"""The claim registry: one YAML file per source document in ``expected/``, read through a schema.

A malformed file fails with one ExpectationError naming the file, the claim and the field.
YAML is read with ``yaml.safe_load`` only: an expectation file cannot run code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reprokit.backends import BACKENDS
from reprokit.compare import COMPARISONS, NEEDS_TOLERANCE
from reprokit.verdict import RECIPE, SINGLE_RUN, TIMING
from reprokit.errors import ExpectationError

KINDS = ("data", "shape", "params", "acc", "curve", "order", "time", "pred", "mech")
ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
MISSING = object()


@dataclass(frozen=True)
class BackendValue:
    """A backend's own documented-equivalent value, where it differs from the document's."""
    expected: Any
    why: str


@dataclass(frozen=True)
class NonReproduction:
    """A verdict other than "reproduced" that expected/ records for a backend (``known_nonrepro``
    or ``undecided``): kept as a strict xfail that only that verdict satisfies, with the evidence."""
    measured: Any
    reason: str


@dataclass(frozen=True)
class Claim:
    id: str
    kind: str
    document: str
    quote: str
    measure: str
    expected: Any
    compare: str
    file: str
    args: dict = field(default_factory=dict)
    tolerance: float | None = None
    why_tolerance: str = ""
    backends: tuple[str, ...] = ("keras", "torch")
    per_backend: dict[str, BackendValue] = field(default_factory=dict)
    torch_native: BackendValue | None = None
    known_nonrepro: dict[str, NonReproduction] = field(default_factory=dict)
    undecided: dict[str, NonReproduction] = field(default_factory=dict)
    note: str = ""

    def expected_for(self, backend: str) -> Any:
        own = self.per_backend.get(_family(backend))
        return own.expected if own else self.expected

    def applies_to(self, backend: str) -> bool:
        return _family(backend) in self.backends

    @property
    def experiments(self) -> list[str]:
        """The training experiments this claim reads (none for data, shape and params claims)."""
        return experiments_named(self.args)


def experiments_named(args: dict) -> list[str]:
    names = [args["experiment"]] if isinstance(args.get("experiment"), str) else list(args.get("experiments") or [])
    for pair in args.get("pairs") or []:
        if isinstance(pair, list) and len(pair) == 3:
            names += [pair[0], pair[2]]
    return list(dict.fromkeys(names))


def _family(backend: str) -> str:
    """``keras-jax`` and ``keras-torch`` share the claims and values of ``keras``."""
    return "keras" if backend.startswith("keras") else backend


FIELDS = {  # name: (type, required)
    "id": (str, True), "kind": (str, True), "quote": (str, True), "measure": (str, True),
    "expected": (object, True), "compare": (str, True), "args": (dict, False),
    "tolerance": ((int, float), False), "why_tolerance": (str, False), "backends": (list, False),
    "per_backend": (dict, False), "torch_native": (dict, False), "known_nonrepro": (dict, False),
    "undecided": (dict, False), "note": (str, False),
}
FILE_FIELDS = {"document", "transcriptions", "title", "claims", "choices"}


def load(folder: Path) -> list[Claim]:
    """Every claim of every ``*.yaml`` in ``folder``, validated; ids unique across files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExpectationError(f"{folder}: no such folder of expectations (pass --expected DIR)")
    claims: list[Claim] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.y*ml")):
        for claim in load_file(path):
            if claim.id in seen:
                raise ExpectationError(f"{path.name}: claim {claim.id}: field id: duplicate, "
                                       f"already defined in {seen[claim.id]}; ids must be unique")
            seen[claim.id] = path.name
            claims.append(claim)
    return claims


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (plain data only, no tags that build objects) that also refuses a key
    given twice in one mapping, which PyYAML would otherwise resolve silently to the last value."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


DOCUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.txt$")


def _no_nan(value: Any) -> bool:
    """False where a number anywhere in ``value`` is NaN (infinity is fine: an open range's end)."""
    if isinstance(value, float):
        return not math.isnan(value)
    if isinstance(value, dict):
        return all(_no_nan(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nan(v) for v in value)
    return True


def load_file(path: Path) -> list[Claim]:
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExpectationError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ExpectationError(f"{name}: invalid YAML{at}: {problem}") from None
    if not isinstance(doc, dict):
        raise ExpectationError(f"{name}: expected a mapping with 'document' and 'claims', "
                               f"found {'an empty file' if doc is None else type(doc).__name__}")
    unknown = set(doc) - FILE_FIELDS
    if unknown:
        raise ExpectationError(f"{name}: unknown top-level field {sorted(unknown)[0]!r}; "
                               f"allowed: {', '.join(sorted(FILE_FIELDS))}")
    document = doc.get("document")
    if not isinstance(document, str) or not document:
        raise ExpectationError(f"{name}: field document: the source document's file name is required")
    if not DOCUMENT.match(document) or ".." in document:
        raise ExpectationError(f"{name}: field document: {document!r} is not a plain file name like "
                               f"000_cebacc79b36ad6d2.txt (no folders: documents live in ../shared/seeds)")
    entries = doc.get("claims")
    if not isinstance(entries, list) or not entries:
        raise ExpectationError(f"{name}: field claims: a non-empty list of claims is required")
    return [_claim(name, document, i, entry) for i, entry in enumerate(entries)]


def _claim(name: str, document: str, index: int, raw: Any) -> Claim:
    where = f"{name}: claim #{index + 1}"
    if not isinstance(raw, dict):
        raise ExpectationError(f"{where}: expected a mapping of fields, found {type(raw).__name__}")
    cid = raw.get("id")
    if isinstance(cid, str) and ID.match(cid):
        where = f"{name}: claim {cid}"

    def fail(fld: str, problem: str) -> ExpectationError:
        return ExpectationError(f"{where}: field {fld}: {problem}")

    for key in raw:
        if key not in FIELDS:
            raise fail(key, f"unknown field; allowed: {', '.join(FIELDS)}")
    for key, (typ, required) in FIELDS.items():
        value = raw.get(key, MISSING)
        if value is MISSING:
            if required:
                raise fail(key, "missing (required)")
            continue
        if typ is not object and (not isinstance(value, typ) or isinstance(value, bool) and typ != bool):
            kind = typ.__name__ if isinstance(typ, type) else "number"
            raise fail(key, f"must be a {kind}, found {type(value).__name__} {value!r}")
    if not ID.match(cid):
        raise fail("id", f"{cid!r} is not a dotted lower-case id like imdbq.params.embedding")
    if raw["kind"] not in KINDS:
        raise fail("kind", f"unknown kind {raw['kind']!r}; one of {', '.join(KINDS)}")
    known = [*COMPARISONS, *SINGLE_RUN, *RECIPE, *TIMING]
    if raw["compare"] not in known:
        raise fail("compare", f"unknown comparison {raw['compare']!r}; one of {', '.join(known)}")
    from reprokit.measures import MEASURES  # late: measures imports this module's types
    if raw["measure"] not in MEASURES:
        raise fail("measure", f"unknown measurement {raw['measure']!r}; one of {', '.join(sorted(MEASURES))}")
    import inspect
    params = inspect.signature(MEASURES[raw["measure"]]).parameters
    for arg in raw.get("args", {}):
        if arg not in params or arg == "backend":
            raise fail(f"args.{arg}", f"measurement {raw['measure']!r} takes no argument {arg!r}; it takes "
                                      f"{', '.join(p for p in params if p != 'backend')}")
    for key in ("experiment", "model"):
        if key in raw.get("args", {}) and not isinstance(raw["args"][key], str):
            raise fail(f"args.{key}", f"must be a name, found {type(raw['args'][key]).__name__} {raw['args'][key]!r}")
    model = raw.get("args", {}).get("model")
    if model is not None:
        from reprokit.models import catalogue
        if model not in catalogue():
            raise fail("args.model", f"unknown model {model!r}; see reprokit/models.py for the defined ones")
    from reprokit.experiments import EXPERIMENTS
    for exp in experiments_named(raw.get("args", {})):
        if not isinstance(exp, str) or exp not in EXPERIMENTS:
            raise fail("args", f"unknown experiment {exp!r}; see reprokit/experiments.py for the defined ones")
    pairs = raw.get("args", {}).get("pairs")
    if pairs is not None:
        from reprokit.verdict import RELATIONS
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 3 and pair[1] in RELATIONS):
                raise fail("args.pairs", f"{pair!r} is not [experiment, relation, experiment] with a relation "
                                         f"among {', '.join(RELATIONS)}")
    if not _no_nan(raw["expected"]):
        raise fail("expected", f"{raw['expected']!r} holds a NaN; give the document's value")
    tol = raw.get("tolerance")
    if tol is not None and (not math.isfinite(tol) or tol < 0):
        raise fail("tolerance", f"must be a finite number >= 0, found {tol!r}")
    if raw["compare"] in NEEDS_TOLERANCE:
        if tol is None:
            raise fail("tolerance", f"comparison {raw['compare']!r} needs a tolerance")
    if tol is not None and not raw.get("why_tolerance"):
        raise fail("why_tolerance", "a tolerance (a practical margin) needs a one-line justification")
    backends = raw.get("backends", ["keras", "torch"])
    families = {"keras", "torch"}
    for b in backends:
        if b not in families:
            raise fail("backends", f"unknown backend {b!r}; one of keras, torch "
                                   f"(keras covers every Keras backend: {', '.join(x for x in BACKENDS if x.startswith('keras'))})")
    per_backend = {}
    for b, v in raw.get("per_backend", {}).items():
        if b not in families:
            raise fail("per_backend", f"unknown backend {b!r}; one of keras, torch")
        per_backend[b] = _backend_value(fail, f"per_backend.{b}", v)
    native = raw.get("torch_native")
    stated: dict[str, dict[str, NonReproduction]] = {"known_nonrepro": {}, "undecided": {}}
    for fld, found in stated.items():
        for b, v in raw.get(fld, {}).items():
            if b not in families:
                raise fail(fld, f"unknown backend {b!r}; one of keras, torch")
            if not isinstance(v, dict) or set(v) != {"measured", "reason"} or not v.get("reason"):
                raise fail(f"{fld}.{b}", "needs exactly 'measured' (the value found) and 'reason'")
            found[b] = NonReproduction(v["measured"], v["reason"])
    both = set(stated["known_nonrepro"]) & set(stated["undecided"])
    if both:
        raise fail("undecided", f"backend {sorted(both)[0]} is also under known_nonrepro; state one verdict")
    return Claim(
        id=cid, kind=raw["kind"], document=document, quote=raw["quote"], measure=raw["measure"],
        expected=raw["expected"], compare=raw["compare"], file=name, args=raw.get("args", {}),
        tolerance=tol, why_tolerance=raw.get("why_tolerance", ""), backends=tuple(backends),
        per_backend=per_backend,
        torch_native=_backend_value(fail, "torch_native", native) if native is not None else None,
        known_nonrepro=stated["known_nonrepro"], undecided=stated["undecided"], note=raw.get("note", ""))


def _backend_value(fail, fld: str, v: Any) -> BackendValue:
    if not isinstance(v, dict) or set(v) != {"expected", "why"} or not isinstance(v["why"], str) or not v["why"]:
        raise fail(fld, "needs exactly 'expected' (the value) and 'why' (a reason)")
    return BackendValue(v["expected"], v["why"])
