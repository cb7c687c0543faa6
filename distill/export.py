"""Instruction folder -> the JSONL formats training tools read.

- ``sharegpt``: ``{"messages": [{"role", "content"}], "images": [...]}`` with one ``<image>`` per
  image in the first user turn (LLaMA-Factory's multimodal ShareGPT).
- ``messages``: TRL's conversational format, content as typed parts (``{"type": "image"}``).
- ``bedrock``: ``bedrock-conversation-2024`` records (image as an S3 location, text parts).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distill.conversations import ROWS
from docfoundry.errors import UserError
from docfoundry.store import atomic_write, iter_rows


def _image_ref(folder: Path, rel: str, prefix: str) -> str:
    return prefix + rel if prefix else str((folder / rel).resolve())


def to_sharegpt(row: dict[str, Any], images: list[str]) -> dict[str, Any]:
    msgs = [dict(m) for m in row["messages"]]
    msgs[0]["content"] = "<image>" * len(images) + msgs[0]["content"]
    return {"messages": msgs, "images": images}


def to_messages(row: dict[str, Any], images: list[str]) -> dict[str, Any]:
    msgs = []
    for i, m in enumerate(row["messages"]):
        parts = [{"type": "image", "text": None} for _ in images] if i == 0 else []
        msgs.append({"role": m["role"], "content": parts + [{"type": "text", "text": m["content"]}]})
    return {"messages": msgs, "images": images}


def to_bedrock(row: dict[str, Any], images: list[str]) -> dict[str, Any]:
    msgs = []
    for i, m in enumerate(row["messages"]):
        content: list[dict[str, Any]] = [{"text": m["content"]}]
        if i == 0:
            fmt = lambda p: "png" if p.lower().endswith(".png") else "jpeg"  # noqa: E731
            content = [{"image": {"format": fmt(p), "source": {"s3Location": {"uri": p}}}} for p in images] + content
        msgs.append({"role": m["role"], "content": content})
    return {"schemaVersion": "bedrock-conversation-2024", "system": [], "messages": msgs}


FORMATS: dict[str, Callable[[dict[str, Any], list[str]], dict[str, Any]]] = {
    "sharegpt": to_sharegpt, "messages": to_messages, "bedrock": to_bedrock,
}


def _checked_row(row: dict[str, Any], where: str) -> list[str]:
    """The row's image paths after checking its shape (each format reads messages[0])."""
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UserError(f"{where}: 'messages' must be a non-empty list of {{role, content}} turns, got {messages!r:.60}")
    for i, m in enumerate(messages):
        if not (isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)):
            raise UserError(f"{where}: messages[{i}] must have a string 'role' and 'content', got {m!r:.60}")
    images = row.get("images", [])
    if not isinstance(images, list) or not all(isinstance(x, str) for x in images):
        raise UserError(f"{where}: 'images' must be a list of paths, got {images!r:.60}")
    return images


def with_context(row: dict[str, Any], mode: str, cap: int) -> dict[str, Any]:
    """The row with its OCR context (``instruct --ocr-context``) before the first user turn's text, as
    ``docfoundry.chat.page_chat`` puts it; the cap counts 4 bytes a token (no student tokenizer here)."""
    from docfoundry.chat import approximate_counter, ocr_context

    pages = [(page["lines"], tuple(page["size"])) for page in row.get("ocr") or []]
    context, _ = ocr_context(pages, mode, cap, approximate_counter)
    if not context:
        return row
    messages = [dict(m) for m in row["messages"]]
    first = next(i for i, m in enumerate(messages) if m["role"] == "user")
    messages[first]["content"] = f"{context}\n\n{messages[first]['content']}"
    return {**row, "messages": messages}


def _refuse_overwriting_inputs(out: Path, inputs: list[Path]) -> None:
    """``out`` must not be (a link to) a file the export reads: replacing it would lose the input."""
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give the path of the JSONL file to write")
    if not out.exists():
        return
    target = out.stat()
    for p in inputs:
        try:
            st = p.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            raise UserError(f"--out {out}: is an input of the export ({p}); write the export elsewhere")


def export(folder: Path, fmt: str, out: Path, prefix: str = "") -> int:
    """Write ``out`` in format ``fmt``; returns the number of rows.

    Every row is converted before anything is written, and ``out`` is replaced in one rename: a
    bad row leaves an existing ``out`` as it was, and ``out`` may never be one of the inputs.
    """
    src = folder / ROWS
    if not src.is_file():
        raise UserError(f"{folder}: not an instruction folder (no {ROWS})")
    if fmt not in FORMATS:
        raise UserError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    _refuse_overwriting_inputs(out, [src])
    from docfoundry.store import read_run_info

    made = read_run_info(folder).get("config") or {}
    mode, cap = made.get("ocr_context", "none"), int(made.get("ocr_max_tokens", 0))  # the folder's own setting
    lines, inputs = [], [src]
    for n, row in enumerate(iter_rows(folder, ROWS), 1):
        where = f"{src}: row {n}" + (f" (id {row['id']!r})" if "id" in row else "")  # iter_rows gives objects
        rels = _checked_row(row, where)
        if mode != "none":
            row = with_context(row, mode, cap)
        inputs += [folder / rel for rel in rels]
        images = [_image_ref(folder, rel, prefix) for rel in rels]
        lines.append(json.dumps(FORMATS[fmt](row, images), ensure_ascii=False) + "\n")
    _refuse_overwriting_inputs(out, inputs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, "".join(lines).encode("utf-8"))
    except OSError as e:
        raise UserError(f"--out {out}: cannot write ({e.strerror or e})") from None
    return len(lines)
