"""The ``openai:`` teacher's API key goes to its own server only, never to a host a redirect names.

Two real HTTP servers on loopback (different ports are different origins): the teacher's server
answers the chat call with a redirect; the redirect's target records the headers it was sent.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REPLY = {"choices": [{"message": {"content": '{"total": "1.00"}'}}]}
KEY = "sk-test-not-a-real-key"


class Server:
    """A loopback HTTP server: ``redirect_to`` (a URL) answers POSTs with ``code``, GETs get REPLY."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)
        self.redirect_to = ""
        self.code = 302
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self):
                outer.seen.append((self.command, self.path, self.headers.get("Authorization")))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)

            def do_POST(self):
                self._record()
                if outer.redirect_to:
                    self.send_response(outer.code)
                    self.send_header("Location", outer.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._reply()

            def do_GET(self):
                self._record()
                self._reply()

            def _reply(self):
                body = json.dumps(REPLY).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    a, b = Server(), Server()
    yield a, b
    a.close()
    b.close()


def ask(url: str, monkeypatch) -> str:
    """One page through the openai teacher at ``url``; returns the answer text."""
    from distill.teachers import Request, Sampling, TeacherOptions, load_teacher

    monkeypatch.setenv("DOCFOUNDRY_TEST_KEY", KEY)
    teacher = load_teacher(f"openai:{url}/v1#m", TeacherOptions(api_key_env="DOCFOUNDRY_TEST_KEY", retries=0,
                                                                 timeout=10, concurrency=1))
    req = Request(page_id="p", image=None, image_bytes=b"png", image_ext="png", prompt="fields?",
                  schema={"type": "object"}, seed=0)
    [(_, answer)] = list(teacher.answer([req], Sampling(structured=False)))
    assert not answer.error, answer.error
    return answer.text


@pytest.mark.parametrize("code", [301, 302, 303])
def test_cross_host_redirect_drops_the_api_key(servers, monkeypatch, code):
    a, b = servers
    a.redirect_to, a.code = f"{b.url}/v1/elsewhere", code
    assert ask(a.url, monkeypatch) == REPLY["choices"][0]["message"]["content"]
    assert a.seen == [("POST", "/v1/chat/completions", f"Bearer {KEY}")]       # its own server has it
    assert b.seen == [("GET", "/v1/elsewhere", None)]                          # the other never sees it


def test_same_host_redirect_keeps_the_api_key(servers, monkeypatch):
    a, _ = servers
    a.redirect_to = f"{a.url}/v1/moved"
    ask(a.url, monkeypatch)
    assert a.seen == [("POST", "/v1/chat/completions", f"Bearer {KEY}"), ("GET", "/v1/moved", f"Bearer {KEY}")]


def test_origin_compares_scheme_host_and_port():
    from distill.teachers.openai import _origin

    assert _origin("http://Host/v1") == _origin("http://host:80/x")
    assert _origin("https://host/v1") != _origin("http://host/v1")
    assert _origin("http://127.0.0.1:8000/v1") != _origin("http://127.0.0.1:8001/v1")
