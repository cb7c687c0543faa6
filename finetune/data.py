"""Training data: one or more instruction folders, weighted into one mix, with a held-out split.

    docfoundry train --data data/instr --data data/teacher-instr:0.5 --student S --out runs/a

An instruction folder is what ``docfoundry instruct`` writes: ``images/`` plus ``conversations.jsonl``
with one conversation per image (the image belongs to the first user turn). ``DIR:weight`` scales a
folder's share: 2 uses every conversation twice, 0.5 a seeded half. The validation split is taken
per folder before weighting (by a hash of the id), so no validation conversation is ever trained on.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docfoundry.errors import BadItem, UserError

ROWS = "conversations.jsonl"
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Source:
    """One instruction folder and its weight in the mix."""

    folder: Path
    weight: float = 1.0


@dataclass
class Conversation:
    """One image (or a document's page images) and its chat turns (plain-text contents; the images go
    with the first user turn)."""

    id: str
    image: Path
    messages: list[dict[str, str]]
    source: str
    ocr: list[dict[str, Any]] | None = None  # per image {"size": [w, h], "lines": [{"text", "box"}]} (instruct --ocr-context)
    more: list[Path] = field(default_factory=list)  # a document's later pages, in order

    @property
    def images(self) -> list[Path]:
        """Every image of the conversation, the first page first."""
        return [self.image, *self.more]


@dataclass
class Mix:
    """The conversations to train and validate on, and what was used from each folder."""

    train: list[Conversation]
    validation: list[Conversation]
    sources: list[dict[str, Any]] = field(default_factory=list)
    ocr_context: str = "none"    # the folders' own setting (``instruct --ocr-context``), never a train flag
    ocr_max_tokens: int = 0


def parse_source(text: str) -> Source:
    """``DIR`` or ``DIR:weight`` (a weight is a non-negative number after the last colon)."""
    folder, sep, weight = text.rpartition(":")
    if sep and folder:
        try:
            value = float(weight)
        except ValueError:
            return Source(Path(text))  # a colon that is part of the path
        if value < 0:
            raise UserError(f"--data {text}: the weight must be >= 0")
        return Source(Path(folder), value)
    return Source(Path(text))


def _message_error(row: dict[str, Any]) -> str | None:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return "no messages"
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return "a message is not {role: system|user|assistant, content: text}"
    if not any(m["role"] == "user" for m in messages):
        return "no user turn"
    if not any(m["role"] == "assistant" and m["content"].strip() for m in messages):
        return "no assistant turn"
    return None


def ocr_setting(folder: Path) -> tuple[str, int]:
    """(ocr_context, ocr_max_tokens) an instruction folder was made with (its ``run.json``)."""
    from docfoundry.chat import DEFAULT_OCR_MAX_TOKENS
    from docfoundry.store import read_run_info

    config = read_run_info(folder).get("config") or {}
    return str(config.get("ocr_context", "none")), int(config.get("ocr_max_tokens", DEFAULT_OCR_MAX_TOKENS))


def common_ocr_setting(folders: list[Path]) -> tuple[str, int]:
    """The one OCR context of every folder of a mix: a student is trained on one prompt layout."""
    settings = {folder: ocr_setting(folder) for folder in folders}
    if len(set(settings.values())) > 1:
        shown = ", ".join(f"{f} has {m}" + (f" (cap {c})" if m != "none" else "") for f, (m, c) in settings.items())
        raise UserError(f"--data: the folders were made with different --ocr-context settings ({shown}); "
                        "make them with the same `docfoundry instruct --ocr-context`")
    return next(iter(settings.values()), ("none", 0))


def read_folder(folder: Path, needs_ocr: bool = False) -> tuple[list[Conversation], Counter[str]]:
    """The usable conversations of one folder, and counts of the rows skipped (by reason);
    ``needs_ocr``: a row without its OCR lines is skipped too."""
    from docfoundry.paths import inside
    from docfoundry.store import iter_rows

    rows_file = folder / ROWS
    if not rows_file.is_file():
        raise UserError(f"{folder}: no {ROWS} here (make an instruction folder with `docfoundry instruct`)")
    convs: list[Conversation] = []
    skipped: Counter[str] = Counter()
    for row in iter_rows(folder, ROWS):
        problem = _message_error(row)
        images = row.get("images") or []
        if problem is None and (not isinstance(images, list) or not images):
            problem = "no image"
        if problem is None and needs_ocr and len(row.get("ocr") or []) != len(images):
            problem = "no OCR lines"
        if problem is not None:
            skipped[problem] += 1
            continue
        try:  # a document's conversation has one image per page
            paths = [inside(folder, str(image), f"{rows_file} row {row.get('id', '')}: image") for image in images]
        except BadItem:
            skipped["image path outside the folder"] += 1
            continue
        if not all(p.is_file() for p in paths):
            skipped["missing image"] += 1
            continue
        convs.append(Conversation(str(row.get("id", len(convs))), paths[0], row["messages"], folder.name,
                                  row.get("ocr") if needs_ocr else None, paths[1:]))
    if not convs:
        reasons = ", ".join(f"{n} with {why}" for why, n in skipped.most_common()) or "no rows"
        raise UserError(f"{rows_file}: no conversation to train on ({reasons}); every row needs an image, "
                        "a user turn and an assistant answer")
    return convs, skipped


def _held_out(conv_id: str, share: float, seed: int) -> bool:
    from docfoundry.seeds import unit

    return unit(seed, conv_id, "validation") < share


def weighted(convs: list[Conversation], weight: float, rng: random.Random) -> list[Conversation]:
    """Each conversation ``int(weight)`` times, plus a seeded sample for the fraction."""
    whole, frac = int(weight), weight - int(weight)
    out = convs * whole
    if frac > 0:
        out += rng.sample(convs, round(frac * len(convs)))
    return out


def build_mix(data: list[str], val_data: list[str], val_share: float, seed: int) -> Mix:
    """Read every folder, hold out the validation share, apply the weights, shuffle the training rows."""
    rng = random.Random(seed)
    mode, cap = common_ocr_setting([parse_source(d).folder for d in [*data, *val_data]])
    mix = Mix([], [], ocr_context=mode, ocr_max_tokens=cap)
    for source in map(parse_source, data):
        convs, skipped = read_folder(source.folder, mode != "none")
        out = [not val_data and _held_out(c.id, val_share, seed) for c in convs]
        held = [c for c, o in zip(convs, out) if o]
        kept = [c for c, o in zip(convs, out) if not o]
        used = weighted(kept, source.weight, rng)
        mix.train += used
        mix.validation += held
        mix.sources.append({"folder": str(source.folder), "weight": source.weight, "conversations": len(convs),
                            "train": len(used), "validation": len(held), "skipped": dict(skipped)})
    for source in map(parse_source, val_data):
        convs, skipped = read_folder(source.folder, mode != "none")
        mix.validation += convs
        mix.sources.append({"folder": str(source.folder), "weight": 0.0, "conversations": len(convs),
                            "train": 0, "validation": len(convs), "skipped": dict(skipped)})
    if not mix.train:
        raise UserError("--data: the weights leave no conversation to train on")
    rng.shuffle(mix.train)
    total = len(mix.train)
    for s in mix.sources:
        s["share"] = round(s["train"] / total, 4)
    return mix
