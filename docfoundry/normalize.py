"""Value normalization for the normalized exact match, chosen by a schema leaf's ``x-kind``.

Text is case- and whitespace-folded; amounts, numbers and percents become decimals; dates become
the set of calendar dates they can mean; ids become their digits. A value a kind-specific parser
cannot read falls back to folded text, so a wrong format is a mismatch, never a crash.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

_NUM_CHARS = re.compile(r"[^0-9.,\-()]")
_TOKENS = re.compile(r"\d+|[^\W\d_]+")

# Month names of the locales docfoundry generates (en, de, fr); first three letters are enough.
_MONTHS = {
    **{m: i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)},
    "mär": 3, "mai": 5, "okt": 10, "dez": 12,                                 # de
    "fév": 2, "fev": 2, "avr": 4, "jui": 7, "aoû": 8, "aou": 8, "déc": 12,    # fr ("juil.")
}
_FULL_MONTHS = {"juin": 6}  # the one name whose first three letters mean another month


def fold_text(value: Any) -> str:
    """Case-folded text with runs of whitespace collapsed to one space (``None`` is empty)."""
    return " ".join(("" if value is None else str(value)).split()).casefold()


def as_decimal(value: Any) -> Decimal | None:
    """``"$1,234.50"``, ``"1.234,50 €"``, ``"(12.00)"``, ``"19 %"`` as a ``Decimal``; ``None`` if unreadable.

    Separators: when both ``,`` and ``.`` occur the later one is the decimal point; a lone ``,``
    followed by one or two digits is a decimal comma, otherwise a thousands separator; several
    ``.`` are thousands separators.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip()
    negative = text.startswith("-") or text.endswith("-") or (text.startswith("(") and text.endswith(")"))
    s = _NUM_CHARS.sub("", text).strip("-()")
    if not s or not any(c.isdigit() for c in s):
        return None
    if "," in s and "." in s:
        decimal_sep = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = f"{head.replace(',', '')}.{tail}" if s.count(",") == 1 and len(tail) in (1, 2) else s.replace(",", "")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        number = Decimal(s)
    except InvalidOperation:
        return None
    return -number if negative else number


def _month(token: str) -> int | None:
    t = token.casefold()
    return _FULL_MONTHS.get(t) or _MONTHS.get(t[:3])


def _date(year: int, month: int, day: int) -> dt.date | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):  # a model's date can hold a number past C's int ("2018/99999999999/1")
        return None


def as_dates(value: Any) -> frozenset[dt.date] | None:
    """Every calendar date a printed date can mean (``03/04/2024`` is both 3 April and 4 March).

    Reads numeric dates in any order with a 4-digit year, ``YYYYMMDD``, 2-digit years, and en/de/fr
    month names (``12. März 2024``, ``Mar 12, 2024``). ``None`` when it is not a date.
    """
    if value is None:
        return None
    tokens = _TOKENS.findall(str(value))
    months = [m for m in (_month(t) for t in tokens if not t.isdigit()) if m]
    nums = [t for t in tokens if t.isdigit()]
    if len(nums) == 1 and len(nums[0]) == 8 and not months:
        n = nums[0]
        d = _date(int(n[:4]), int(n[4:6]), int(n[6:]))
        return frozenset([d]) if d else None
    candidates: set[dt.date | None] = set()
    if len(months) == 1 and len(nums) == 2:
        a, b = nums
        if len(a) == 4:
            candidates.add(_date(int(a), months[0], int(b)))
        else:
            candidates.add(_date(int(b), months[0], int(a)))
    elif not months and len(nums) == 3:
        a, b, c = nums
        if len(a) == 4:
            candidates.add(_date(int(a), int(b), int(c)))
        else:
            candidates |= {_date(int(c), int(a), int(b)), _date(int(c), int(b), int(a))}
    candidates.discard(None)
    return frozenset(candidates) or None  # type: ignore[arg-type]


def as_digits(value: Any) -> str:
    """An id as its digits (``"123-45-6789"`` -> ``"123456789"``); ids without digits keep their letters."""
    text = "" if value is None else str(value)
    digits = "".join(c for c in text if c.isdigit())
    return digits or "".join(c for c in text if c.isalnum()).casefold()


def _dates_equal(truth: Any, pred: Any) -> bool:
    t, p = as_dates(truth), as_dates(pred)
    if t is None:
        return fold_text(truth) == fold_text(pred)
    return p is not None and not t.isdisjoint(p)


def _decimals_equal(truth: Any, pred: Any) -> bool:
    t = as_decimal(truth)
    if t is None:
        return fold_text(truth) == fold_text(pred)
    return t == as_decimal(pred)


def _ids_equal(truth: Any, pred: Any) -> bool:
    return as_digits(truth) == as_digits(pred)


def _texts_equal(truth: Any, pred: Any) -> bool:
    return fold_text(truth) == fold_text(pred)


# x-kind -> comparison; kinds not listed here compare as folded text.
EQUAL_BY_KIND: dict[str, Callable[[Any, Any], bool]] = {
    "amount": _decimals_equal,
    "number": _decimals_equal,
    "percent": _decimals_equal,
    "date": _dates_equal,
    "id": _ids_equal,
}


@lru_cache(maxsize=65536)
def _cached_equal(truth: str, pred: str, kind: str) -> bool:
    return EQUAL_BY_KIND.get(kind, _texts_equal)(truth, pred)


def normalized_equal(truth: Any, pred: Any, kind: str = "text") -> bool:
    """Normalized exact match of one value: empty (``None``/blank) equals empty, whatever the kind."""
    t = "" if truth is None else str(truth)
    p = "" if pred is None else str(pred)
    if not t.strip() or not p.strip():
        return not t.strip() and not p.strip()
    if t == p:
        return True
    return _cached_equal(t, p, kind)
