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
    "reproduced for a family": (GOOD + "    reproduced: {keras: {measured: 1, reason: r}}\n",
                                r"field reproduced: unknown backend 'keras'; one of keras-jax, keras-torch"),
    "two verdicts for a backend": (GOOD + "    undecided: {keras-jax: {measured: 1, reason: r}}\n"
                                   "    reproduced: {keras-jax: {measured: 1, reason: r}}\n",
                                   r"field reproduced: backend keras-jax is also under undecided"),
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
        load(tmp_path, documents=None)


def _training(compare: str, expected: str, args: str = "{experiment: imdbq.adam5, metrics: [test.accuracy]}",
              measure: str = "training.metrics") -> str:
    return (GOOD.replace("measure: params", f"measure: {measure}")
            .replace("args: {model: stack4, layers: total}", f"args: {args}")
            .replace("expected: 1", f"expected: {expected}").replace("compare: equal", f"compare: {compare}"))


ORDER_ARGS = "{metric: test.accuracy, pairs: [[imdbq.adam5, '>', imdbq.rmsprop10]]}"
RATIO_ARGS = "{ratios: [[imdbq.lstm5.len30, imdbq.simple5.len30]], batch: 64}"
EXPECTED_CASES = {  # each found when the file loads, before anything trains
    "order claim with expected false": (_training("order", "false", ORDER_ARGS, "training.order"),
                                        r"field expected: an order claim states its relations in args.pairs"),
    "at_least with a string": (_training("at_least", "high"), r"field expected: comparison 'at_least' needs numbers"),
    "in_range with a scalar": (GOOD.replace("compare: equal", "compare: in_range"),
                               r"field expected: 1 is not a range \[low, high\]"),
    "in_range reversed": (GOOD.replace("compare: equal", "compare: in_range").replace("expected: 1", "expected: [2, 1]"),
                          r"low is above high"),
    "plausible_run with text": (_training("plausible_run", "{test.accuracy: good}"), r"comparison 'plausible_run' needs numbers"),
    "plausible_run metric not measured": (_training("plausible_run", "{test.loss: 0.5}"),
                                          r"test.loss: not among the claim's args.metrics"),
    "timing ratio not timed": (_training("ratio_in_range", "{a/b: [1, 2]}", RATIO_ARGS, "timing.ratios"),
                               r"'a/b' is not one of the ratios args.ratios times"),
    "timing statistic unknown": (_training("ratio_in_range", "{imdbq.lstm5.len30/imdbq.simple5.len30: {mean: [1, 2]}}",
                                           RATIO_ARGS, "timing.ratios"), r"with a statistic among median, q1, q3"),
    "timing ratio of an unknown model": (_training("ratio_in_range", "{imdbq.lstm9/imdbq.simple5.len30: [1, 2]}",
                                                   "{ratios: [[imdbq.lstm9, imdbq.simple5.len30]], batch: 64}",
                                                   "timing.ratios"), r"field args.ratios: unknown model 'imdbq.lstm9'"),
    "layer index out of range": (GOOD.replace("layers: total", "layers: [0, 9]"),
                                 r"field args.layers: 9 is not a layer index of stack4"),
    "metric epoch beyond the run": (_training("plausible_run", "{accuracy@40: 0.5}",
                                              "{experiment: imdbq.adam5, metrics: [accuracy@40]}"),
                                    r"field args.metrics: 'accuracy@40': epoch 40 of a run of 5 epochs"),
    "metric not a metric": (_training("plausible_run", "{'test accuracy': 0.5}",
                                      "{experiment: imdbq.adam5, metrics: ['test accuracy']}"), r"is not a metric"),
    "argument missing": (GOOD.replace("args: {model: stack4, layers: total}", "args: {layers: total}"),
                         r"field args: measurement 'params' needs the argument 'model'"),
    "trend bound outside [-1, 1]": (_training("trend", "{imdbq.adam5: {spearman: -2}}",
                                              "{experiments: [imdbq.adam5], metric: accuracy}", "training.trend"),
                                    r"is not \{spearman: bound\} with a bound in \[-1, 1\]"),
}


