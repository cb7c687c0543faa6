"""Progress for long work: items/s, done/total, time left (rich), and the console of a whole run.

A command draws one bar per ``track``. Inside ``stage_line`` (``docfoundry run``) every ``track`` and
``counter`` of the stage advances that stage's single line instead, and ``route_output`` sends
whatever else is written to stdout/stderr (library logs and warnings, loading bars, child processes)
to the run's log file, so the console shows one line per stage.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")

# where progress is drawn while ``route_output`` holds stdout/stderr (None: the process's stderr)
_console_file: IO[str] | None = None
# the line of the running stage (inside ``stage_line``), shared by its tracks and counters
_line: Any = None


def rate(task: Any) -> float | None:
    """Units per second of a rich task: what it completed over the time since it started.

    rich's own ``speed`` divides the units of all but the first update by the time between the first
    and the last update, so work that arrives in bursts (a batch of pages at once) reads thousands/s.
    """
    elapsed = task.elapsed
    if not elapsed or not task.completed:
        return None
    return task.completed / elapsed


def _columns(extra: bool) -> list[Any]:
    from rich.progress import BarColumn, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class Count(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{int(task.completed)}/{int(task.total or 0)}" if task.fields.get("unit") else "")

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            unit = task.fields.get("unit")
            if not unit:
                return Text("")
            speed = rate(task)
            return Text(f"{speed:.1f} {unit}/s" if speed else f"- {unit}/s")

    class Left(ProgressColumn):
        """Time left at the rate so far (``rate``), blank once done."""

        def render(self, task: Any) -> Text:
            speed = rate(task)
            if not task.fields.get("unit") or task.finished or not speed or task.total is None:
                return Text("")
            seconds = int((task.total - task.completed) / speed)
            return Text(f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} left")

    columns = [TextColumn("{task.description}"), BarColumn(), Count(), Rate(), TimeElapsedColumn(), Left()]
    return [*columns, TextColumn("{task.fields[extra]}")] if extra else columns


def _progress(extra: bool) -> Any:
    from rich.console import Console
    from rich.progress import Progress

    routed = _console_file is not None
    console = Console(file=_console_file) if routed else Console(stderr=True)
    # rich prints what others write above a live bar; under ``route_output`` that belongs to the log
    return Progress(*_columns(extra), console=console, transient=False, redirect_stdout=not routed,
                    redirect_stderr=not routed)


class Counter:
    """A count of finished units: its own bar, or a share of the running stage's line."""

    def __init__(self, total: int, description: str, unit: str = "pages", extra: Callable[[], str] | None = None):
        self.extra = extra
        if _line is not None:
            self.bar, self.task, self.own = _line.bar, _line.task, False
            task = self.bar.tasks[self.task]
            counted = (task.total or 0) if task.fields.get("unit") else 0  # units of the stage's earlier counts
            self.bar.update(self.task, total=counted + total, unit=unit)
        else:
            self.bar, self.own = _progress(extra is not None), True
            self.bar.start()
            self.task = self.bar.add_task(description, total=total, extra="", unit=unit)

    def advance(self, n: float = 1) -> None:
        """Count ``n`` more units done (and refresh the extra status)."""
        self.bar.update(self.task, advance=n, extra=self.extra() if self.extra is not None else "")

    def close(self) -> None:
        if self.own:
            self.bar.stop()

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def counter(total: int, description: str, unit: str = "pages", extra: Callable[[], str] | None = None) -> Counter:
    """A progress count to ``advance`` by hand (training steps), closed with ``close`` or ``with``."""
    return Counter(total, description, unit, extra)


def track(items: Iterable[T], total: int, description: str, unit: str = "pages",
          extra: Any = None, weight: Callable[[T], int] | None = None) -> Iterator[T]:
    """Yield ``items`` while drawing a bar with the rate in ``unit``/s on stderr.

    ``extra``: optional callable returning a short status string (e.g. a cache hit rate).
    ``weight``: how many units one item is (a batch of pages); ``total`` counts units.
    """
    with Counter(total, description, unit, extra) as count:
        for item in items:
            yield item
            count.advance(weight(item) if weight is not None else 1)


class _Line:
    def __init__(self, bar: Any, task: Any):
        self.bar, self.task = bar, task


@contextlib.contextmanager
def stage_line(description: str) -> Iterator[None]:
    """One console line for a stage: every track/counter inside adds its units to it."""
    global _line
    bar = _progress(extra=True)
    bar.start()
    previous = _line
    _line = _Line(bar, bar.add_task(description, total=None, extra="", unit=None))
    try:
        yield
        task = bar.tasks[_line.task]
        if task.total is None or task.fields.get("unit") is None:
            bar.update(_line.task, total=1, completed=1)  # a stage without counted units: a full bar, no count
    finally:
        _line = previous
        bar.stop()


def _to_console(text: str, target: IO[str]) -> None:
    if _line is not None:  # above the live stage line, which rich then draws again below
        _line.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        print(text, file=target, flush=True)


def note(text: str) -> None:
    """A line on the console a user reads (the terminal even while ``route_output`` holds stderr)."""
    _to_console(text, _console_file if _console_file is not None else sys.stderr)


class _OwnWarnings:
    """Python's stderr under ``route_output``: everything to the log, and docfoundry's own one-line
    ``warning: ...`` messages (the project's convention) to the console too."""

    def __init__(self, log: IO[str], console: IO[str]):
        self._log, self._console, self._line = log, console, ""

    def write(self, text: str) -> int:
        self._log.write(text)
        self._line += text
        *done, self._line = self._line.split("\n")
        for line in done:
            if line.startswith("warning: "):
                _to_console(line, self._console)
        return len(text)

    def flush(self) -> None:
        self._log.flush()
        self._console.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, encoding, isatty...: the log's
        return getattr(self._log, name)


@contextlib.contextmanager
def route_output(log_file: Path) -> Iterator[None]:
    """Send stdout and stderr, Python's and the file descriptors' (so child processes and C code too),
    to ``log_file`` (appended); progress lines, ``note`` and docfoundry's own ``warning: ...`` lines
    still reach the original stderr."""
    global _console_file
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = open(os.dup(saved_err), "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    log = open(log_file, "a", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    previous = _console_file, sys.stdout, sys.stderr
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        _console_file, sys.stdout, sys.stderr = console, log, _OwnWarnings(log, console)
        yield
    finally:
        log.flush()
        _console_file, sys.stdout, sys.stderr = previous
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err):
            os.close(fd)
        console.close()
        log.close()
