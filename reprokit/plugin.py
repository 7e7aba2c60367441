"""The reprokit pytest plugin (entry point ``pytest11: reprokit``).

Loading it imports neither TensorFlow nor torch: backends are imported by the first test that
runs in them. Options, markers, one test per claim and backend named ``<claim id>[<backend>]``,
and a summary per backend of what reproduced.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reprokit import backends as backends_mod
from reprokit import check
from reprokit.claims import KINDS, Claim, load
from reprokit.errors import ReprokitError
from reprokit.verdict import ERROR, NO_VERDICT, UNDECIDED_HERE, Mismatch, NotReproduced, Undecided, label, stated

PROFILES = ("quick", "full")


@dataclass
class State:
    """Session state, kept on ``config.stash``."""
    backends: tuple[str, ...]
    profile: str
    seeds: int | None
    expected: Path
    last_run: Path
    claims: list[Claim] | None = None
    prepared: bool = False
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


STATE = pytest.StashKey[State]()
CLAIM = pytest.StashKey[tuple]()


def _backends(value: str) -> tuple[str, ...]:
    """``--reprokit-backend``'s type: checked when pytest parses the command line."""
    try:
        return backends_mod.parse(value)
    except ReprokitError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None


def _seeds(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a number of seeds >= 1")
    return int(value)


def _device(value: str) -> str:
    from reprokit import settings
    try:
        return settings.check_device(value)
    except ReprokitError as exc:
        raise argparse.ArgumentTypeError(str(exc).split("=", 1)[1]) from None


def _threads(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number >= 1")
    return int(value)


# name: (alias kept from before the prefix, or None; addoption's arguments). ``--profile`` is no
# alias: pytest-profiling owns it.
OPTIONS: dict[str, tuple[str | None, dict]] = {
    "backend": ("--backend", dict(default=",".join(backends_mod.DEFAULT), type=_backends, metavar="NAMES",
                                  help="comma-separated backends: keras (Keras 3 on TensorFlow), torch (native "
                                       "PyTorch), keras-jax, keras-torch (default: %(default)s)")),
    "profile": (None, dict(default="quick", choices=PROFILES,
                           help="quick: what CI affords; full: the documents' exact recipes (default: %(default)s)")),
    "seeds": ("--seeds", dict(type=_seeds, default=None, metavar="N", help="seeds per training run (default: the profile's)")),
    "retrain": ("--retrain", dict(action="store_true",
                                  help="train every run again, even those the ledger (results/) or the run cache "
                                       "already holds (each once per session)")),
    "threads": (None, dict(default=None, type=_threads, metavar="N",
                           help="threads per framework in this process (default: all cores; one per core per "
                                "xdist worker). The timing pass uses 1: a ratio then does not depend on how many "
                                "cores are free (Keras runs a bidirectional layer's two directions in parallel)")),
    "device": (None, dict(default=None, type=_device, metavar="DEVICE",
                          help="where trainings run: cpu, cuda or cuda:N, in every backend (default: "
                               "$REPROKIT_DEVICE or cpu); part of each run's key")),
    "expected": ("--expected", dict(default=None, metavar="DIR",
                                    help="folder of expectation files (default: <rootdir>/expected)")),
    "last-run": ("--last-run", dict(default=None, metavar="PATH",
                                    help="where each claim's latest outcome is kept for `reprokit report` "
                                         "(default: <rootdir>/.reprokit/last-run.json)")),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reprokit", "reprokit: claims about recurrent networks")
    for name, (_, kw) in OPTIONS.items():
        group.addoption(f"--reprokit-{name}", dest=option_dest(name), **kw)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]):
    """The short aliases (``--backend``...), added once every plugin and the project's conftests
    have added theirs: an alias that another one already uses is left to it, never a clash."""
    result = yield
    taken = {n for group in [parser._anonymous, *parser._groups] for o in group.options for n in o.names()}
    group = parser.getgroup("reprokit")
    for name, (alias, kw) in OPTIONS.items():
        if alias and alias not in taken:
            group.addoption(alias, dest=option_dest(name), **{**kw, "help": f"alias of --reprokit-{name}"})
    return result


def option_dest(name: str) -> str:
    return "reprokit_" + name.replace("-", "_")


def option(config: pytest.Config, name: str):
    return config.getoption(option_dest(name))


MARKERS = {  # registered with the prefix, so another project's "time" or "smoke" marker is not ours
    **{f"reprokit_{kind}": f"a claim of kind '{kind}'" for kind in KINDS},
    "reprokit_keras": "runs in a Keras backend", "reprokit_torch": "runs in the torch backend",
    "reprokit_known_nonrepro": "a claim that does not reproduce (strict xfail)",
    "reprokit_undecided": "a claim its seeds cannot decide yet (strict xfail)",
    "reprokit_smoke": "quick profile, expensive claim: smoke run + ledger check, no verdict",
}


def pytest_configure(config: pytest.Config) -> None:
    for marker, what in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {what}")
    from reprokit import settings  # the training measurements read profile, seed cap and paths from here
    settings.use_root(Path(config.rootpath))
    settings.PROFILE, settings.SEEDS = option(config, "profile"), option(config, "seeds")
    settings.RETRAIN = option(config, "retrain")
    if settings.RETRAIN:  # xdist workers inherit it: what this session trains, it trains once
        os.environ.setdefault("REPROKIT_RETRAIN_SINCE", str(time.time()))
    expected, last_run = option(config, "expected"), option(config, "last-run")
    state = State(option(config, "backend"), settings.PROFILE, settings.SEEDS,
                  settings.use_expected(expected) if expected else settings.EXPECTED_DIR,
                  Path(last_run).resolve() if last_run else Path(config.rootpath) / ".reprokit" / "last-run.json")
    config.stash[STATE] = state
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(LastRun(state), "reprokit-last-run")


def _prepare(config: pytest.Config) -> None:
    """What a session that runs claims needs before any test imports a framework: the Keras backend
    its backends ask for, one thread per core per xdist worker, the ledger's commit. Done when the
    claims are collected, so sessions without claims are left as they are."""
    state = config.stash[STATE]
    if state.prepared:
        return
    state.prepared = True
    keras_backend = backends_mod.keras_backend_for(state.backends)
    if keras_backend:
        current = os.environ.setdefault("KERAS_BACKEND", keras_backend)
        if current != keras_backend:
            raise ReprokitError(f"--reprokit-backend {','.join(state.backends)} needs KERAS_BACKEND={keras_backend}, "
                                f"but the environment sets KERAS_BACKEND={current}; unset it or choose the backend")
    device = option(config, "device")
    if device:  # before any framework is imported; xdist workers and jobs read it from the environment
        os.environ["REPROKIT_DEVICE"] = device
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    from reprokit import cache, settings
    # before any framework is imported (they read it once); xdist workers share the cores: n workers
    # with all threads each run many times slower
    threads = option(config, "threads") or (max(1, (os.cpu_count() or 1) // int(workers)) if workers else None)
    if threads:
        settings.limit_threads(threads)
        if os.environ.get("KERAS_BACKEND") == "jax":  # JAX reads no thread variable: pin instead
            settings.pin_cores(threads, int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]))
    cache.check_writable(Path(settings.CACHE_DIR), cache.FIXES["cache"])
    cache.check_writable(state.last_run.parent, "pass --reprokit-last-run PATH in a writable folder")
    if state.profile == "full":
        from reprokit import ledger
        cache.check_writable(Path(settings.RESULTS_DIR), cache.FIXES["ledger"])
        ledger.commit()  # the code's commit now, before anything trains: the ledger entries carry it


_session: list[pytest.Session] = []  # this process's session (the logfinish hook is not given it)


def pytest_sessionstart(session: pytest.Session) -> None:
    _session[:] = [session]


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    """``reprokit run`` was interrupted (Ctrl-C): end the session after the test that just finished,
    as ``-x`` would (in each xdist worker too), so its outcomes are kept and nothing is cut off."""
    from reprokit import progress
    if _session and not _session[0].shouldstop and progress.stop_requested():
        _session[0].shouldstop = "reprokit run was interrupted (Ctrl-C); the same command resumes"


def claims_of(config: pytest.Config) -> list[Claim]:
    state = config.stash[STATE]
    if state.claims is None:
        state.claims = load(state.expected)
    return state.claims


class ClaimItem(pytest.Function):
    """One claim in one backend. Reported as ``claim <id>[<backend>]`` so pytest does not read
    the dots of a claim id as a module path."""

    def reportinfo(self):
        path, lineno, _ = super().reportinfo()
        return path, lineno, f"claim {self.name}"


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object):
    if not getattr(obj, "__reprokit_claims__", False):
        return None
    try:
        claims = claims_of(collector.config)
        _prepare(collector.config)
    except ReprokitError as exc:
        raise collector.CollectError(f"reprokit: {exc}") from None
    items = []
    for claim in claims:
        for backend in collector.config.stash[STATE].backends:
            item = ClaimItem.from_parent(collector, name=f"{claim.id}[{backend}]", callobj=obj)
            item.stash[CLAIM] = (claim, backend)
            family = "keras" if backend.startswith("keras") else "torch"
            item.add_marker(f"reprokit_{claim.kind}")
            item.add_marker(f"reprokit_{family}")
            smoke = check.mode(claim, collector.config.stash[STATE].profile) == "smoke"
            if not claim.applies_to(backend):
                item.add_marker(pytest.mark.skip(reason=f"{claim.id} does not apply to {backend}"))
            elif claim.kind == "time" and hasattr(collector.config, "workerinput"):
                # xdist workers share the cores with other trainings: a time ratio taken there
                # measures the neighbours. Timing claims run in their own pass, alone.
                item.add_marker(pytest.mark.skip(reason=f"{claim.id} is a timing claim: decided alone, not under "
                                                        f"xdist; run `pytest -m reprokit_time -p no:xdist`"))
            elif smoke:  # no verdict is reached here, so a known non-reproduction is no xfail
                item.add_marker("reprokit_smoke")
            elif claim.statement(backend)[0] != "reproduced":
                # strict, and only the stated verdict's own exception satisfies it: a crash is an error
                block, nr = claim.statement(backend)
                undecided = block == "undecided"
                item.add_marker("reprokit_undecided" if undecided else "reprokit_known_nonrepro")
                item.add_marker(pytest.mark.xfail(
                    strict=True, raises=Undecided if undecided else NotReproduced,
                    reason=f"{'undecided' if undecided else 'known non-reproduction'}: measured {nr.measured!r}; {nr.reason}"))
            item.user_properties += [("claim", claim.id), ("backend", backend),
                                     ("document", claim.document), ("kind", claim.kind)]
            items.append(item)
    return items


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> Claim:
    """The claim this test decides."""
    return request.node.stash[CLAIM][0]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs the claim in."""
    return request.node.stash[CLAIM][1]


@pytest.fixture
def outcome(request: pytest.FixtureRequest, claim: Claim, backend: str):
    """The claim measured and judged (``reprokit.check.measure``). Measuring is setup: an
    exception here (missing data, a broken cache, an unknown model) is an error, never a verdict."""
    result = check.measure(claim, backend)
    props = [("measured", json.dumps(check.shown(result), default=repr))]
    if isinstance(result, check.Outcome):
        props += [("detail", result.summary()), ("seeds", str(result.seeds or ""))]
    elif result.ledger is None:
        props += [("ledger", "pending"), ("detail", f"{result.pending}; smoke run learned: {result.learned()}")]
    else:  # the verdict is the ledger's; the smoke run only shows the code path still learns
        props += [("ledger", label(result.ledger.verdict, stated(claim, backend))),
                  ("detail", f"{result.ledger.summary()}; smoke run learned: {result.learned()}"),
                  ("seeds", str(result.ledger.seeds or ""))]
    request.node.user_properties += props
    return result


def _verdict(report: pytest.TestReport) -> str | None:
    """The label of a claim test's outcome (the same words as ``verdict.label``)."""
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            if not report.skipped:
                return "failed"  # strict XPASS
            if UNDECIDED_HERE in report.wasxfail:  # check.verify's imperative xfail
                return UNDECIDED_HERE
            if check.DIFFERS_HERE in report.wasxfail:
                return check.DIFFERS_HERE
            return "undecided" if report.wasxfail.startswith("undecided") else "known non-reproduction"
        if report.failed and report.when != "call":
            return ERROR
        if report.outcome == "passed" and "reprokit_smoke" in report.keywords:
            # the ledger's verdict is the headline; that the smoke run learned is counted beside it
            ledger = dict(report.user_properties).get("ledger")
            return NO_VERDICT if ledger in (None, "pending") else ledger
        return {"passed": "reproduced", "failed": "failed", "skipped": "skipped"}[report.outcome]
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if CLAIM in item.stash and report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        if isinstance(exc, ReprokitError):  # a problem the user can fix: its one message, no traceback
            claim, backend = item.stash[CLAIM]
            report.longrepr = f"{claim.id} [{backend}]: {type(exc).__name__}: {exc}"
        elif isinstance(exc, (NotReproduced, Undecided, Mismatch)):  # a verdict: the numbers say it all
            report.longrepr = f"{type(exc).__name__}: {exc}"
    if CLAIM in item.stash and (verdict := _verdict(report)) and "verdict" not in dict(item.user_properties):
        # on the item, so the teardown report carries it too: JUnit XML writes the teardown's properties
        item.user_properties.append(("verdict", verdict))
        if report.user_properties is not item.user_properties:
            report.user_properties = list(report.user_properties) + [("verdict", verdict)]


