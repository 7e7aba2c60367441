"""The HTML report as a reader sees it: opened in headless Chromium (Debian's ``chromium``; CI
installs it), driven through the DevTools protocol. It loads with no console error or uncaught
exception, shows every claim of the catalogue, and its filters show exactly the matching rows."""

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
    shown = set(browser.eval("[...document.querySelectorAll('#verdicts tr.claim code')].map(e => e.textContent)"))
    catalogue = set(re.findall(r"^\|\s*([a-z0-9_]+(?:\.[a-z0-9_]+)+)\s*\|", CATALOGUE.read_text(), re.M)) \
        if CATALOGUE.exists() else set()
    from reprokit.claims import load
    assert shown == {c.id for c in load(ROOT / "expected")}
    if catalogue:  # ../shared/CLAIMS.md, the scope: every id in it is a row
        assert len(catalogue) == 68
        assert catalogue <= shown, f"claims of the catalogue missing from the report: {sorted(catalogue - shown)}"
    assert browser.eval("document.getElementById('shown').textContent") == f"{len(shown)} of {len(shown)} claims shown"
    runs = html.recorded_runs([0, 1, 2])  # the committed ledger: one curve section per recorded experiment
    assert browser.eval("document.querySelectorAll('section.experiment').length") == len(runs)
    assert browser.eval("document.querySelectorAll('figure svg').length") >= 2 * len(runs)
    visible = browser.eval("document.body.innerText")
    assert all(cid in visible for cid in shown)  # rendered, not only in the markup


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
