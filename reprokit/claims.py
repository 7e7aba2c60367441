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
ID = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")  # fullmatch: a trailing newline is no id
MISSING = object()


@dataclass(frozen=True)
class BackendValue:
    """A backend's own documented-equivalent value, where it differs from the document's."""
    expected: Any
    why: str


@dataclass(frozen=True)
class NonReproduction:
    """A verdict that expected/ records for a backend with its evidence: ``known_nonrepro`` or
    ``undecided`` (kept as a strict xfail that only that verdict satisfies), or ``reproduced`` where a
    Keras backend on JAX or torch reproduces what Keras on TensorFlow does not."""
    measured: Any
    reason: str


# The blocks that state a verdict per backend. A backend's own entry decides; a Keras backend
# without one (keras-jax, keras-torch) states what ``keras`` states: the same recipe in Keras.
STATED = ("known_nonrepro", "undecided", "reproduced")


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
    reproduced: dict[str, NonReproduction] = field(default_factory=dict)  # keras-jax, keras-torch only
    note: str = ""

    def statement(self, backend: str) -> tuple[str, NonReproduction | None]:
        """(block, entry) expected/ states for ``backend``: its own entry, else its family's
        (``STATED``); ("reproduced", None) where neither has one."""
        for key in dict.fromkeys((backend, _family(backend))):
            for block in STATED:
                if key in getattr(self, block):
                    return block, getattr(self, block)[key]
        return "reproduced", None

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
    "undecided": (dict, False), "reproduced": (dict, False), "note": (str, False),
}
FILE_FIELDS = {"document", "transcriptions", "title", "claims", "choices", "models", "experiments"}


def load(folder: Path, documents: Path | None | object = MISSING) -> list[Claim]:
    """Every claim of every ``*.yaml`` in ``folder``, validated whole: one ExpectationError lists
    every problem of every file, one line each. ``documents``: the folder of source documents
    each file's ``document`` and each claim's ``quote`` are checked against (default
    ``settings.documents_dir()``; None skips that check)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExpectationError(f"{folder}: no such folder of expectations (pass --expected DIR)")
    if documents is MISSING:
        from reprokit import settings
        documents = settings.documents_dir()
    from reprokit import declarations, settings
    for declared in dict.fromkeys([settings.EXPECTED_DIR, folder.resolve()]):
        declarations.load(declared)  # the models and experiments first: the claims name them
    claims: list[Claim] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    paths = sorted(folder.glob("*.y*ml"))
    if not paths:
        raise ExpectationError(f"{folder}: holds no expectation files (*.yaml); pass --expected DIR")
    for path in paths:
        try:
            found, found_problems = _load_file(path, documents)
        except ExpectationError as exc:  # unreadable as a whole
            found, found_problems = [], exc.problems
        problems += found_problems
        for claim in found:
            if claim.id in seen:
                problems.append(f"{path.name}: claim {claim.id}: field id: duplicate, "
                                f"already defined in {seen[claim.id]}; ids must be unique")
                continue
            seen[claim.id] = path.name
            claims.append(claim)
    if problems:
        raise ExpectationError(*problems)
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


DOCUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(txt|ipynb)$")  # a transcription or a notebook


def _no_nan(value: Any) -> bool:
    """False where a number anywhere in ``value`` is NaN (infinity is fine: an open range's end)."""
    if isinstance(value, float):
        return not math.isnan(value)
    if isinstance(value, dict):
        return all(_no_nan(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nan(v) for v in value)
    return True


def load_file(path: Path, documents: Path | None = None) -> list[Claim]:
    """The claims of one expectation file. Every problem is collected (one ExpectationError lists
    them); ``documents``: the folder of source documents to check ``document`` and quotes against."""
    claims, problems = _load_file(path, documents)
    if problems:
        raise ExpectationError(*problems)
    return claims


def parse_file(path: Path) -> dict:
    """One expectation file's YAML as a mapping (no duplicate keys); one ExpectationError if it is
    not UTF-8, not YAML or not a mapping."""
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
    return doc


def _load_file(path: Path, documents: Path | None) -> tuple[list[Claim], list[str]]:
    """The well-formed claims of one file, and every problem found in it."""
    name = path.name
    doc = parse_file(path)
    problems = []
    unknown = set(doc) - FILE_FIELDS
    if unknown:
        problems.append(f"{name}: unknown top-level field {sorted(unknown)[0]!r}; "
                        f"allowed: {', '.join(sorted(FILE_FIELDS))}")
    document = doc.get("document")
    texts: list[str] | None = None
    if not isinstance(document, str) or not document:
        problems.append(f"{name}: field document: the source document's file name is required")
    elif not DOCUMENT.match(document) or ".." in document:
        problems.append(f"{name}: field document: {document!r} is not a plain file name like "
                        f"000_cebacc79b36ad6d2.txt (no folders: documents live in ../shared/seeds)")
    elif documents is not None:
        texts, missing = _documents(Path(documents), [document, *(doc.get("transcriptions") or [])])
        if missing and missing[0][0] == 0:
            texts = None  # no document to check the quotes against: that one problem says it
        problems += [f"{name}: field {'document' if i == 0 else 'transcriptions'}: {d!r} is not among the source "
                     f"documents in {documents} (set REPROKIT_DOCUMENTS_DIR to their folder)" for i, d in missing]
    entries = doc.get("claims")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{name}: field claims: a non-empty list of claims is required")
        entries = []
    claims = []
    for i, entry in enumerate(entries):
        claim, found = _claim(name, document if isinstance(document, str) else "", i, entry, texts)
        problems += found
        if claim is not None:
            claims.append(claim)
    return claims, problems


def _documents(folder: Path, names: list) -> tuple[list[str], list[tuple[int, Any]]]:
    """The normalized texts of the named documents that exist, and (position, name) of the rest."""
    texts, missing = [], []
    for i, d in enumerate(names):
        path = folder / d if isinstance(d, str) and DOCUMENT.match(d) else None
        if path is None or not path.is_file():
            missing.append((i, d))
        else:
            texts.append(_normal(notebook_text(path) if path.suffix == ".ipynb"
                                 else path.read_text(encoding="utf-8", errors="replace")))
    return texts, missing


def notebook_text(path: Path) -> str:
    """A Jupyter notebook as the text its claims quote: each cell's source, then its text outputs
    (streams, and the text/plain of results and displays), in order. Read with nbformat; a file
    that is not a notebook is one clear error."""
    import nbformat
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises its own and JSON's errors
        raise ExpectationError(f"{path.name}: not a readable Jupyter notebook ({type(exc).__name__}: "
                               f"{str(exc)[:120]}); save it from Jupyter again, or give a text transcription") from None
    parts = []
    for cell in nb.cells:
        parts.append(cell.get("source", ""))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif out.get("output_type") in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
            elif out.get("output_type") == "error":
                parts.append("\n".join(out.get("traceback", [])))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _normal(text: str) -> str:
    """Whitespace collapsed; "↪" (a line wrapped by the transcription) is a line break; Unicode in
    its composed form (NFC), so that "é" typed as e + accent matches the document's "é"."""
    import unicodedata
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).replace("↪", " ")).strip()


