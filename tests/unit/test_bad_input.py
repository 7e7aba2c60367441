"""Bad input from issue 33's list: each one clear line naming the file, claim and field, never a
traceback and never silently accepted."""

import pytest
from test_declarations import GOOD, _write, folder  # noqa: F401  (the fixture)

from reprokit import claims
from reprokit.errors import ExpectationError

PARAMS = '  - {id: demo.params.total, kind: params, quote: "Total params: 88", measure: params,\n' \
         '     args: {model: demo.gru, layers: total}, expected: 88, compare: equal}\n'


def _claim(extra: str = "", **replace: str) -> str:
    text = PARAMS.replace("compare: equal}", f"compare: equal{extra}}}")
    for old, new in replace.items():
        text = text.replace(old, new)
    return GOOD.replace(PARAMS, text)


CASES = [
    (_claim(", tolerance: " + "9" * 400 + ", why_tolerance: w"), "field tolerance: must be a finite number"),
    (_claim(", backends: [[keras]]"), "field backends: unknown backend ['keras']"),
    (_claim(", backends: []"), "field backends: give a non-empty list"),
    (_claim(", backends: [keras, no]"), "unknown backend False (YAML reads a bare no/yes/off/on as true or false"),
    (_claim(**{'quote: "Total params: 88"': 'quote: ""'}), "field quote: empty"),
    (_claim(**{"kind: params": "kind: time"}), "field kind: kind 'time' with measurement 'params'"),
    (GOOD.replace('args: {experiment: demo.adder, metrics: ["test.accuracy"]}',
                  'args: {experiments: demo.adder, metrics: ["test.accuracy"]}'), "field args.experiments: must be a list"),
]


@pytest.mark.parametrize("text, message", CASES, ids=["huge tolerance", "nested backends", "no backends",
                                                      "no as a backend", "empty quote", "time on params",
                                                      "experiments as text"])
def test_each_bad_input_is_one_clear_line(folder, text, message):  # noqa: F811
    _write(folder, text)
    with pytest.raises(ExpectationError) as info:
        claims.load(folder / "expected", documents=folder / "docs")
    assert message in str(info.value), str(info.value)
    assert "Traceback" not in str(info.value)


def test_a_quote_in_decomposed_unicode_matches_the_composed_document(folder):  # noqa: F811
    (folder / "docs" / "005_demo.txt").write_text("Total params: 88 r\u00e9sum\u00e9\n")  # NFC
    _write(folder, GOOD.replace('quote: "Total params: 88", measure: params',
                                'quote: "88 re\u0301sume\u0301", measure: params'))  # NFD
    assert [c.id for c in claims.load(folder / "expected", documents=folder / "docs")][0] == "demo.params.total"
