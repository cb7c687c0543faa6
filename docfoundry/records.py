"""The sample record: one document with its exact truth, as one row of ``metadata.jsonl``.

Every row has the same keys with the same types, so Arrow (``datasets`` imagefolder) infers one
schema: ``ground_truth`` and ``meta`` are JSON strings, boxes are integer pixel coordinates.

A document of several pages is still one row: ``file_name`` is its first page, ``pages`` lists
every page's image in order, and each word and field box carries ``page`` (0-based, an index
into ``pages``; its box is in that page's pixels). A one-page row has neither key, so it stays
byte-identical to the rows written before documents had pages (Arrow reads the missing keys as
null).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

SPLITS = ("train", "validation", "test")
ROW_KEYS = ("file_name", "id", "split", "doc_type", "ground_truth", "words", "field_boxes", "meta")


def pixel_box(x0: float, y0: float, x1: float, y1: float) -> list[int]:
    """An integer box that contains the float box (floor the start, ceil the end)."""
    return [math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)]


@dataclass
class WordBox:
    """A printed word and its box ``[x0, y0, x1, y1]`` in pixels of the saved image."""

    text: str
    box: list[int]
    page: int = 0  # which page of the document (0-based)


@dataclass
class FieldBox:
    """A schema leaf (dotted ``path`` such as ``line_items.0.amount``), its printed text and box."""

    path: str
    text: str
    box: list[int]
    page: int = 0  # which page of the document (0-based)


def _box_row(item: WordBox | FieldBox, paged: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"path": item.path} if isinstance(item, FieldBox) else {}
    row.update(text=item.text, box=list(item.box))
    if paged:  # only a document of several pages says which page (one-page rows stay as they were)
        row["page"] = item.page
    return row


@dataclass
class Sample:
    """One document (one page or several) and its truth; ``gt_parse`` holds the nested field
    values as printed, for the whole document."""

    id: str
    doc_type: str
    split: str
    gt_parse: dict[str, Any]
    words: list[WordBox] = field(default_factory=list)
    field_boxes: list[FieldBox] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    gt_typed: dict[str, Any] | None = None
    file_name: str = ""
    pages: list[str] = field(default_factory=list)  # every page's image when there are several

    @property
    def page_files(self) -> list[str]:
        """The document's page images in order (one for a one-page document)."""
        return list(self.pages) if self.pages else [self.file_name]

    @property
    def page_count(self) -> int:
        """How many pages the document has (its boxes' largest ``page`` + 1 before it is written)."""
        if self.pages:
            return len(self.pages)
        return 1 + max((b.page for b in [*self.words, *self.field_boxes]), default=0)

    def to_row(self) -> dict[str, Any]:
        """The ``metadata.jsonl`` row (JSON strings for the free-form parts)."""
        gt: dict[str, Any] = {"gt_parse": self.gt_parse}
        if self.gt_typed is not None:
            gt["gt_typed"] = self.gt_typed
        paged = len(self.pages) > 1
        return {
            "file_name": self.file_name,
            **({"pages": list(self.pages)} if paged else {}),
            "id": self.id,
            "split": self.split,
            "doc_type": self.doc_type,
            "ground_truth": json.dumps(gt, ensure_ascii=False, sort_keys=False),
            "words": [_box_row(w, paged) for w in self.words],
            "field_boxes": [_box_row(f, paged) for f in self.field_boxes],
            "meta": json.dumps(self.meta, ensure_ascii=False, sort_keys=True),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Sample:
        """Parse a ``metadata.jsonl`` row back into a record."""
        gt = row["ground_truth"]
        gt = json.loads(gt) if isinstance(gt, str) else gt
        meta = row.get("meta") or "{}"
        return cls(
            id=str(row["id"]),
            doc_type=row.get("doc_type", ""),
            split=row.get("split", "train"),
            gt_parse=gt.get("gt_parse", {}),
            gt_typed=gt.get("gt_typed"),
            words=[WordBox(w["text"], list(w["box"]), w.get("page") or 0) for w in row.get("words") or []],
            field_boxes=[FieldBox(f["path"], f["text"], list(f["box"]), f.get("page") or 0)
                         for f in row.get("field_boxes") or []],
            meta=json.loads(meta) if isinstance(meta, str) else meta,
            file_name=row.get("file_name", ""),
            pages=list(row.get("pages") or []),
        )

    def on_page(self, page: int) -> tuple[list[WordBox], list[FieldBox]]:
        """The word and field boxes of one page (0-based)."""
        return [w for w in self.words if w.page == page], [f for f in self.field_boxes if f.page == page]


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested JSON to dotted leaf paths: ``{"a": [{"b": 1}]}`` -> ``{"a.0.b": 1}``."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = obj
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted leaf paths back to nested JSON (the inverse of ``flatten``): ``{"a.0.b": 1}`` ->
    ``{"a": [{"b": 1}]}``. Numeric parts are list positions; a list keeps its items in index order."""
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        node, parts = tree, path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})  # lists are dicts by index here, made lists below
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):
            return [listify(node[k]) for k in sorted(node, key=int)]
        return {k: listify(v) for k, v in node.items()}

    return listify(tree)


def list_length(flat: dict[str, Any], list_path: str) -> int:
    """Items of list ``list_path`` in a flattened tree (``line_items`` -> how many rows)."""
    n = 0
    while any(k.startswith(f"{list_path}.{n}.") for k in flat):
        n += 1
    return n
