"""Expectation files: the committed ones load; malformed ones fail with one message naming the
file, the claim and the field."""

from pathlib import Path

import pytest

from reprokit.claims import load, load_file
from reprokit.errors import ExpectationError

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
document: 000_x.txt
claims:
  - id: a.params.x
    kind: params
    quote: "q"
    measure: params
    args: {model: stack4, layers: total}
    expected: 1
    compare: equal
"""


def test_committed_expectations_load():
    claims = load(ROOT / "expected")
    assert len({c.id for c in claims}) == len(claims) > 0


def write(tmp_path, text, name="x.yaml"):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


CASES = {
    "bad yaml": ("document: [unclosed\n", r"x.yaml: invalid YAML at line"),
    "empty file": ("", r"x.yaml: .*found an empty file"),
    "unknown top field": (GOOD + "extra: 1\n", r"unknown top-level field 'extra'"),
    "no claims": ("document: d.txt\nclaims: []\n", r"field claims"),
    "unknown kind": (GOOD.replace("kind: params", "kind: vibes"), r"claim a.params.x: field kind: unknown kind 'vibes'"),
    "unknown comparison": (GOOD.replace("compare: equal", "compare: roughly"), r"claim a.params.x: field compare"),
    "unknown field": (GOOD + "    colour: red\n", r"claim a.params.x: field colour: unknown field"),
    "missing field": (GOOD.replace("    quote: \"q\"\n", ""), r"claim a.params.x: field quote: missing"),
    "wrong type": (GOOD.replace("quote: \"q\"", "quote: 3"), r"field quote: must be a str"),
    "bad id": (GOOD.replace("a.params.x", "A B"), r"claim #1: field id"),
    "unknown measure": (GOOD.replace("measure: params", "measure: vibes"), r"field measure: unknown measurement"),
    "negative tolerance": (GOOD.replace("compare: equal", "compare: approx\n    tolerance: -1\n    why_tolerance: w"),
                           r"field tolerance: must be a finite number >= 0"),
    "nan tolerance": (GOOD.replace("compare: equal", "compare: approx\n    tolerance: .nan\n    why_tolerance: w"),
                      r"field tolerance"),
    "tolerance without reason": (GOOD.replace("compare: equal", "compare: approx\n    tolerance: 0.01"),
                                 r"field why_tolerance"),
    "unknown backend": (GOOD + "    backends: [keras, mxnet]\n", r"field backends: unknown backend 'mxnet'"),
    "nonrepro without reason": (GOOD + "    known_nonrepro: {torch: {measured: 1}}\n", r"field known_nonrepro.torch"),
    "python tag": (GOOD.replace("expected: 1", "expected: !!python/object/apply:os.system ['echo hi']"),
                   r"invalid YAML"),
    "duplicate key": (GOOD + "    kind: acc\n", r"invalid YAML at line 10.*key 'kind' appears twice"),
    "top level is a list": ("- 1\n- 2\n", r"x.yaml: expected a mapping.*found list"),
    "document missing": (GOOD.replace("document: 000_x.txt\n", ""), r"x.yaml: field document: .*required"),
    "document is a path": (GOOD.replace("000_x.txt", "../../etc/passwd"), r"field document: '../../etc/passwd' is not a plain file name"),
    "claims not a list": ("document: d.txt\nclaims: {a: 1}\n", r"field claims: a non-empty list"),
    "claim not a mapping": ("document: d.txt\nclaims: [just text]\n", r"claim #1: expected a mapping of fields, found str"),
    "tolerance is text": (GOOD.replace("compare: equal", "compare: approx\n    tolerance: small\n    why_tolerance: w"),
                          r"claim a.params.x: field tolerance: must be a number, found str"),
    "tolerance is a boolean": (GOOD.replace("compare: equal", "compare: approx\n    tolerance: true\n    why_tolerance: w"),
                               r"field tolerance: must be a number, found bool"),
    "backends not a list": (GOOD + "    backends: keras\n", r"field backends: must be a list"),
    "nan expected": (GOOD.replace("expected: 1", "expected: {test.accuracy: .nan}"), r"field expected: .*holds a NaN"),
    "unknown argument": (GOOD.replace("layers: total", "layers: total, colour: red"),
                         r"field args.colour: measurement 'params' takes no argument 'colour'"),
    "unknown model": (GOOD.replace("model: stack4", "model: stack9"), r"field args.model: unknown model 'stack9'"),
    "model not a name": (GOOD.replace("model: stack4", "model: [stack4]"), r"field args.model: must be a name, found list"),
    "unknown experiment": (GOOD.replace("measure: params", "measure: training.metrics").replace(
        "args: {model: stack4, layers: total}", "args: {experiment: imdbq.adam99, metrics: [test.accuracy]}"),
        r"claim a.params.x: field args: unknown experiment 'imdbq.adam99'"),
    "bad relation": (GOOD.replace("measure: params", "measure: training.order").replace(
        "args: {model: stack4, layers: total}", "args: {pairs: [[imdbq.adam5, '>>', imdbq.rmsprop10]], metric: test.accuracy}"),
        r"field args.pairs: .* is not \[experiment, relation, experiment\]"),
    "per_backend without why": (GOOD + "    per_backend: {torch: {expected: 2}}\n", r"field per_backend.torch: needs exactly"),
    "per_backend unknown backend": (GOOD + "    per_backend: {mxnet: {expected: 2, why: w}}\n", r"field per_backend: unknown backend 'mxnet'"),
    "nonrepro unknown backend": (GOOD + "    known_nonrepro: {jax: {measured: 1, reason: r}}\n", r"field known_nonrepro: unknown backend 'jax'"),
    "nonrepro extra field": (GOOD + "    known_nonrepro: {torch: {measured: 1, reason: r, seen: 2}}\n", r"field known_nonrepro.torch: needs exactly"),
    "torch_native malformed": (GOOD + "    torch_native: 7\n", r"field torch_native: must be a dict"),
    "aliases expand to plain data": ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\ndocument: d.txt\nclaims: [*c]\n",
                   r"unknown top-level field"),
}


@pytest.mark.parametrize("case", CASES)
def test_malformed_file_fails_with_one_clear_message(tmp_path, case):
    text, message = CASES[case]
    with pytest.raises(ExpectationError, match=message):
        load_file(write(tmp_path, text))


def test_non_utf8(tmp_path):
    with pytest.raises(ExpectationError, match="not UTF-8"):
        load_file(write(tmp_path, GOOD.encode() + b"# \xff\xfe\n"))


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ExpectationError, match=r"b.yaml: claim a.params.x: field id: duplicate, already defined in a.yaml"):
        load(tmp_path)