GAP = re.compile(r"\s*(?:\.\.\.|…)\s*")  # "..." in a quote: words left out


def quoted(quote: str, texts: list[str]) -> bool:
    """Does ``quote`` occur in one of ``texts`` (whitespace and line breaks normalized), its parts
    around each "..." in order?"""
    parts = [p for p in GAP.split(_normal(quote)) if p]
    for text in texts:
        at = 0
        for part in parts:
            at = text.find(part, at)
            if at < 0:
                break
            at += len(part)
        else:
            return True
    return False


def _claim(name: str, document: str, index: int, raw: Any,
           texts: list[str] | None = None) -> tuple[Claim | None, list[str]]:
    """The claim of one entry and every problem found in it (no claim where there are any)."""
    where = f"{name}: claim #{index + 1}"
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a mapping of fields, found {type(raw).__name__}"]
    cid = raw.get("id")
    if isinstance(cid, str) and ID.fullmatch(cid):
        where = f"{name}: claim {cid}"
    problems: list[str] = []

    def fail(fld: str, problem: str) -> None:
        problems.append(f"{where}: field {fld}: {problem}")

    for key in raw:
        if key not in FIELDS:
            fail(key, f"unknown field; allowed: {', '.join(FIELDS)}")
    for key, (typ, required) in FIELDS.items():
        value = raw.get(key, MISSING)
        if value is MISSING:
            if required:
                fail(key, "missing (required)")
            continue
        if typ is not object and (not isinstance(value, typ) or isinstance(value, bool) and typ != bool):
            kind = typ.__name__ if isinstance(typ, type) else "number"
            fail(key, f"must be a {kind}, found {type(value).__name__} {value!r}")
    if problems:  # the checks below read these fields as their types
        return None, problems
    if not ID.fullmatch(cid):
        fail("id", f"{cid!r} is not a dotted lower-case id like imdbq.params.embedding")
    if raw["kind"] not in KINDS:
        fail("kind", f"unknown kind {raw['kind']!r}; one of {', '.join(KINDS)}")
    elif (raw["kind"] == "time") != raw["measure"].startswith("timing."):
        # the kind chooses the pass a claim runs in: a time claim runs alone, at one thread
        fail("kind", f"kind {raw['kind']!r} with measurement {raw['measure']!r}: a time claim measures with "
                     f"timing.*, and only a time claim does")
    known = [*COMPARISONS, *SINGLE_RUN, *RECIPE, *TIMING]
    if raw["compare"] not in known:
        fail("compare", f"unknown comparison {raw['compare']!r}; one of {', '.join(known)}")
    if not raw["quote"].strip():
        fail("quote", "empty: quote the document's words (an empty quote is found in any document)")
    elif texts is not None and not quoted(raw["quote"], texts):
        fail("quote", f"{_normal(raw['quote'])[:70]!r} does not occur in {document} (whitespace and line breaks "
                      f"aside; '...' for words left out); quote the document word for word, context goes in note")
    args = raw.get("args", {})
    from reprokit.measures import MEASURES  # late: measures imports this module's types
    if raw["measure"] not in MEASURES:
        fail("measure", f"unknown measurement {raw['measure']!r}; one of {', '.join(sorted(MEASURES))}")
    else:
        takes, needs = measure_arguments(raw["measure"])
        for arg in args:
            if arg not in takes:
                fail(f"args.{arg}", f"measurement {raw['measure']!r} takes no argument {arg!r}; it takes "
                                    f"{', '.join(takes)}")
        for arg in needs:
            if arg not in args:
                fail("args", f"measurement {raw['measure']!r} needs the argument {arg!r}")
    _check_names(fail, args)
    if not _no_nan(raw["expected"]):
        fail("expected", f"{raw['expected']!r} holds a NaN; give the document's value")
    elif raw["compare"] in known:
        problem = _expected_problem(raw["compare"], raw["expected"], args)
        if problem:
            fail("expected", problem)
    tol = raw.get("tolerance")
    try:
        tol_ok = tol is None or math.isfinite(float(tol)) and tol >= 0
    except OverflowError:  # a 400-digit integer
        tol_ok = False
    if not tol_ok:
        fail("tolerance", f"must be a finite number >= 0, found {str(tol)[:40]!r}")
    if raw["compare"] in NEEDS_TOLERANCE and tol is None:
        fail("tolerance", f"comparison {raw['compare']!r} needs a tolerance")
    if tol is not None and not raw.get("why_tolerance"):
        fail("why_tolerance", "a tolerance (a practical margin) needs a one-line justification")
    backends = raw.get("backends", ["keras", "torch"])
    families = {"keras", "torch"}
    if not isinstance(backends, list) or not backends:
        fail("backends", f"give a non-empty list such as [keras, torch], found {backends!r}")
        backends = []
    for b in backends:
        if not isinstance(b, str) or b not in families:
            hint = " (YAML reads a bare no/yes/off/on as true or false: quote it)" if isinstance(b, bool) else ""
            fail("backends", f"unknown backend {b!r}{hint}; one of keras, torch "
                             f"(keras covers every Keras backend: {', '.join(x for x in BACKENDS if x.startswith('keras'))})")
    per_backend = {}
    for b, v in raw.get("per_backend", {}).items():
        if b not in families:
            fail("per_backend", f"unknown backend {b!r}; one of keras, torch")
        elif (value := _backend_value(fail, f"per_backend.{b}", v)) is not None:
            per_backend[b] = value
            problem = raw["compare"] in known and _expected_problem(raw["compare"], value.expected, args)
            if problem:
                fail(f"per_backend.{b}.expected", problem)
    native = raw.get("torch_native")
    stated: dict[str, dict[str, NonReproduction]] = {block: {} for block in STATED}
    for fld, found in stated.items():
        # "reproduced" is what keras and torch state without an entry
        allowed = list(BACKENDS) if fld != "reproduced" else [b for b in BACKENDS if b.startswith("keras-")]
        for b, v in raw.get(fld, {}).items():
            if b not in allowed:
                fail(fld, f"unknown backend {b!r}; one of {', '.join(allowed)}")
            elif not isinstance(v, dict) or set(v) != {"measured", "reason"} or not v.get("reason"):
                fail(f"{fld}.{b}", "needs exactly 'measured' (the value found) and 'reason'")
            else:
                found[b] = NonReproduction(v["measured"], v["reason"])
    for i, first in enumerate(STATED):
        for second in STATED[i + 1:]:
            if both := set(stated[first]) & set(stated[second]):
                fail(second, f"backend {sorted(both)[0]} is also under {first}; state one verdict")
    native_value = _backend_value(fail, "torch_native", native) if native is not None else None
    if problems:
        return None, problems
    return Claim(
        id=cid, kind=raw["kind"], document=document, quote=raw["quote"], measure=raw["measure"],
        expected=raw["expected"], compare=raw["compare"], file=name, args=args,
        tolerance=tol, why_tolerance=raw.get("why_tolerance", ""), backends=tuple(backends),
        per_backend=per_backend, torch_native=native_value,
        known_nonrepro=stated["known_nonrepro"], undecided=stated["undecided"], reproduced=stated["reproduced"],
        note=raw.get("note", "")), []


