"""Progress bars for long work: items/s, done/total, time left (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], total: int, description: str, unit: str = "pages",
          extra: Any = None, weight: Callable[[T], int] | None = None) -> Iterator[T]:
    """Yield ``items`` while drawing a bar with the rate in ``unit``/s on stderr.

    ``extra``: optional callable returning a short status string (e.g. a cache hit rate).
    ``weight``: how many units one item is (a batch of pages); ``total`` counts units.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f} {unit}/s" if speed else f"- {unit}/s")

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    if extra is not None:
        columns.append(TextColumn("{task.fields[extra]}"))
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total, extra="")
        for item in items:
            yield item
            bar.update(task, advance=weight(item) if weight is not None else 1, extra=extra() if extra is not None else "")