class LastRun:
    """Keeps each claim's latest outcome (verdict, measured value) in the latest-run file that
    `reprokit report` reads. Registered on the controller only (not in xdist workers): the
    workers' reports reach it with their user properties."""

    def __init__(self, state: State):
        self.state = state
        self.seen: dict[tuple[str, str], dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties or [])
        if "claim" not in props or "verdict" not in props:
            return
        measured = props.get("measured")
        try:
            measured = json.loads(measured) if measured is not None else None
        except ValueError:
            pass
        self.seen[(props["claim"], props["backend"])] = {
            "claim": props["claim"], "backend": props["backend"], "verdict": props["verdict"],
            "measured": measured, "detail": props.get("detail", ""), "profile": self.state.profile, "duration_s": round(report.duration, 3),
            "message": str(report.longrepr)[-1500:] if report.failed else "",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Merge this session's outcomes into the file (newest wins per claim and backend), atomically;
        where it cannot be written, say so in one line and fail the session (the outcomes are in
        pytest's own report above)."""
        if not self.seen:
            return
        try:
            self._write()
        except ReprokitError as exc:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter:
                reporter.write_line(f"reprokit: the latest-run file was not updated: {exc}", red=True)
            session.exitstatus = session.exitstatus or pytest.ExitCode.TESTS_FAILED

    def _write(self) -> None:
        from reprokit.cache import write_atomic
        from reprokit.html import load_last_run  # the one reader of this file (no framework import)
        merged = merge_outcomes(load_last_run(self.state.last_run), self.seen)
        text = json.dumps({"outcomes": sorted(merged.values(), key=lambda o: (o["claim"], o["backend"]))},
                          indent=1, default=repr)
        write_atomic(self.state.last_run, text)


def merge_outcomes(old: dict, new: dict) -> dict:
    """The latest-run file's entries updated with this session's (newest wins per claim and
    backend), except that a skip never overwrites an outcome already there."""
    merged = dict(old)
    for key, outcome in new.items():
        if outcome["verdict"] != "skipped" or key not in merged:
            merged[key] = outcome
    return merged


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    counts: dict[str, Counter] = defaultdict(Counter)
    smoked: Counter = Counter()  # per backend: claims judged from the ledger whose smoke runs learned
    seen = set()
    for key in ("passed", "failed", "skipped", "xfailed", "xpassed", "error"):
        for report in terminalreporter.stats.get(key, []):
            props = dict(getattr(report, "user_properties", []) or [])
            if "claim" not in props or report.nodeid in seen:
                continue
            verdict = _verdict(report)
            if verdict:
                seen.add(report.nodeid)
                counts[props["backend"]][verdict] += 1
                smoked[props["backend"]] += "ledger" in props and report.outcome == "passed"
    if not counts:
        return
    terminalreporter.section("reprokit claims")
    order = ("reproduced", "known non-reproduction", "undecided", UNDECIDED_HERE, check.DIFFERS_HERE, NO_VERDICT, "failed",
             ERROR, "skipped")
    for b, c in sorted(counts.items()):
        # like pytest's own summary: the outcomes that occurred
        terminalreporter.write_line(f"{b:>12}: " + ", ".join(f"{c[v]} {v}" for v in order if c[v])
                                    + (f" ({smoked[b]} of them judged from the ledger's full runs, whose smoke runs "
                                       f"learned here)" if smoked[b] else ""))