def measure_arguments(measure: str) -> tuple[list[str], list[str]]:
    """The ``args`` a measurement takes and those it needs: its function's parameters (the
    backend is given by the run, not by a claim)."""
    import inspect

    from reprokit.measures import MEASURES
    params = inspect.signature(MEASURES[measure]).parameters
    takes = [a for a in params if a != "backend"]
    return takes, [a for a in takes if params[a].default is inspect.Parameter.empty]


def _check_names(fail, args: dict) -> None:
    """Every model, experiment, timing-ratio model, layer index and metric ``args`` names exists."""
    from reprokit.experiments import EXPERIMENTS
    from reprokit.models import catalogue
    models = catalogue()
    for key in ("experiment", "model"):
        if key in args and not isinstance(args[key], str):
            fail(f"args.{key}", f"must be a name, found {type(args[key]).__name__} {args[key]!r}")
    for key in ("experiments", "pairs"):
        if key in args and not isinstance(args[key], list):
            fail(f"args.{key}", f"must be a list, found {type(args[key]).__name__} {args[key]!r}"
                                + (f" (write [{args[key]}])" if isinstance(args[key], str) else ""))
            return
    model = args.get("model")
    if isinstance(model, str) and model not in models:
        fail("args.model", f"unknown model {model!r}; the documents' files declare models (models:)")
    layers = args.get("layers")
    if isinstance(layers, list) and isinstance(model, str) and model in models:
        count = len(models[model].layers)
        for i in layers:
            if not isinstance(i, int) or isinstance(i, bool) or not -count <= i < count:
                fail("args.layers", f"{i!r} is not a layer index of {model} (it has {count} layers: 0..{count - 1})")
    elif layers is not None and not isinstance(layers, list) and layers not in ("all", "total", "summary"):
        fail("args.layers", f"{layers!r}: give layer indices, 'all', 'total' or 'summary'")
    names = experiments_named(args)
    for exp in names:
        if not isinstance(exp, str) or exp not in EXPERIMENTS:
            fail("args", f"unknown experiment {exp!r}; the documents' files declare experiments (experiments:)")
    pairs = args.get("pairs")
    if pairs is not None:
        from reprokit.verdict import RELATIONS
        for pair in pairs if isinstance(pairs, list) else [pairs]:
            if not (isinstance(pair, list) and len(pair) == 3 and pair[1] in RELATIONS):
                fail("args.pairs", f"{pair!r} is not [experiment, relation, experiment] with a relation "
                                   f"among {', '.join(RELATIONS)}")
    for pair in args.get("ratios") or []:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, str) for n in pair)):
            fail("args.ratios", f"{pair!r} is not [model, model]")
            continue
        for n in pair:
            if n.partition(":")[0] not in models:
                fail("args.ratios", f"unknown model {n.partition(':')[0]!r} in {pair!r}; the documents' files declare models")
    metrics = ([args["metric"]] if isinstance(args.get("metric"), str) else []) + \
        [m for m in args.get("metrics") or [] if isinstance(m, str)]
    epochs = min((EXPERIMENTS[e].epochs for e in names if e in EXPERIMENTS), default=None)
    for metric in metrics:
        problem = metric_problem(metric, epochs)
        if problem:
            fail("args.metrics" if "metrics" in args else "args.metric", problem)


