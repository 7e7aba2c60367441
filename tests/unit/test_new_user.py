"""What a new user meets (issue 15), one class of problem per group of tests: paths and the
command line, --retrain, one-line errors, Ctrl-C, and a plugin that stays out of other sessions.
Expectation files checked whole at load are in test_registry.py."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from declared import STACK4

from reprokit import cli

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

ROOT = Path(__file__).resolve().parents[2]
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
      - id: demo.params.total_l2
        kind: params
        quote: "Total params: 328,353"
        measure: params
        args: {model: stack4, layers: total}
        expected: 328353
        compare: equal
    """) + STACK4
TEST = textwrap.dedent("""\
    import os, time
    import reprokit

    @reprokit.claim_test
    def test_claim(claim, backend, outcome):
        open(f"started-{claim.id}", "w").close()
        time.sleep(float(os.environ.get("DEMO_SLEEP", "0")))
        reprokit.verify(claim, backend, outcome)
    """)


@pytest.fixture(autouse=True)
def _settings_restored(monkeypatch):
    """``cli.main`` points reprokit's settings at the project it finds: undo that after each test."""
    from reprokit import settings
    for name in ("ROOT", "CACHE_DIR", "RESULTS_DIR", "PROFILE", "SEEDS", "RETRAIN"):
        monkeypatch.setattr(settings, name, getattr(settings, name))


@pytest.fixture
def project(pytester, monkeypatch):
    """A project laid out as reprokit's: pyproject.toml, expected/, tests/test_claims.py."""
    pytester.makefile(".toml", pyproject="[tool.pytest.ini_options]\ntestpaths = ['tests']\n")
    pytester.makefile(".yaml", **{"expected/003_x": CLAIMS})
    pytester.makefile(".txt", **{"documents/003_x": "Total params: 328,353\n"})
    pytester.makepyfile(**{"tests/test_claims": TEST})
    monkeypatch.setenv("REPROKIT_DOCUMENTS_DIR", str(pytester.path / "documents"))
    for var in ("REPROKIT_CACHE_DIR", "REPROKIT_RESULTS_DIR", "KERAS_BACKEND", "REPROKIT_THREADS"):
        monkeypatch.delenv(var, raising=False)
    return pytester


