"""The one conversations writer of `docfoundry instruct`: a source yields pages with their tasks, this
writes them to ``conversations.jsonl`` (resumable), places the caption task, links the images and
counts what was made in ``summary.json``.

Sources are registered by name (``--from``): ``truth`` (``distill.truth_tasks``: exact tasks from a
dataset folder's truth) and ``teacher`` (``distill.synthesize``: a teacher writes tasks from
image-caption pairs). A source module holds ``SOURCE``, a class built from the config that has
``name`` (the scope of its ``output=`` config fields), ``pages(done, folder)``, ``counts``,
``finish_counts(summary)``, ``result(summary)`` and ``close()``.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from docfoundry.chat import ocr_key
from docfoundry.errors import UserError

ROWS = "conversations.jsonl"
SOURCE_MODULES = {"truth": "distill.truth_tasks", "teacher": "distill.synthesize"}


@dataclass
class Conversation:
    """One page's conversation before the caption is placed."""

    id: str
    image: Path                 # the page image to link into the folder
    name: str                   # its file name under images/
    tasks: list[Any]            # the page's tasks (``truth_tasks.Task``), in order
    caption: Any | None         # the caption task, or None (``caption_position: none``)
    rng: random.Random          # the page's generator: places the caption when the position is random
    more: list[tuple[Path, str]] = field(default_factory=list)  # a document's later pages: (image, file name)


class Source(Protocol):
    name: str
    counts: Counter[str]

    def pages(self, done: set[str], folder: Path) -> Iterator[Conversation]: ...
    def finish_counts(self, summary: dict[str, Any]) -> dict[str, Any]: ...
    def result(self, summary: dict[str, Any]) -> dict[str, Any]: ...
    def close(self) -> None: ...


def load_source(name: str, cfg: Any) -> Source:
    """The source registered as ``name``, built from ``cfg`` (an unknown name lists the known ones)."""
    if name not in SOURCE_MODULES:
        raise UserError(f"unknown instruction source '{name}' (known: {', '.join(SOURCE_MODULES)})")
    return importlib.import_module(SOURCE_MODULES[name]).SOURCE(cfg)


def page_rng(seed: int, sample_id: str) -> random.Random:
    """The page's generator: (seed, page id) defines its tasks and the caption's place."""
    from docfoundry.seeds import derive

    return random.Random(derive(seed, sample_id, "instruct", bits=64))


def place_caption(tasks: list[Any], caption: Any | None, position: str, rng: random.Random) -> list[Any]:
    """The tasks with the caption first or last (``random``: a draw of the page's generator)."""
    if caption is None or position == "none":
        return list(tasks)
    first = position == "first" or (position == "random" and rng.random() < 0.5)
    return [caption, *tasks] if first else [*tasks, caption]


def to_row(sample_id: str, image: str | list[str], turns: list[Any], source: str) -> dict[str, Any]:
    """One ``conversations.jsonl`` row: user/assistant messages plus what each turn was made from;
    ``image`` is the page, or a list of a document's pages (one conversation, one image per page)."""
    messages = []
    for t in turns:
        messages += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer}]
    return {
        "id": sample_id,
        "images": list(image) if isinstance(image, list) else [image],
        "messages": messages,
        "source": source,
        "task": "+".join(dict.fromkeys(t.family for t in turns)),
        "turns": [{"family": t.family, "template": t.template, "style": t.style,
                   "params": json.dumps(t.params, ensure_ascii=False)} for t in turns],
    }


def link_image(src: Path, dst: Path) -> None:
    """Hard-link the page image into the instruction folder (copy across file systems)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


class PageOcr:
    """The OCR lines a row carries for ``--ocr-context``: rapidocr on each page image as the model
    will see it (degraded), through the folder's call cache (``OUT/cache``, the key ``label`` uses)."""

    def __init__(self, cache_dir: Path) -> None:
        from distill.cache import CallCache

        self.cache = CallCache(cache_dir)

    def pages(self, images: list[Path]) -> list[dict[str, Any]]:
        """Per image ``{"size": [w, h], "lines": [{"text", "box"}]}`` (boxes in the image's pixels)."""
        from distill.ocr import cached_lines
        from docfoundry.images import open_image

        out = []
        for path in images:
            data = path.read_bytes()
            image = open_image(data, str(path), "page image")
            lines = cached_lines(self.cache, data, image)
            out.append({"size": list(image.size), "lines": [{"text": ln.text, "box": ln.box} for ln in lines]})
        return out

    def close(self) -> None:
        self.cache.close()


def summarize(folder: Path, skipped: dict[str, int]) -> dict[str, Any]:
    """Counts per family and phrasing, distinct questions; written to ``summary.json``."""
    from docfoundry.store import iter_rows

    per_family: Counter[str] = Counter()
    per_template: Counter[str] = Counter()
    questions: set[str] = set()
    rows = 0
    for row in iter_rows(folder, ROWS):
        rows += 1
        for turn, msg in zip(row["turns"], row["messages"][::2]):
            per_family[turn["family"]] += 1
            per_template[f"{turn['family']}#{turn['template']}"] += 1
            questions.add(msg["content"])
    summary = {"conversations": rows, "tasks": sum(per_family.values()), "per_family": dict(per_family),
               "per_template": dict(sorted(per_template.items())), "distinct_questions": len(questions),
               "skipped": skipped}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def write(cfg: Any, source: Source) -> dict[str, Any]:
    """Write the source's conversations to ``cfg.out`` (pages already there are skipped) and summarize."""
    from docfoundry.config import fingerprint, to_dict
    from docfoundry.store import DatasetWriter

    ocr = None
    with_ocr = getattr(cfg, "ocr_context", "none") != "none"
    # the OCR context defines the rows when used; without it the fingerprint is the one folders had before
    context = ocr_key(cfg.ocr_context, cfg.ocr_max_tokens) if with_ocr else {}
    try:
        writer = DatasetWriter(cfg.out, stage="instruct", fingerprint={**fingerprint(cfg, source.name), **context},
                               config=to_dict(cfg), rows_file=ROWS)
        if with_ocr:
            ocr = PageOcr(Path(cfg.ocr_cache) if cfg.ocr_cache else writer.folder / "cache")
        for conv in source.pages(writer.done, writer.folder):
            pages = [(conv.image, conv.name), *conv.more]
            rels = [f"images/{name}" for _, name in pages]
            for (path, _), rel in zip(pages, rels):
                link_image(path, writer.folder / rel)
            turns = place_caption(conv.tasks, conv.caption, cfg.caption_position, conv.rng)
            row = to_row(conv.id, rels if conv.more else rels[0], turns, source.name)
            if ocr is not None:  # train renders and caps it with the student's tokenizer
                row["ocr"] = ocr.pages([path for path, _ in pages])
            writer.append(row)
    finally:
        source.close()
        if ocr is not None:
            ocr.close()
    summary = summarize(writer.folder, dict(source.counts))
    writer.finish(source.finish_counts(summary))
    return source.result(summary)
