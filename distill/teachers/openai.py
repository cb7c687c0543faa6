"""The ``openai`` teacher: any OpenAI-compatible chat server (``vllm serve``, a hosted API).

Spec ``openai:URL#MODEL`` (``openai:http://127.0.0.1:8000/v1#my-model``). Each page goes as a
base64 data URL, the answer is constrained with the server's ``json_schema`` response format,
at most ``--concurrency`` requests are in flight, and a failed connection, a timeout, HTTP 429 or
5xx is retried with exponential backoff; when the server stays down the run stops with one error
naming the URL (finished calls are already cached). The API key is read from the environment
variable ``--api-key-env`` names; it is sent as a header and never logged or cached.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from distill.teachers import (
    CHAT_LAYOUT,
    Answer,
    Request,
    Sampling,
    Teacher,
    TeacherUnavailable,
    decoding_schema,
    teacher_chat,
)
from docfoundry.chat import approximate_counter, url_part
from docfoundry.errors import UserError

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
MIME = {"jpg": "image/jpeg", "png": "image/png"}


class ServerDown(Exception):
    """The server could not be reached (or kept failing) after every retry."""


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port spelled out when it is the scheme's default."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


class KeepKeyOnOrigin(urllib.request.HTTPRedirectHandler):
    """Follows redirects like urllib, but the API key goes only to the origin it was meant for.

    urllib copies every header of a request onto the redirected one; a server (or anyone who
    can make it answer 302) could then read the Bearer key at a host of its choosing.
    """

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            for name in [k for k in new.headers if k.lower() == "authorization"]:
                del new.headers[name]
            new.unredirected_hdrs = {k: v for k, v in new.unredirected_hdrs.items() if k.lower() != "authorization"}
        return new


_OPENER = urllib.request.build_opener(KeepKeyOnOrigin)


class OpenAITeacher(Teacher):
    name = "openai"
    target_help = "URL#MODEL"
    gives_logprobs = True

    def __init__(self, target: str, options: Any) -> None:
        super().__init__(target, options)
        url, _, model = target.rpartition("#")
        if not url or not model or not url.startswith(("http://", "https://")):
            raise UserError(f"--teacher openai:{target}: expected openai:http(s)://HOST:PORT/v1#MODEL")
        self.url, self.model = url.rstrip("/"), model

    def identity(self) -> dict[str, Any]:
        return {"spec": self.spec, "chat_layout": CHAT_LAYOUT, **self.options.ocr_identity()}  # never the API key

    def payload(self, req: Request, sampling: Sampling) -> dict[str, Any]:
        """The chat-completions request body for one page."""
        pages = [f"data:{MIME.get(ext, 'image/png')};base64,{base64.b64encode(data).decode('ascii')}"
                 for data, ext in req.encoded()]  # one image per page of a document
        body: dict[str, Any] = {
            "model": self.model,
            "messages": teacher_chat(req, pages, url_part, approximate_counter, self.options),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "seed": req.seed,
        }
        if sampling.logprobs:
            body["logprobs"] = True
        if sampling.structured:
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "fields", "strict": True, "schema": decoding_schema(req.schema, sampling.max_field_chars)}}
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries; returns the JSON reply, or raises ``ServerDown`` / ``urllib.error.HTTPError``."""
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.options.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode("utf-8")
        last = ""
        for attempt in range(self.options.retries + 1):
            if attempt:
                time.sleep(min(30.0, 0.5 * 2 ** (attempt - 1)))
            request = urllib.request.Request(f"{self.url}/chat/completions", data=data, headers=headers)
            try:
                with _OPENER.open(request, timeout=self.options.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                if e.code not in RETRY_STATUS:
                    raise
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = str(getattr(e, "reason", e))
        raise ServerDown(last)

    def _one(self, req: Request, sampling: Sampling) -> Answer:
        started = time.perf_counter()
        try:
            reply = self._post(self.payload(req, sampling))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:200]
            return Answer(error=f"HTTP {e.code} from {self.url}: {detail}")
        choice = reply["choices"][0]
        content = choice.get("logprobs") and choice["logprobs"].get("content")
        tokens = [(t["token"], float(t["logprob"])) for t in content] if content else None
        return Answer(choice["message"].get("content") or "", tokens=tokens, seconds=time.perf_counter() - started)

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        with ThreadPoolExecutor(max_workers=self.options.concurrency) as pool:
            futures = {pool.submit(self._one, r, sampling): i for i, r in enumerate(requests)}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            except ServerDown as e:
                for f in futures:
                    f.cancel()
                raise TeacherUnavailable(f"{self.url}: the server did not answer after "
                                         f"{self.options.retries + 1} tries ({e})") from None


TEACHER = OpenAITeacher
