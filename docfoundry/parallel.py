"""Ordered parallel map for per-item stages: in process, a local process pool, or Ray.

Results come back in input order, so the writer appends rows in a fixed order whatever runs the
work; Ray shards run on a local instance (``"local"``) or an existing cluster address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _run_chunk(fn: Callable[[Any], Any], chunk: list[Any]) -> list[Any]:
    return [fn(item) for item in chunk]


def ray_map(fn: Callable[[T], R], items: list[T], address: str, *, num_cpus: int | None = None,
            chunk: int = 8) -> Iterator[R]:
    """Run ``fn`` over ``items`` as Ray tasks of ``chunk`` items, at most a few in flight per CPU."""
    import ray

    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address == "local":
            kwargs["num_cpus"] = num_cpus
        else:
            kwargs["address"] = address
        ray.init(**kwargs)
    task = ray.remote(_run_chunk)
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    window = max(2, int(ray.available_resources().get("CPU", 1)) * 2)
    refs = [task.remote(fn, c) for c in chunks[:window]]
    for i in range(len(chunks)):
        if i + window < len(chunks):
            refs.append(task.remote(fn, chunks[i + window]))
        yield from ray.get(refs[i])
        refs[i] = None  # let the object store drop finished chunks


def ordered_map(fn: Callable[[T], R], items: list[T], *, workers: int = 1, ray: str | None = None,
                chunk: int = 4) -> Iterator[R]:
    """``map(fn, items)`` in order: Ray when ``ray`` is set, a fork pool for ``workers`` > 1."""
    if ray:
        yield from ray_map(fn, items, ray, num_cpus=workers if workers > 1 else None)
        return
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    import multiprocessing as mp

    with mp.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(fn, items, chunksize=chunk)