@pytest.mark.parametrize("case", EXPECTED_CASES)
def test_expected_value_is_checked_against_its_comparison_at_load(tmp_path, case):
    text, message = EXPECTED_CASES[case]
    with pytest.raises(ExpectationError, match=message):
        load_file(write(tmp_path, text))


def test_every_problem_of_every_file_at_once(tmp_path):
    bad_claim = GOOD.split("claims:\n")[1]
    write(tmp_path, GOOD + bad_claim.replace("a.params.x", "a.params.y").replace("kind: params", "kind: vibes")
          + bad_claim.replace("a.params.x", "a.params.z").replace("compare: equal", "compare: in_range"), "a.yaml")
    write(tmp_path, "document: [unclosed\n", "b.yaml")
    write(tmp_path, GOOD, "c.yaml")  # a.params.x again
    with pytest.raises(ExpectationError) as info:
        load(tmp_path, documents=None)
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert str(info.value).startswith("4 problems in the expectation files:")
    assert any("a.params.y: field kind" in p for p in problems)
    assert any("a.params.z: field expected" in p for p in problems)
    assert any(p.startswith("b.yaml: invalid YAML") for p in problems)
    assert any("c.yaml: claim a.params.x: field id: duplicate" in p for p in problems)


def test_document_must_exist_and_quote_occur_in_it(tmp_path):
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "000_x.txt").write_text("The model has\n   Total params:\n↪ 328,353 in all.\nLater: done.\n")
    folder = tmp_path / "expected"
    folder.mkdir()
    write(folder, GOOD.replace('quote: "q"', 'quote: "Total params: 328,353 ... done."'), "a.yaml")
    assert load(folder, documents=documents)[0].quote  # line breaks, "↪" and "..." gaps allowed
    write(folder, GOOD.replace('quote: "q"', 'quote: "Total params: 328,354"').replace("a.params.x", "a.params.q"), "b.yaml")
    write(folder, GOOD.replace("000_x.txt", "009_missing.txt").replace("a.params.x", "a.params.m"), "c.yaml")
    with pytest.raises(ExpectationError) as info:
        load(folder, documents=documents)
    assert any("a.params.q: field quote: 'Total params: 328,354' does not occur in 000_x.txt" in p
               for p in info.value.problems), info.value.problems
    assert any("c.yaml: field document: '009_missing.txt' is not among the source documents" in p
               for p in info.value.problems), info.value.problems


def test_quotes_out_of_order_do_not_match(tmp_path):
    from reprokit.claims import quoted
    assert quoted("first ... second", ["first then second"])
    assert not quoted("second ... first", ["first then second"])


def test_committed_quotes_occur_in_their_documents():
    documents = ROOT.parent / "shared" / "seeds"
    if not documents.is_dir():
        pytest.skip(f"the source documents are not beside the project ({documents})")
    assert len(load(ROOT / "expected", documents=documents)) == len(load(ROOT / "expected", documents=None))


def test_a_keras_backend_states_what_keras_states_unless_it_has_its_own_entry(tmp_path):
    from reprokit.verdict import Verdict, stated
    text = GOOD + ("    undecided: {keras: {measured: 1, reason: r}, keras-torch: {measured: 2, reason: own}}\n"
                   "    reproduced: {keras-jax: {measured: 3, reason: r}}\n")
    (claim,) = load_file(write(tmp_path, text))
    assert stated(claim, "keras") is Verdict.UNDECIDED and stated(claim, "torch") is Verdict.REPRODUCED
    assert stated(claim, "keras-jax") is Verdict.REPRODUCED
    assert claim.statement("keras-torch")[1].reason == "own"
    (plain,) = load_file(write(tmp_path, GOOD + "    undecided: {keras: {measured: 1, reason: r}}\n", "y.yaml"))
    assert stated(plain, "keras-jax") is Verdict.UNDECIDED and stated(plain, "keras-torch") is Verdict.UNDECIDED
