"""The JSON Schema of expectation files (``reprokit schema``): the committed copy is what the
loader's definitions generate, every committed file validates against it, and it rejects what the
loader rejects for form (fields, types, names)."""

import json
from pathlib import Path

import pytest
import yaml

from reprokit import claims, schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "expectations.schema.json"


def test_the_committed_schema_is_generated_from_the_loaders_definitions():
    assert COMMITTED.read_text() == schema.text(), "regenerate it: reprokit schema --write docs/expectations.schema.json"
    generated = schema.schema()
    assert set(generated["properties"]) == claims.FILE_FIELDS
    assert set(generated["$defs"]["claim"]["properties"]) == set(claims.FIELDS)


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft202012Validator(json.loads(COMMITTED.read_text()))


@pytest.mark.parametrize("path", sorted((ROOT / "expected").glob("*.yaml")) + sorted(ROOT.glob("examples/*/expected/*.yaml")),
                         ids=lambda p: p.name)
def test_every_committed_file_validates(validator, path):
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors, errors[:3]


GOOD = {"document": "000_x.txt", "claims": [{"id": "a.params.x", "kind": "params", "quote": "q",
                                              "measure": "params", "args": {"model": "stack4", "layers": "total"},
                                              "expected": 1, "compare": "equal"}]}


@pytest.mark.parametrize("change", [
    {"kind": "vibes"}, {"compare": "roughly"}, {"measure": "vibes"}, {"colour": "red"}, {"quote": 3},
    {"id": "A B"}, {"args": {"layers": "total"}}, {"args": {"model": "stack4", "layers": "total", "seed": 1}},
    {"known_nonrepro": {"jax": {"measured": 1, "reason": "r"}}}, {"reproduced": {"keras": {"measured": 1, "reason": "r"}}},
    {"undecided": {"torch": {"measured": 1}}},
], ids=lambda c: next(iter(c)) + "=" + str(next(iter(c.values())))[:20])
def test_the_schema_rejects_what_the_loader_rejects_for_form(validator, tmp_path, change):
    doc = json.loads(json.dumps(GOOD))
    doc["claims"][0].update(change)
    assert list(validator.iter_errors(doc)), f"the schema accepts {change}"
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(Exception):  # and so does the loader
        claims.load_file(path)


def test_the_schema_accepts_a_good_file(validator):
    assert not list(validator.iter_errors(GOOD))


def test_reprokit_new_starts_a_file_that_loads_once_it_holds_a_claim(tmp_path, monkeypatch, capsys):
    from reprokit import cli
    from reprokit.errors import ExpectationError
    docs, expected = tmp_path / "docs", tmp_path / "expected"
    docs.mkdir(), expected.mkdir()
    (docs / "005_demo.txt").write_text("My RNN notes\n\nTest accuracy: 0.81 after 5 epochs\nTotal params: 12,345\n")
    monkeypatch.setenv("REPROKIT_DOCUMENTS_DIR", str(docs))
    assert cli.main(["new", "005_demo.txt", "--expected", str(expected)]) == 0
    written = (expected / "005_demo.yaml").read_text()
    assert 'title: "My RNN notes"' in written and "#   Total params: 12,345" in written
    with pytest.raises(ExpectationError, match="a non-empty list of claims is required"):
        claims.load(expected, documents=docs)
    (expected / "005_demo.yaml").write_text(written.replace("claims:\n", "claims:\n" + (
        "  - id: demo.params.total\n    kind: params\n    quote: \"Total params: 12,345\"\n    measure: params\n"
        "    args: {model: demo.lstm}\n    expected: 12345\n    compare: equal\n"), 1) + (
        "models:\n  demo.lstm:\n    steps: 28\n    features: 28\n"
        "    layers: [{kind: recurrent, cell: lstm, units: 8}, {kind: dense, units: 10, activation: log_softmax}]\n"))
    (claim,) = claims.load(expected, documents=docs)
    assert claim.id == "demo.params.total"
    assert cli.main(["new", "005_demo.txt", "--expected", str(expected)]) == 2  # never overwrites
    assert "exists" in capsys.readouterr().err
