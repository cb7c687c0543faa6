"""How far each teacher field can be trusted: votes over K samples, token log-probabilities, and
grounding in the page's OCR text.

- Voting: the K answers are merged along the schema (lists take their most common length); a
  leaf's value is the largest group of answers that agree after normalization by its ``x-kind``,
  and its confidence is that group's share of K (an answer that failed counts against every field).
- Log-probabilities (one sample): a field's confidence is the probability of the tokens that
  spell its value, exp(sum of their log-probs): the same quantity a vote share estimates.
- Grounding: a value that cannot be found in the OCR text (fuzzy match, numbers compared as
  numbers) is ``ungrounded`` and its confidence is multiplied by a penalty.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from docfoundry.doctypes import NUMERIC_KINDS, DocType, path_pattern

MISSING = object()  # a sample that has no value at a path


# --- voting -------------------------------------------------------------------------------------

def _vote_leaf(values: list[Any], k: int, equal: Callable[[str, str], bool]) -> tuple[str, float]:
    groups: list[list[str]] = []
    for v in values:
        if v is MISSING or not isinstance(v, (str, int, float)) or isinstance(v, bool):
            continue
        v = str(v)
        for g in groups:
            if equal(g[0], v):
                g.append(v)
                break
        else:
            groups.append([v])
    if not groups:
        return "", 0.0
    best = max(groups, key=len)  # max keeps the first of equal-sized groups: the earliest sample
    value = Counter(best).most_common(1)[0][0]
    return value, len(best) / k


def _vote(node: dict[str, Any], values: list[Any], path: str, k: int, doc: DocType,
          confidence: dict[str, float]) -> Any:
    from docfoundry.normalize import normalized_equal

    t = node.get("type")
    if t == "object":
        return {key: _vote(child, [v.get(key, MISSING) if isinstance(v, dict) else MISSING for v in values],
                           f"{path}.{key}" if path else key, k, doc, confidence)
                for key, child in node.get("properties", {}).items()}
    if t == "array":
        lengths = Counter(len(v) for v in values if isinstance(v, list))
        n = max(lengths, key=lambda length: (lengths[length], -length)) if lengths else 0
        items = node.get("items", {})
        return [_vote(items, [v[i] if isinstance(v, list) and i < len(v) else MISSING for v in values],
                      f"{path}.{i}", k, doc, confidence) for i in range(n)]
    leaf = doc.leaf(path)
    kind = leaf.kind if leaf else "text"
    value, share = _vote_leaf(values, k, lambda a, b: normalized_equal(a, b, kind))
    confidence[path] = round(share, 4)
    return value


def vote(doc: DocType, answers: list[dict[str, Any] | None], k: int) -> tuple[dict[str, Any], dict[str, float]]:
    """Merge ``k`` parsed answers (``None`` for one that failed) into fields and a confidence per path."""
    confidence: dict[str, float] = {}
    fields = _vote(doc.schema, [a if a is not None else MISSING for a in answers], "", k, doc, confidence)
    return fields, confidence


# --- token log-probabilities --------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_DECODE = json.decoder.scanstring  # (text, index after the opening quote) -> (string, end)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _spans(text: str, i: int, path: str, out: dict[str, tuple[int, int]]) -> int:
    """Walk one JSON value at ``text[i]``, recording each scalar's character span by dotted path."""
    i = _skip_ws(text, i)
    c = text[i]
    if c == "{":
        i = _skip_ws(text, i + 1)
        if text[i] == "}":
            return i + 1
        while True:
            key, i = _DECODE(text, _skip_ws(text, i) + 1)
            i = _skip_ws(text, i) + 1  # the colon
            i = _spans(text, i, f"{path}.{key}" if path else key, out)
            i = _skip_ws(text, i)
            if text[i] == "}":
                return i + 1
            i += 1  # the comma
    if c == "[":
        i, n = _skip_ws(text, i + 1), 0
        if text[i] == "]":
            return i + 1
        while True:
            i = _skip_ws(text, _spans(text, i, f"{path}.{n}", out))
            n += 1
            if text[i] == "]":
                return i + 1
            i += 1
    if c == '"':
        _, end = _DECODE(text, i + 1)
        out[path] = (i, end)
        return end
    for literal in ("true", "false", "null"):
        if text.startswith(literal, i):
            out[path] = (i, i + len(literal))
            return i + len(literal)
    m = _NUMBER.match(text, i)
    if m is None:
        raise ValueError(f"unexpected {c!r} at {i}")
    out[path] = (m.start(), m.end())
    return m.end()


def value_spans(text: str) -> dict[str, tuple[int, int]]:
    """Character spans of every scalar of the first JSON object in ``text`` (empty if none parses)."""
    start = text.find("{")
    while start != -1:
        out: dict[str, tuple[int, int]] = {}
        try:
            _spans(text, start, "", out)
            return out
        except (ValueError, IndexError, json.JSONDecodeError):
            start = text.find("{", start + 1)
    return {}


def logprob_confidence(text: str, tokens: list[tuple[str, float]], paths: list[str]) -> dict[str, float]:
    """Confidence of each path's value: exp(sum of the log-probs of the tokens that overlap its span).

    When the tokens do not spell ``text`` exactly (byte-level pieces), every path gets the mean
    token probability of the answer instead.
    """
    if not tokens:
        return {}
    if "".join(t for t, _ in tokens) != text:
        mean = math.exp(sum(lp for _, lp in tokens) / len(tokens))
        return {p: round(mean, 4) for p in paths}
    starts, pos = [], 0
    for t, _ in tokens:
        starts.append(pos)
        pos += len(t)
    spans = value_spans(text)
    out = {}
    for p in paths:
        if p not in spans:
            continue
        a, b = spans[p]
        total = sum(lp for (t, lp), s in zip(tokens, starts) if s < b and s + len(t) > a)
        out[p] = round(math.exp(total), 4)
    return out


# --- grounding ----------------------------------------------------------------------------------

class Grounder:
    """Checks values against one page's OCR text."""

    def __init__(self, ocr_text: str) -> None:
        from docfoundry.normalize import as_decimal, fold_text

        self.text = fold_text(ocr_text)
        self.squashed = self.text.replace(" ", "")
        pieces = set(ocr_text.split()) | set(ocr_text.splitlines())
        pieces |= {m.group(0) for m in re.finditer(r"\d[\d.,' ]*\d|\d", ocr_text)}
        self.numbers = {d for d in map(as_decimal, pieces) if d is not None}

    def score(self, value: str, kind: str) -> float:
        """1.0 when every printed line of ``value`` is on the page; lower the fuzzier the best match."""
        from rapidfuzz import fuzz

        from docfoundry.normalize import as_decimal, fold_text

        lines = [fold_text(line) for line in str(value).splitlines() if line.strip()]
        if not lines:
            return 1.0
        scores = []
        for line in lines:
            if kind in NUMERIC_KINDS and as_decimal(line) is not None and as_decimal(line) in self.numbers:
                scores.append(100.0)
                continue
            scores.append(max(fuzz.partial_ratio(line, self.text),
                              fuzz.partial_ratio(line.replace(" ", ""), self.squashed)))
        return round(min(scores) / 100, 4)


def ground(doc: DocType, flat: dict[str, Any], ocr_text: str) -> dict[str, float]:
    """Grounding score (0..1) of each non-empty leaf value in ``flat`` (dotted paths)."""
    grounder = Grounder(ocr_text)
    out = {}
    for path, value in flat.items():
        if value in ("", None):
            continue
        leaf = doc.leaf_map.get(path_pattern(path))
        out[path] = grounder.score(str(value), leaf.kind if leaf else "text")
    return out
