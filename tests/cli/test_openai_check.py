"""An `openai:` endpoint must answer like an OpenAI API before a run is recorded; what a
server says when it fails is summarised in one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ulterior.cli import main

PAGE = ("<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body>\n"
        + "<p>If you see this page, the web server works.</p>\n" * 20 + "</body></html>")


def _serve(answers: dict[str, tuple[int, str, str]]) -> Iterator[str]:
    """Serve ``answers`` (path suffix -> status, content type, body) on loopback."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, kind, body = next(
                (a for suffix, a in answers.items() if self.path.endswith(suffix)),
                answers["*"])
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def not_openai() -> Iterator[str]:
    yield from _serve({"*": (404, "text/html", PAGE)})


@pytest.fixture
def locked() -> Iterator[str]:
    yield from _serve({"*": (401, "application/json",
                             json.dumps({"error": {"message": "Invalid API key"}}))})


@pytest.fixture
def broken_completions() -> Iterator[str]:
    yield from _serve({"/models": (200, "application/json",
                                   json.dumps({"object": "list", "data": [{"id": "m"}]})),
                       "*": (500, "text/html", PAGE)})


def _score(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str],
           *more: str) -> str:
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"prompt": "Stay on?", "options": ["Yes", "No"],
                                 "matching": 0}) + "\n")
    with pytest.raises(SystemExit) as stop:
        main(["score", "-m", f"openai:m@{url}", "-i", str(items), "--store",
              str(tmp_path / "s.sqlite"), *more])
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "<" not in lines[0], err
    return lines[0]


def test_a_web_server_that_is_not_openai_fails_before_any_run(
        tmp_path: Path, not_openai: str, capsys: pytest.CaptureFixture[str]) -> None:
    line = _score(tmp_path, not_openai, capsys)
    assert "answered GET /models with 404" in line and "Welcome to nginx!" in line
    assert "OpenAI-compatible" in line and len(line) < 400
    assert not (tmp_path / "s.sqlite").exists()  # no run recorded, no store made


def test_refused_access_names_the_key_variable(tmp_path: Path, locked: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    line = _score(tmp_path, locked, capsys)
    assert "Invalid API key" in line and "OPENAI_API_KEY" in line
    assert not (tmp_path / "s.sqlite").exists()


def test_a_server_error_page_is_one_line(tmp_path: Path, broken_completions: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    line = _score(tmp_path, broken_completions, capsys, "--format", "plain")
    assert "/completions answered 500" in line and "Welcome to nginx!" in line
    assert len(line) < 400
