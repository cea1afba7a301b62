"""An assembled report in headless Chromium, offline: no console errors, no network request,
every TOC link lands on an element, every image decodes, nothing overflows a phone screen.

Chromium (Debian ``chromium``; ``bash .ci/sysdeps.sh`` as root installs it) is driven through
its DevTools protocol with ``websocket-client``: no browser download, no driver binary.

The HTML under test is the ``report_file`` fixture: by default two reports (zh, en) built from
the tiny notebooks of ``test_render``; set ``REVIEW_REPORT_HTML`` to one or more paths
(separated by ``os.pathsep``) to test real reports instead, e.g.
``REVIEW_REPORT_HTML=outputs/2026-10/report.html pytest -m browser``, or override the fixture.
Screenshots go to ``$REVIEW_SCREENSHOTS`` when set (a CI artefact), else to a temporary
folder: no test writes into the repository.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from review.report.render import assemble_report
from tests.report.test_render import sample_sections

websocket = pytest.importorskip("websocket", reason="needs websocket-client")

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ.get("REVIEW_SCREENSHOTS")
                   or Path(tempfile.gettempdir()) / "review-screenshots")
REPORTS = [Path(p) for p in os.environ.get("REVIEW_REPORT_HTML", "").split(os.pathsep) if p]
DEVICES = {
    "desktop": {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    "phone": {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
}
TIMEOUT = 30.0

# What the page reports about itself once loaded.
INSPECT = """
(() => {
  const toc = [...document.querySelectorAll('nav.toc a[href^="#"]')].map(a => {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    return {id, found: document.getElementById(id) !== null};
  });
  const images = [...document.images].map(img => ({
    src: img.currentSrc.slice(0, 30), complete: img.complete,
    width: img.naturalWidth, height: img.naturalHeight}));
  // the status cell of every KPI table row: on screen without scrolling the table
  const status = [...document.querySelectorAll('table.kpi-table tbody td.status')].map(td => {
    const r = td.getBoundingClientRect();
    return {left: r.left, right: r.right, visible: r.width > 0 && r.right <= window.innerWidth};
  });
  const charts = [...document.querySelectorAll('figure.chart img')].map(
    img => img.getBoundingClientRect().width);
  return {lang: document.documentElement.lang, title: document.title, toc, images, status,
          charts, column: document.querySelector('main').getBoundingClientRect().width,
          overflow: document.documentElement.scrollWidth - window.innerWidth};
})()
"""


class DevTools:
    """A minimal DevTools-protocol client over one websocket (flat sessions)."""

    def __init__(self, url: str):
        self.ws = websocket.create_connection(url, timeout=TIMEOUT, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(f"no {method} within {TIMEOUT} s")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module, network-less, with a fresh profile."""
    if CHROMIUM is None:
        pytest.skip("no chromium: run `bash .ci/sysdeps.sh` as root")
    profile = tmp_path_factory.mktemp("chromium-profile")
    args = [CHROMIUM, "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--mute-audio",
            "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"]
    if os.geteuid() == 0:
        args.insert(2, "--no-sandbox")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        port, path = port_file.read_text().split()
        client = DevTools(f"ws://127.0.0.1:{port}{path}")
        yield client
        client.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group started above, nothing else
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module", params=REPORTS or ["zh", "en"],
                ids=lambda p: p.stem if isinstance(p, Path) else p)
def report_file(request, tmp_path_factory) -> Path:
    """The HTML file under test: a given report, or one assembled from tiny notebooks."""
    if isinstance(request.param, Path):
        return request.param.resolve()
    lang = request.param
    path = tmp_path_factory.mktemp("reports") / f"report-{lang}.html"
    path.write_text(assemble_report(sample_sections(lang), title=f"Report {lang}", lang=lang),
                    encoding="utf-8")
    return path


def _open(browser: DevTools, path: Path, device: str) -> tuple[dict, list[dict], bytes]:
    """Load ``path`` offline at ``device`` size; return the page facts, the page's events and
    a screenshot."""
    target = browser.send("Target.createTarget", url="about:blank")["targetId"]
    session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session)
        browser.send("Network.emulateNetworkConditions", session, offline=True, latency=0,
                     downloadThroughput=-1, uploadThroughput=-1)
        browser.send("Emulation.setDeviceMetricsOverride", session, **DEVICES[device])
        browser.send("Page.navigate", session, url=path.as_uri())
        browser.wait_for("Page.loadEventFired", session)
        facts = browser.send("Runtime.evaluate", session, expression=INSPECT,
                             returnByValue=True)["result"]["value"]
        shot = base64.b64decode(browser.send("Page.captureScreenshot", session,
                                             format="png")["data"])
        events = [e for e in browser.events if e.get("sessionId") == session]
        return facts, events, shot
    finally:
        browser.send("Target.closeTarget", targetId=target)


def _problems(events: list[dict]) -> list[str]:
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                              for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            out.append("exception: " + params["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            out.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                out.append(f"network request: {url}")
    return out


def _save(shot: bytes, path: Path, device: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{path.stem}-{device}.png").write_bytes(shot)


def test_report_opens_offline_without_errors(browser, report_file):
    facts, events, shot = _open(browser, report_file, "desktop")
    _save(shot, report_file, "desktop")
    assert _problems(events) == []
    assert facts["lang"] in ("zh-CN", "en")
    assert facts["toc"], "the report has no table of contents"
    assert [link["id"] for link in facts["toc"] if not link["found"]] == []
    assert facts["images"], "the report has no image"
    broken = [img for img in facts["images"]
              if not (img["complete"] and img["width"] > 0 and img["height"] > 0)]
    assert broken == []
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_fits_a_phone_screen(browser, report_file):
    facts, events, shot = _open(browser, report_file, "phone")
    _save(shot, report_file, "phone")
    assert _problems(events) == []
    assert facts["overflow"] <= 0, f"page is {facts['overflow']} px wider than the phone"
    # the KPI tables' status column is in view; charts take the column's full width
    assert facts["status"] and all(s["visible"] for s in facts["status"]), facts["status"]
    assert facts["charts"] and min(facts["charts"]) >= facts["column"] - 1, facts