METRIC = re.compile(r"^(?:test\.\w+|(?:max|argmax|mean):\w+|epochs_to:\w+>=[0-9.]+|\w+(?:@(?P<epoch>-?\d+))?)$")


def metric_problem(metric: str, epochs: int | None) -> str | None:
    """What is wrong with a metric name (``measures.value`` reads it), or None."""
    found = METRIC.match(metric)
    if not found:
        return (f"{metric!r} is not a metric: test.<name>, <name>, <name>@<epoch>, max:<name>, argmax:<name>, "
                f"mean:<name> or epochs_to:<name>>=<number>")
    epoch = found.group("epoch")
    if epoch is not None and epochs is not None and not 1 <= int(epoch) <= epochs:
        return f"{metric!r}: epoch {epoch} of a run of {epochs} epochs (epochs count from 1)"
    return None


def _numbers(value: Any, booleans: bool = False) -> bool:
    """Is every leaf of ``value`` (lists, mappings) a number (or a boolean, where allowed)?"""
    if isinstance(value, dict):
        return bool(value) and all(_numbers(v, booleans) for v in value.values())
    if isinstance(value, list):
        return bool(value) and all(_numbers(v, booleans) for v in value)
    return isinstance(value, (int, float)) and (booleans or not isinstance(value, bool))


