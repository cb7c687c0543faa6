"""Predictions in: a ``preds.jsonl`` file read into field dicts, and raw model text parsed to JSON.

A row is ``{"id": ..., "prediction": "<raw model text>"}`` (parsed here: code fences stripped,
the first JSON object taken) or ``{"id": ..., "fields": {...}}`` (used as it is).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder(strict=False)  # a raw newline in a value is still the answer, as the labeler reads it


def parse_prediction(text: str) -> dict[str, Any] | None:
    """The first JSON object in raw model text, or ``None`` when there is none.

    Code fences (```json ... ```) are looked into first, so prose around them is ignored; an
    unclosed fence (a generation cut off at the token limit) is read from its opening line.
    """
    if not isinstance(text, str):
        return None
    blocks = [m.group(1) for m in _FENCE.finditer(text)]
    if not blocks and "```" in text:
        blocks = [text.split("```", 1)[1].split("\n", 1)[-1]]
    for block in [*blocks, text]:
        found = _first_object(block)
        if found is not None:
            return found
    return None


def _first_object(text: str) -> dict[str, Any] | None:
    """The first ``{`` that decodes to an object; an object that starts as JSON (``{"key``) and then
    breaks (cut off, looping) ends the search: the objects inside it are its parts (a list item),
    not the answer."""
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as e:
            if text[start + 1:e.pos].strip():  # it got past its first key's opening quote: a broken answer
                return None
            start = text.find("{", start + 1)  # prose such as "{name}": look further
            continue
        except (ValueError, RecursionError):  # a number past int's digit limit, nesting too deep: both need a
            return None                        # key first, so the answer had begun and broke, as above
        if isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


@dataclass
class Prediction:
    """One predicted page: ``fields`` is ``None`` when the raw text held no JSON object."""

    id: str
    fields: dict[str, Any] | None
    raw: str | None = None
    latency_s: float | None = None


def prediction_from_row(row: dict[str, Any], where: str) -> Prediction:
    """A ``preds.jsonl`` row as a ``Prediction``; ``where`` (``file:line``) names it in errors."""
    if not isinstance(row, dict):
        raise UserError(f"{where}: expected a JSON object per line, got {type(row).__name__}")
    if "id" not in row:
        keys = ", ".join(repr(k) for k in list(row)[:10]) or "none"  # repr: a key may hold a newline
        raise UserError(f"{where}: row has no 'id' (keys: {keys})")
    latency = row.get("latency_s")
    if "fields" in row:
        fields = row["fields"]
        if fields is not None and not isinstance(fields, dict):
            raise UserError(f"{where}: 'fields' must be a JSON object, got {type(fields).__name__}")
        return Prediction(str(row["id"]), fields, None, latency)
    if "prediction" in row:
        raw = row["prediction"]
        raw = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        return Prediction(str(row["id"]), parse_prediction(raw), raw, latency)
    raise UserError(f"{where}: row has neither 'prediction' (raw text) nor 'fields' (a JSON object)")


def read_predictions(path: str | Path) -> dict[str, Prediction]:
    """Every row of a predictions JSONL file by id; a malformed line or a repeated id is an error."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: predictions file not found")
    out: dict[str, Prediction] = {}
    for lineno, raw_line in enumerate(p.read_bytes().splitlines(), 1):
        if not raw_line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            row = json.loads(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            raise UserError(f"{where}: not UTF-8 text; expected JSONL") from None
        except json.JSONDecodeError as e:
            raise UserError(f"{where}: not JSONL (one JSON object per line expected; {e.msg})") from None
        except (ValueError, RecursionError) as e:  # a number past int's digit limit, nesting too deep
            raise UserError(f"{where}: not JSONL ({str(e).split(';')[0]})") from None
        pred = prediction_from_row(row, where)
        if pred.id in out:
            raise UserError(f"{where}: id '{pred.id}' appears twice in the predictions")
        out[pred.id] = pred
    return out
