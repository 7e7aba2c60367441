"""The HTML report as a reader sees it: opened in headless Chromium (Debian's ``chromium``; CI
installs it), driven through the DevTools protocol. It loads with no console error or uncaught
exception, shows every claim of the catalogue with a picture of each training claim's decision,
its filters, search and sorting show exactly the matching rows, and at 1024 and 1400 px wide
nothing overflows sideways."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from reprokit import html

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT.parent / "shared" / "CLAIMS.md"


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("REPROKIT_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed but REPROKIT_REQUIRE_BROWSER is set (CI): apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and runs this test")
    return exe


class Page:
    """A minimal DevTools-protocol client for one page: navigate, evaluate, collect errors."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client, a test dependency
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id, self.errors, self.loaded = 0, [], False
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)

    def _event(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "") + " " +
                               json.dumps(params["exceptionDetails"].get("exception", {}).get("description", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console.error: " + json.dumps([a.get("value") for a in params.get("args", [])]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append("log: " + params["entry"].get("text", ""))
        elif method == "Page.loadEventFired":
            self.loaded = True

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def open(self, url: str) -> None:
        self.loaded = False
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not self.loaded and time.monotonic() < deadline:
            self._event(json.loads(self.ws.recv()))
        assert self.loaded, f"{url} did not finish loading in 30 s"

    def eval(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, ws = time.monotonic() + 60, None
        while ws is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"chromium exited with {proc.returncode} before it listened")
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            ws = m.group(1) if m else None
        assert ws, "chromium did not start its DevTools endpoint in 60 s"
        port = int(re.search(r":(\d+)/", ws).group(1))
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        page = Page(target["webSocketDebuggerUrl"])
        yield page
        page.ws.close()
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The report of the committed ledger plus a latest run holding each kind of outcome."""
    folder = tmp_path_factory.mktemp("report")
    last = folder / "last-run.json"
    outcomes = [
        {"claim": "imdbq.params.embedding", "backend": "keras", "verdict": "reproduced", "measured": [100000]},
        {"claim": "imdbq.params.embedding", "backend": "torch", "verdict": "failed", "measured": None},
        {"claim": "mnist.time.l2", "backend": "keras", "verdict": "known non-reproduction",
         "measured": {"mnist.lstm128.l2/mnist.lstm128": {"median": 1.04, "q1": 1.0, "q3": 1.08}}},
    ]
    for o in outcomes:
        o.update(profile="quick", date="2026-11-24T00:00:00+00:00", duration_s=1.0, message="")
    last.write_text(json.dumps({"outcomes": outcomes}))
    out = folder / "report.html"
    html.write(out, ROOT / "expected", last)
    return out


def test_loads_without_errors_and_shows_every_claim(browser, report):
    browser.open(report.as_uri())
    assert browser.errors == []
    from reprokit.claims import load
    shown = set(browser.eval("[...document.querySelectorAll('#verdicts tr.claim code')].map(e => e.textContent)"))
    catalogue = set(re.findall(r"^\|\s*([a-z0-9_]+(?:\.[a-z0-9_]+)+)\s*\|", CATALOGUE.read_text(), re.M)) \
        if CATALOGUE.exists() else set()
    assert shown == {c.id for c in load(ROOT / "expected")}
    if catalogue:  # ../shared/CLAIMS.md, the scope: every id in it is a row
        assert len(catalogue) == 68
        assert catalogue <= shown, f"claims of the catalogue missing from the report: {sorted(catalogue - shown)}"
    assert browser.eval("document.getElementById('shown').textContent") == f"{len(shown)} of {len(shown)} claims shown"
    runs = html.recorded_runs([0, 1, 2])  # the committed ledger: one curve section per recorded experiment
    assert browser.eval("document.querySelectorAll('section.experiment figure svg').length") == len(runs)
    visible = browser.eval("document.body.innerText")
    assert all(cid in visible for cid in shown)  # rendered, not only in the markup
    # the first screen: counts per backend and verdict, before the findings and the table
    order = browser.eval("[...document.querySelectorAll('h2')].map(h => h.textContent)")
    assert order[:3] == ["Summary", "Findings: the claims that do not simply reproduce", "Verdicts"]
    counts = browser.eval("[...document.querySelectorAll('table.summary tr')].slice(1).map(r => "
                          "[...r.cells].slice(1).reduce((s, c) => s + Number(c.textContent), 0))")
    backends = html.present_backends(html.load_last_run(report.parent / "last-run.json"))
    assert counts == [sum(c.applies_to(b) for c in load(ROOT / "expected")) for b in backends]


def test_every_training_claim_has_the_picture_of_its_decision(browser, report):
    """Each training claim decided from recorded runs: its seeds as dots, the document's value, the rule's
    interval, per backend, linked from its row."""
    browser.open(report.as_uri())
    from reprokit import check
    from reprokit.claims import load
    expected = {c.id for c in load(ROOT / "expected") if c.experiments
                and c.compare in ("plausible_run", "plausible_run_at_least", "plausible_outcome", "order", "trend")
                and any(check.decide(c, b, source="ledger") is not None for b in ("keras", "torch") if c.applies_to(b))}
    pictured = set(browser.eval("[...document.querySelectorAll('figure.decision')].map(f => f.id.slice(9))"))
    assert pictured == expected and len(expected) > 30
    assert browser.eval("[...document.querySelectorAll('figure.decision')].every(f => f.querySelector('svg'))")
    links = set(browser.eval("[...document.querySelectorAll('#verdicts a[href^=\"#decision-\"]')]"
                             ".map(a => a.getAttribute('href').slice(10))"))
    assert links == expected


@pytest.mark.parametrize("width", [1024, 1400])
def test_nothing_overflows_sideways(browser, report, width, tmp_path):
    browser.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
    try:
        browser.open(report.as_uri())
        overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth")
        shot = browser.call("Page.captureScreenshot", format="png")["data"]
        import base64
        (tmp_path / f"report-{width}.png").write_bytes(base64.b64decode(shot))
        assert overflow <= 0, f"the page is {overflow} px wider than a {width} px window"
        wide = browser.eval("[...document.querySelectorAll('svg, table')].filter(e => "
                            "e.getBoundingClientRect().right > window.innerWidth + 1).length")
        assert wide == 0
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")


def test_search_and_sorting(browser, report):
    from reprokit.claims import load
    browser.open(report.as_uri())
    browser.eval("(s => { s.value = 'hidden_sweep'; s.dispatchEvent(new Event('input')); })(document.getElementById('search'))")
    shown = browser.eval("[...document.querySelectorAll('#verdicts tr.claim')].filter(r => !r.hidden)"
                         ".map(r => r.querySelector('code').textContent)")
    assert shown and all("hidden_sweep" in cid or "hidden_sweep" in browser.eval(
        f"document.getElementById('claim-{cid}').textContent") for cid in shown)
    browser.eval("(s => { s.value = ''; s.dispatchEvent(new Event('input')); })(document.getElementById('search'))")
    browser.eval("document.querySelector('#verdicts th[data-sort]').click()")
    ids = browser.eval("[...document.querySelectorAll('#verdicts tr.claim code')].map(e => e.textContent)")
    assert ids != [c.id for c in load(ROOT / "expected")]  # moved
    assert browser.eval(f"(ids => ids.every((x, i) => !i || ids[i - 1].localeCompare(x, undefined, {{numeric: true}}) <= 0))"
                        f"({json.dumps(ids)})")  # in the page's (numeric) collation: len50 before len100
    browser.eval("document.querySelector('#verdicts th[data-sort]').click()")
    again = browser.eval("[...document.querySelectorAll('#verdicts tr.claim code')].map(e => e.textContent)")
    assert again == ids[::-1]
    assert browser.errors == []


def _select(browser: Page, name: str, value: str) -> int:
    browser.eval(f"(s => {{ s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change')); }})"
                 f"(document.getElementById('filter-{name}'))")
    return browser.eval("[...document.querySelectorAll('#verdicts tr.claim')].filter(r => !r.hidden).length")


def test_filters_show_exactly_the_matching_rows(browser, report):
    browser.open(report.as_uri())
    from reprokit.claims import load
    claims = load(ROOT / "expected")
    assert _select(browser, "kind", "params") == sum(c.kind == "params" for c in claims)
    assert _select(browser, "document", "004_a21f0e9edc1f6bb1.txt") == sum(
        c.kind == "params" and c.document.startswith("004") for c in claims)
    _select(browser, "kind", "")
    _select(browser, "document", "")
    assert _select(browser, "verdict", "failed") == 1  # the one failed outcome of the latest run
    assert _select(browser, "backend", "keras") == 0  # it failed in torch, not keras
    assert browser.eval("[...document.querySelectorAll('.b-torch')].every(c => c.hidden)")
    assert _select(browser, "backend", "torch") == 1
    assert browser.eval("document.querySelector('#verdicts tr.claim:not([hidden]) code').textContent") == "imdbq.params.embedding"
    _select(browser, "verdict", "")
    assert _select(browser, "backend", "") == len(claims)
    assert browser.errors == []


def test_report_is_self_contained(report):
    text = report.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text), "the report must load nothing from the network"
    assert "<script src" not in text and "<link" not in text


def test_a_broken_page_is_caught(browser, tmp_path):
    """The error check can fail: a page with a script error and a console error is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>console.error('boom'); notDefined();</script></body></html>")
    browser.errors.clear()
    browser.open(page.as_uri())
    assert any("boom" in e for e in browser.errors) and any("notDefined" in e for e in browser.errors)
    browser.errors.clear()