def _run(project, *args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd or project.path, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


# -- 1. paths and the command line --

def test_paths_resolve_against_the_project_root_from_a_subfolder(project):
    out = _run(project, "test_claims.py", "--reprokit-backend", "torch", "-q", cwd=project.path / "tests")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (project.path / ".reprokit" / "last-run.json").is_file()
    assert not (project.path / "tests" / ".reprokit").exists()
    assert not (project.path / "tests" / ".reprokit-cache").exists()


def test_relative_data_dir_is_relative_to_the_root(monkeypatch, tmp_path):
    from reprokit import settings
    from reprokit.data import files
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(settings, "ROOT", tmp_path)
    monkeypatch.setenv("REPROKIT_DATA_DIR", "data")
    monkeypatch.chdir(tmp_path.parent)
    assert files.data_dir() == (tmp_path / "data").resolve()


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip().startswith("reprokit 0.")


@pytest.mark.parametrize("argv", [["list", "--kind", "vibes"], ["list", "--backend", "mxnet"],
                                  ["run", "x", "--profile", "slow"], ["run", "x", "--seeds", "0"]])
def test_cli_rejects_bad_choices(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def test_cli_finds_the_project_and_takes_options_after_the_subcommand(project, monkeypatch, capsys):
    monkeypatch.chdir(project.path / "tests")
    assert cli.main(["list"]) == 0
    assert "demo.params.total " in capsys.readouterr().out
    other = project.path / "other"
    other.mkdir()
    (other / "003_x.yaml").write_text(CLAIMS.replace("demo.params.total_l2", "demo.params.other"))
    assert cli.main(["list", "--expected", str(other)]) == 0
    assert "demo.params.other" in capsys.readouterr().out
    assert cli.main(["--expected", str(other), "list"]) == 0
    assert "demo.params.other" in capsys.readouterr().out


def test_cli_run_selects_exactly_the_claim_and_passes_every_option(project, monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "_with_progress", lambda cmd, total, root: seen.update(cmd=cmd, root=root) or 0)
    monkeypatch.chdir(project.path / "tests")
    assert cli.main(["run", "demo.params.total", "--backend", "torch", "--seeds", "4", "--retrain",
                     "--last-run", "out/last.json", "--workers", "0"]) == 0
    cmd = seen["cmd"]
    assert [a for a in cmd if "::" in a] == ["tests/test_claims.py::demo.params.total[torch]"]
    assert seen["root"] == project.path
    for option in ("--reprokit-backend", "--reprokit-profile", "--reprokit-seeds", "--reprokit-retrain",
                   "--reprokit-last-run", "--reprokit-expected"):
        assert option in cmd
    assert cmd[cmd.index("--reprokit-last-run") + 1] == str(project.path / "tests" / "out" / "last.json")


def test_cli_run_runs_only_the_selected_claim(project, monkeypatch):
    monkeypatch.chdir(project.path)
    out = subprocess.run([sys.executable, "-m", "reprokit.cli", "run", "demo.params.total", "--backend", "torch",
                          "--workers", "0"], cwd=project.path / "tests", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout and "total_l2" not in out.stdout


# -- 2. --retrain trains --

def test_retrain_ignores_cache_entries_from_before_the_session(monkeypatch, tmp_path):
    from reprokit import cache, settings
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}
    assert cache.get_or_compute({"k": 1}, "demo", compute) == {"n": 1}
    assert cache.get_or_compute({"k": 1}, "demo", compute) == {"n": 1}  # cached
    monkeypatch.setattr(settings, "RETRAIN", True)
    monkeypatch.setenv("REPROKIT_RETRAIN_SINCE", str(time.time() + 1))
    assert cache.get_or_compute({"k": 1}, "demo", compute) == {"n": 2}  # trained again
    os.utime(cache.path({"k": 1}, "demo"), (time.time() + 2, time.time() + 2))  # written in this session
    assert cache.get_or_compute({"k": 1}, "demo", compute) == {"n": 2}  # once per session


# -- 4. an error inside a run is one line per test --

def _one_line_error(out, *fragments):
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    assert all(f in text for f in fragments), text


@pytest.mark.parametrize("var,value,message", [
    ("REPROKIT_THREADS", "two", "REPROKIT_THREADS='two': give a whole number >= 1"),
    ("REPROKIT_DATA_DIR", "no/such/folder", "REPROKIT_DATA_DIR='no/such/folder' is not a folder"),
])
def test_bad_environment_is_one_line(project, var, value, message):
    project.makefile(".yaml", **{"expected/004_data": textwrap.dedent("""\
        document: 003_x.txt
        claims:
          - id: demo.data.sizes
            kind: data
            quote: "Total params"
            measure: imdb.sizes
            expected: {train: 25000, test: 25000}
            compare: equal
        """)})
    out = _run(project, "--reprokit-backend", "torch", "-p", "no:xdist", env={var: value})
    assert out.returncode == 1
    _one_line_error(out, message)


def test_missing_framework_is_one_line(monkeypatch):
    import importlib

    from reprokit import backends
    from reprokit.errors import ReprokitError
    real = importlib.import_module

    def without_torch(name, *a):
        if name == "reprokit.backends.torch":
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real(name, *a)
    monkeypatch.setattr(importlib, "import_module", without_torch)
    with pytest.raises(ReprokitError, match=r"backend 'torch' needs the package 'torch'.*pip install"):
        backends.load("torch")


@pytest.mark.parametrize("where", ["cache", "last-run"])
def test_unwritable_paths_are_one_line_before_anything_runs(project, tmp_path, where):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    args, env = ["--reprokit-backend", "torch"], {}
    if where == "cache":
        env["REPROKIT_CACHE_DIR"] = str(blocked / "cache")
    else:
        args += ["--reprokit-last-run", str(blocked / "last.json")]
    out = _run(project, *args, env=env)
    assert out.returncode != 0
    _one_line_error(out, f"cannot write {blocked}", "REPROKIT_CACHE_DIR" if where == "cache" else "--reprokit-last-run")


def _reprokit_run(project, scratch, sleep):
    env = {**os.environ, "TMPDIR": str(scratch), "DEMO_SLEEP": str(sleep)}
    # as from a terminal: an xdist worker ignores SIGINT, and a child would inherit that
    return subprocess.Popen([sys.executable, "-m", "reprokit.cli", "run", "demo.params.*", "--backend", "torch",
                             "--workers", "0"], cwd=project.path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_the_first_claim(project):
    """Until the first claim's test body runs (it leaves a file saying so)."""
    deadline = time.time() + 120
    while time.time() < deadline and not (project.path / "started-demo.params.total").exists():
        time.sleep(0.2)
    time.sleep(0.5)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_in_reprokit_run_stops_cleanly_and_a_rerun_resumes(project, tmp_path, presses):
    """Ctrl-C once: pytest stops after the claim running now, whose outcome is kept; twice: at once.
    No traceback, no progress files; the same command then runs what is left."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = _reprokit_run(project, scratch, sleep=4 if presses == 1 else 120)
    _wait_for_the_first_claim(project)
    for _ in range(presses):
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the foreground group on Ctrl-C
        time.sleep(0.5)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert "interrupted" in err
    assert list(scratch.iterdir()) == []  # no progress files left
    last_run = project.path / ".reprokit" / "last-run.json"
    if presses == 1:
        assert "1 passed" in out and "Interrupted" in out, out
        assert len(json.loads(last_run.read_text())["outcomes"]) == 1
    again = _reprokit_run(project, scratch, sleep=0)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, out + err
    assert "2 passed" in out


# -- 5. the plugin stays out of sessions that do not use it --

def test_a_session_without_claims_is_left_alone(pytester, monkeypatch):
    for var in ("KERAS_BACKEND", "REPROKIT_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    pytester.makepyfile(test_other=textwrap.dedent("""\
        import os

        def test_environment_untouched():
            touched = [v for v in ("KERAS_BACKEND", "REPROKIT_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")
                       if v in os.environ]
            assert touched == []
        """))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / ".reprokit").exists() and not (pytester.path / ".reprokit-cache").exists()


def test_another_projects_options_and_markers_win(pytester):
    """A project whose conftest owns ``--backend`` and whose tests use a ``time`` marker of its own."""
    pytester.makeconftest(textwrap.dedent("""\
        def pytest_addoption(parser):
            parser.addoption("--backend", default="cuda", help="this project's own option")

        def pytest_configure(config):
            config.addinivalue_line("markers", "time: this project's own marker")
        """))
    pytester.makepyfile(test_other=textwrap.dedent("""\
        import pytest

        @pytest.mark.time
        def test_own_option(request):
            assert request.config.getoption("backend") == "metal"
        """))
    result = pytester.runpytest_subprocess("--backend", "metal", "-m", "time", "--strict-markers")
    result.assert_outcomes(passed=1)


def test_prefixed_options_and_their_aliases(project):
    out = _run(project, "--co", "-q", "--reprokit-backend", "torch")
    assert "[torch]" in out.stdout and "[keras]" not in out.stdout, out.stdout + out.stderr
    out = _run(project, "--co", "-q", "--backend", "keras")
    assert "[keras]" in out.stdout and "[torch]" not in out.stdout, out.stdout + out.stderr
    out = _run(project, "--co", "-q", "--reprokit-backend", "mxnet")
    assert out.returncode == pytest.ExitCode.USAGE_ERROR and "unknown backend mxnet" in out.stderr
    assert "Traceback" not in out.stderr


def test_markers_are_prefixed(project):
    out = _run(project, "--co", "-q", "-m", "reprokit_params and reprokit_torch", "--strict-markers")
    assert "2/4 tests collected" in out.stdout, out.stdout + out.stderr


# -- 6. collection imports no framework: test_plugin.py (test_collecting_reprokits_own_tests_imports_no_framework,
# test_collection_imports_no_framework_and_is_fast)


def test_labels_say_what_happened():
    """A timing claim this run could not decide is no known non-reproduction; an expensive claim
    is labelled with its ledger's verdict (never 'smoke passed'), or 'no verdict yet' where the
    ledger's runs are missing."""
    from types import SimpleNamespace

    from reprokit.plugin import _verdict
    timing = SimpleNamespace(when="call", outcome="skipped", skipped=True, failed=False, keywords={},
                             user_properties=[], wasxfail="a.time.x [torch] undecided in this run, expected/ states ...")
    assert _verdict(timing) == "undecided in this run"
    pending = SimpleNamespace(when="call", outcome="passed", skipped=False, failed=False,
                              keywords={"reprokit_smoke": 1}, user_properties=[("ledger", "pending")])
    assert _verdict(pending) == "no verdict yet"
    for stated in ("reproduced", "undecided", "known non-reproduction"):
        checked = SimpleNamespace(when="call", outcome="passed", skipped=False, failed=False,
                                  keywords={"reprokit_smoke": 1}, user_properties=[("ledger", stated)])
        assert _verdict(checked) == stated
