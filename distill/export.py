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

from docfoundry.errors import UserError
from docfoundry.store import iter_rows


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


def export(folder: Path, fmt: str, out: Path, prefix: str = "") -> int:
    """Write ``out`` in format ``fmt``; returns the number of rows."""
    if not (folder / "conversations.jsonl").is_file():
        raise UserError(f"{folder}: not an instruction folder (no conversations.jsonl)")
    if fmt not in FORMATS:
        raise UserError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for row in iter_rows(folder, "conversations.jsonl"):
            images = [_image_ref(folder, rel, prefix) for rel in row["images"]]
            fh.write(json.dumps(FORMATS[fmt](row, images), ensure_ascii=False) + "\n")
            n += 1
    return n