def _range_problem(value: Any) -> str | None:
    if not (isinstance(value, list) and len(value) == 2 and _numbers(value)):
        return f"{value!r} is not a range [low, high] of two numbers"
    if value[0] > value[1]:
        return f"{value!r}: low is above high"
    return None


def _expected_problem(compare: str, expected: Any, args: dict) -> str | None:
    """What is wrong with ``expected`` for ``compare`` (checked at load, not after training)."""
    if compare == "order":
        return None if expected is True else \
            f"an order claim states its relations in args.pairs; expected must be true, found {expected!r}"
    if compare in ("approx", "plausible_run", "plausible_run_at_least"):
        if not _numbers(expected):
            return f"comparison {compare!r} needs numbers (or lists or mappings of them), found {expected!r}"
    if compare in ("at_least", "at_most") and not _numbers(expected, booleans=True):
        return f"comparison {compare!r} needs numbers (or lists or mappings of them), found {expected!r}"
    if compare == "in_range":
        return _range_problem(expected)
    if compare == "prefix" and not isinstance(expected, (str, list)):
        return f"comparison 'prefix' needs a string or a list, found {type(expected).__name__} {expected!r}"
    if compare == "plausible_outcome" and not (isinstance(expected, dict) and (
            expected == {"fraction": 1.0} or all(v == {"fraction": 1.0} for v in expected.values()))):
        return f"comparison 'plausible_outcome' states the outcome the document showed: {{fraction: 1.0}} " \
               f"(per experiment where there are several), found {expected!r}"
    if compare == "trend":
        if not isinstance(expected, dict) or not expected:
            return f"comparison 'trend' needs {{experiment: {{spearman: bound}}}}, found {expected!r}"
        for name, bound in expected.items():
            if not (isinstance(bound, dict) and set(bound) == {"spearman"} and _numbers(bound["spearman"])
                    and -1 <= bound["spearman"] <= 1):
                return f"{name}: {bound!r} is not {{spearman: bound}} with a bound in [-1, 1]"
            if name not in experiments_named(args):
                return f"{name!r} is not among the claim's experiments"
    if compare in TIMING:
        if not isinstance(expected, dict) or not expected:
            return f"comparison {compare!r} needs {{a/b: [low, high]}} or {{a/b: {{statistic: [low, high]}}}}, " \
                   f"found {expected!r}"
        from reprokit.verdict import TIMING_STATS
        ratios = {f"{a}/{b}" for a, b in (p for p in args.get("ratios") or [] if isinstance(p, list) and len(p) == 2)}
        for name, accepted in expected.items():
            if name not in ratios:
                return f"{name!r} is not one of the ratios args.ratios times ({', '.join(sorted(ratios))})"
            if isinstance(accepted, dict):
                if len(accepted) != 1 or next(iter(accepted)) not in TIMING_STATS:
                    return f"{name}: {accepted!r} is not {{statistic: [low, high]}} with a statistic among " \
                           f"{', '.join(TIMING_STATS)}"
                accepted = next(iter(accepted.values()))
            problem = _range_problem(accepted)
            if problem:
                return f"{name}: {problem}"
    if compare in SINGLE_RUN and isinstance(expected, dict):
        names = experiments_named(args)
        metrics = set(args.get("metrics") or [])
        top = set(expected)
        if len(names) > 1 and not top <= set(names):
            return f"{', '.join(sorted(top - set(names)))}: not among the claim's experiments"
        if metrics:
            inner = set().union(*(v for v in expected.values() if isinstance(v, dict))) if len(names) > 1 else top
            if not inner <= metrics:
                return f"{', '.join(sorted(inner - metrics))}: not among the claim's args.metrics"
    return None


def _backend_value(fail, fld: str, v: Any) -> BackendValue | None:
    if not isinstance(v, dict) or set(v) != {"expected", "why"} or not isinstance(v["why"], str) or not v["why"]:
        fail(fld, "needs exactly 'expected' (the value) and 'why' (a reason)")
        return None
    return BackendValue(v["expected"], v["why"])
