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
