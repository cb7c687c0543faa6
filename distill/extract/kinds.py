"""A candidate value checked and cut to its schema ``x-kind`` (amount, date, ...)."""

from __future__ import annotations

import re

from distill.spans import value_span


def _has_digit(v: str) -> bool:
    return any(c.isdigit() for c in v)


def _is_amount(v: str) -> bool:
    from docfoundry.normalize import as_decimal

    letters = sum(c.isalpha() for c in v)
    if re.search(r"\d\s?[/:]\s?\d", v):
        return False  # a date or a time, not an amount
    if letters and not re.search(r"\d[.,]\d", v):
        return False  # "FT8303" is a code; an amount with a currency glued to it has decimals
    digits = re.sub(r"\D", "", v.split(".")[0].split(",")[0])
    if re.fullmatch(r"0\d{2,}", digits) or len(digits) > 9:
        return False  # "001032994816" is an id
    return _has_digit(v) and letters <= 3 and as_decimal(v) is not None


def _is_date(v: str) -> bool:
    from distill.spans import compact_date, word_date
    from docfoundry.normalize import as_dates

    return _has_digit(v) and (as_dates(v) is not None or word_date(v) or (
        v.strip().isdigit() and len(v.strip()) == 8 and compact_date(v.strip())))


KIND_CHECKS = {
    "amount": lambda v: _is_amount(v) and "%" not in v,
    "number": lambda v: _is_amount(v) and sum(c.isalpha() for c in v) == 0,
    "percent": lambda v: _is_amount(v) and ("%" in v or len(v) <= 6),
    "date": _is_date,
    "time": lambda v: re.search(r"\d{1,2}[:.h]\d{2}", v) is not None,
    "id": lambda v: len(v.strip()) >= 3 and sum(c.isdigit() for c in v) >= 2,
    "code": lambda v: re.fullmatch(r"[A-Z0-9]{1,4}", v.strip()) is not None,
    "check": lambda v: 0 < len("".join(v.split())) <= 2 and not _has_digit(v),  # a mark: "X", "x", a ticked box
    "text": lambda v: any(c.isalpha() for c in v),
}


def kind_ok(kind: str, value: str) -> bool:
    """Does ``value`` look like a value of ``kind``?"""
    return bool(value.strip()) and KIND_CHECKS.get(kind, KIND_CHECKS["text"])(value)


def as_kind(kind: str, value: str) -> str | None:
    """``value`` cut to the ``kind`` value printed in it, or ``None`` when it holds none."""
    span = value_span(kind, value)
    return span if span is not None and kind_ok(kind, span) else None
