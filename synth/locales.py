"""Locale knowledge for generation: Faker instances, CLDR formats (babel), tax rates, fallbacks.

Formats come from CLDR through babel, never from hand-written patterns. Where a Faker locale lacks
a provider or gives another country's value (``en_US`` IBANs are British), the fallback is
explicit and recorded in the sample's ``meta.fallbacks``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from docfoundry.errors import UserError

# Standard VAT / sales-tax rates a generator may apply, per territory (percent).
TAX_RATES: dict[str, tuple[str, ...]] = {
    "US": ("0", "4", "5", "6", "6.25", "7", "7.5", "8", "8.875", "9.5"),
    "GB": ("20", "5"),
    "DE": ("19", "7"),
    "FR": ("20", "10", "5.5"),
    "ES": ("21", "10"),
    "IT": ("22", "10"),
    "NL": ("21", "9"),
    "PT": ("23", "13"),
}
SUPPORTED = tuple(f"{lang}_{terr}" for lang, terr in (
    ("en", "US"), ("en", "GB"), ("de", "DE"), ("fr", "FR"), ("es", "ES"), ("it", "IT"),
    ("nl", "NL"), ("pt", "PT")))

# ReportLab's standard fonts encode WinAnsi (cp1252); other characters would print as boxes.
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "}


def printable(text: str) -> str:
    """Text the standard PDF fonts can print: odd spaces folded, other non-cp1252 chars transliterated."""
    for src, dst in _SPACES.items():
        text = text.replace(src, dst)
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        out = []
        for ch in text:
            try:
                ch.encode("cp1252")
                out.append(ch)
            except UnicodeEncodeError:
                out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "?")
        return "".join(out)


def check_locales(locales: list[str]) -> None:
    """Refuse a locale docfoundry has not checked (exit 2 with the list)."""
    bad = [loc for loc in locales if loc not in SUPPORTED]
    if bad:
        raise UserError(f"unsupported locale '{bad[0]}' (supported: {', '.join(SUPPORTED)})")


# Faker provider data built from a set, as (provider module, attribute): its order follows
# PYTHONHASHSEED, so a seeded draw from it would differ between processes. ``_faker`` sorts these;
# tests/test_hashseed_determinism.py compares every provider's data across hash seeds to find new ones.
SET_BUILT: tuple[tuple[str, str], ...] = (
    ("faker.providers.address.it_IT", "cities"),
)


@cache
def _faker(locale: str) -> Any:
    """The process's Faker for ``locale``, its set-built data put in a fixed (sorted) order."""
    from faker import Faker

    fake = Faker(locale)
    for provider in fake.providers:
        for module, attr in SET_BUILT:
            if type(provider).__module__ == module:
                setattr(provider, attr, sorted(getattr(provider, attr)))
    return fake


@dataclass
class Locale:
    """One sample's locale: a seeded Faker plus CLDR formatting; ``fallbacks`` records substitutions."""

    code: str
    seed: int
    fallbacks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fake = _faker(self.code)
        self.fake.seed_instance(self.seed)
        self.territory = self.code.split("_")[1]
        from babel.numbers import get_territory_currencies

        self.currency = get_territory_currencies(self.territory)[0]

    # --- values -----------------------------------------------------------------------------
    def provider(self, name: str, fallback_locale: str, reason: str) -> str:
        """``fake.<name>()``; where this locale lacks it, the fallback locale's, recorded."""
        if hasattr(self.fake, name) and not (name == "iban" and self.territory == "US"):
            return str(getattr(self.fake, name)())
        self.fallbacks.append(f"{name}: {reason}; used {fallback_locale}")
        other = _faker(fallback_locale)
        other.seed_instance(self.seed)
        return str(getattr(other, name)())

    def tax_id(self) -> str:
        """A VAT id where the locale has one; the US uses an EIN (no VAT there)."""
        if self.territory == "US":
            return self.fake.ein()
        return self.provider("vat_id", "en_GB", f"Faker {self.code} has no vat_id")

    def iban(self) -> str:
        return self.provider("iban", "en_GB", f"Faker {self.code} gives no local IBAN")

    # --- formatting (CLDR) ------------------------------------------------------------------
    def money(self, value: Decimal, symbol: bool = False) -> str:
        """An amount as this locale prints it, with or without the currency."""
        from babel.numbers import format_currency, format_decimal

        if symbol:
            return printable(format_currency(value, self.currency, locale=self.code))
        return printable(format_decimal(value, format="#,##0.00", locale=self.code))

    def number(self, value: Decimal | int, decimals: int = 0) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return printable(format_decimal(value, format=pattern, locale=self.code))

    def percent(self, rate: Decimal) -> str:
        """``19`` -> ``19%`` / ``19 %`` as the locale writes percentages."""
        from babel.numbers import format_percent

        return printable(format_percent(rate / 100, format="#,##0.###%", locale=self.code))

    def date(self, value: dt.date, style: str = "medium") -> str:
        from babel.dates import format_date

        return printable(format_date(value, style, locale=self.code))

    def time(self, value: dt.time) -> str:
        from babel.dates import format_time

        return printable(format_time(value, "short", locale=self.code))


def money_round(value: Decimal) -> Decimal:
    """Round to cents the way invoicing systems do (half up, not banker's rounding)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
