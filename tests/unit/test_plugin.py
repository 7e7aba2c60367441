"""The plugin as a user meets it, through pytester: lazy loading, test ids, the summary, errors."""

import subprocess
import sys
import textwrap
import time

import pytest
from declared import STACK4

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

CLAIMS = textwrap.dedent("""\
    document: 003_x.txt
    claims:
      - id: demo.params.total
        kind: params
        quote: "Total params: 328,353"
        measure: params
        args: {model: stack4, layers: total}
        expected: 328353
        compare: equal
      - id: demo.params.wrong
        kind: params
        quote: "Total params: 1"
        measure: params
        args: {model: stack4, layers: total}
        expected: 1
        compare: equal
        known_nonrepro:
          keras: {measured: 328353, reason: "the document's number is wrong"}
          torch: {measured: 328353, reason: "the document's number is wrong"}
    """) + STACK4
TEST = textwrap.dedent("""\
    import reprokit

    @reprokit.claim_test
    def test_claim(claim, backend, outcome):
        reprokit.verify(claim, backend, outcome)
    """)


@pytest.fixture
def project(pytester, monkeypatch):
    pytester.makefile(".yaml", **{"expected/003_x": CLAIMS})
    pytester.makefile(".txt", **{"documents/003_x": "Total params: 328,353\n\nTotal params: 1\n"})
    monkeypatch.setenv("REPROKIT_DOCUMENTS_DIR", str(pytester.path / "documents"))
    pytester.makepyfile(test_claims=TEST)
    return pytester


def test_collection_imports_no_framework_and_is_fast(project):
    code = ("import sys, pytest; rc = pytest.main(['--co', '-q']); "
            "heavy = [m for m in ('tensorflow', 'torch', 'keras', 'jax') if m in sys.modules]; "
            "print('HEAVY', heavy); sys.exit(rc)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=project.path, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stdout + out.stderr
    assert "HEAVY []" in out.stdout
    assert "test_claims.py::demo.params.total[keras]" in out.stdout
    assert "test_claims.py::demo.params.total[torch]" in out.stdout
    assert elapsed < 3.0


def test_runs_with_ids_and_summary(project):
    result = project.runpytest_subprocess("-v", "--backend", "torch")
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*demo.params.total[[]torch[]] PASSED*", "*reprokit claims*",
                                 "*torch: 1 reproduced, 1 known non-reproduction"])


def test_markers_select_by_kind_and_backend(project):
    result = project.runpytest_subprocess("--co", "-q", "-m", "reprokit_params and reprokit_torch", "--strict-markers")
    result.stdout.fnmatch_lines(["*demo.params.total[[]torch[]]", "*2/4 tests collected*"])


def test_malformed_expectations_fail_collection_with_one_message(project):
    project.makefile(".yaml", **{"expected/004_bad": "document: d.txt\nclaims:\n  - id: a.b\n    kind: vibes\n"})
    result = project.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*reprokit: 5 problems in the expectation files:",
                                 "*004_bad.yaml: field document: 'd.txt' is not among the source documents*",
                                 "*004_bad.yaml: claim a.b: field quote: missing (required)",
                                 "*004_bad.yaml: claim a.b: field compare: missing (required)"])
    assert "Traceback" not in result.stdout.str()


def test_unknown_backend_is_a_usage_error(project):
    result = project.runpytest_subprocess("--backend", "mxnet")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown backend mxnet*"])


def test_under_xdist(project):
    result = project.runpytest_subprocess("-n", "2", "--backend", "torch")
    result.assert_outcomes(passed=1, xfailed=1)


def test_seeds_option_reaches_the_training_runs(project):
    project.makepyfile(test_seeds="from reprokit import settings\n\n"
                                  "def test_seeds():\n    assert settings.SEEDS == 5\n")
    result = project.runpytest_subprocess("test_seeds.py", "--seeds", "5", "--reprokit-profile", "full")
    result.assert_outcomes(passed=1)


def test_junit_xml_and_last_run_file_carry_the_verdicts(project):
    """Claim id, document, kind and verdict reach JUnit XML as properties (also under xdist), and
    the latest-run file the report reads holds each claim's verdict."""
    import json
    import xml.etree.ElementTree as ET

    result = project.runpytest_subprocess("--backend", "torch", "-n", "2", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, xfailed=1)
    cases = {}
    for case in ET.parse(project.path / "junit.xml").iter("testcase"):
        cases[case.get("name")] = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert cases["demo.params.total[torch]"]["verdict"] == "reproduced"
    assert cases["demo.params.total[torch]"]["document"] == "003_x.txt"
    assert cases["demo.params.wrong[torch]"]["verdict"] == "known non-reproduction"
    assert cases["demo.params.wrong[torch]"]["claim"] == "demo.params.wrong"
    last = json.loads((project.path / ".reprokit" / "last-run.json").read_text())["outcomes"]
    assert {(o["claim"], o["verdict"]) for o in last} == {("demo.params.total", "reproduced"),
                                                         ("demo.params.wrong", "known non-reproduction")}


def test_a_crash_is_an_error_never_a_known_non_reproduction(project, tmp_path, monkeypatch):
    """A claim stated as a known non-reproduction whose measurement crashes (here: the data folder
    is empty) is an error naming the missing file, not an xfail; JUnit and the last-run file say so."""
    import json
    import xml.etree.ElementTree as ET

    project.makefile(".yaml", **{"expected/005_data": textwrap.dedent("""\
        document: 002_x.txt
        claims:
          - id: demo.data.sizes
            kind: data
            quote: "25,000 reviews"
            measure: imdb.sizes
            expected: {train: 1, test: 1}
            compare: equal
            known_nonrepro:
              torch: {measured: {train: 25000, test: 25000}, reason: "a made-up non-reproduction"}
        """)})
    project.makefile(".txt", **{"documents/002_x": "It holds 25,000 reviews.\n"})
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("REPROKIT_DATA_DIR", str(empty))
    result = project.runpytest_subprocess("--backend", "torch", "-k", "demo.data", "--junitxml=junit.xml")
    result.assert_outcomes(errors=1)
    assert "Traceback" not in result.stdout.str() and "def test_claim" not in result.stdout.str()
    result.stdout.fnmatch_lines(["demo.data.sizes [[]torch[]]: DataError: *imdb.npz*", "*torch: 1 error"])
    case = next(c for c in ET.parse(project.path / "junit.xml").iter("testcase"))
    assert case.find("error") is not None
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["verdict"] == "error"
    last = json.loads((project.path / ".reprokit" / "last-run.json").read_text())["outcomes"]
    assert [o["verdict"] for o in last] == ["error"]


def test_a_skip_never_overwrites_a_decided_verdict():
    from reprokit.plugin import merge_outcomes
    old = {("a.b.c", "torch"): {"verdict": "reproduced"}, ("a.b.d", "torch"): {"verdict": "reproduced"}}
    new = {("a.b.c", "torch"): {"verdict": "skipped"}, ("a.b.d", "torch"): {"verdict": "error"},
           ("a.b.e", "torch"): {"verdict": "skipped"}}
    merged = merge_outcomes(old, new)
    assert merged[("a.b.c", "torch")]["verdict"] == "reproduced"  # kept
    assert merged[("a.b.d", "torch")]["verdict"] == "error"  # a newer outcome that is not a skip wins
    assert merged[("a.b.e", "torch")]["verdict"] == "skipped"  # nothing to keep


def test_collecting_reprokits_own_tests_imports_no_framework():
    """Collecting the whole suite (claims, benchmarks, unit tests) imports neither TensorFlow nor
    torch: tests that need a framework load it in a fixture."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    code = ("import sys, pytest; rc = pytest.main(['--co', '-q', '-p', 'no:xdist', 'tests']); "
            "print('HEAVY', [m for m in ('tensorflow', 'torch', 'keras', 'jax') if m in sys.modules]); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "HEAVY []" in out.stdout


def test_a_thread_count_that_is_not_a_whole_number_is_one_line(pytester):
    result = pytester.runpytest_subprocess("--reprokit-threads", "two")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--reprokit-threads: 'two': give a whole number >= 1*"])
    assert "Traceback" not in result.stderr.str()
