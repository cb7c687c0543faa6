"""Locale knowledge for generation: Faker instances, CLDR formats (babel), tax regimes, fallbacks.

Formats come from CLDR through babel (its styles, or CLDR date patterns such as ``dd-MM-yy`` for
what till systems print), never from hand-written formatting code. Where a Faker locale lacks a
provider or gives another country's value (``en_US`` IBANs are British, ``en_MS`` phone numbers
and company forms American), the fallback is explicit: recorded in the sample's
``meta.fallbacks``, or a local table here (legal forms, phone patterns, GST / SST ids, GSTINs).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from docfoundry.errors import UserError


@dataclass(frozen=True)
class TaxRegime:
    """A territory's consumption tax from a date on: its printed name and the rates a page may apply (percent)."""

    name: str
    rates: tuple[str, ...]
    since: dt.date = dt.date.min


# Per territory, oldest first. A receipt dated before a change pays the regime then in force
# (Malaysia: GST 6% from 2015, a 0% tax holiday in mid 2018, then SST; India: VAT, then GST 2017).
TAX_REGIMES: dict[str, tuple[TaxRegime, ...]] = {
    "US": (TaxRegime("Sales Tax", ("0", "4", "5", "6", "6.25", "7", "7.5", "8", "8.875", "9.5")),),
    "GB": (TaxRegime("VAT", ("20", "5")),),
    "DE": (TaxRegime("VAT", ("19", "7")),),
    "FR": (TaxRegime("VAT", ("20", "10", "5.5")),),
    "ES": (TaxRegime("VAT", ("21", "10")),),
    "IT": (TaxRegime("VAT", ("22", "10")),),
    "NL": (TaxRegime("VAT", ("21", "9")),),
    "PT": (TaxRegime("VAT", ("23", "13")),),
    "MY": (TaxRegime("GST", ("6",), dt.date(2015, 4, 1)), TaxRegime("GST", ("0",), dt.date(2018, 6, 1)),
           TaxRegime("SST", ("6", "10"), dt.date(2018, 9, 1)), TaxRegime("SST", ("8", "10"), dt.date(2024, 3, 1))),
    "IN": (TaxRegime("VAT", ("5", "12.5", "14.5")), TaxRegime("GST", ("5", "12", "18", "28"), dt.date(2017, 7, 1))),
}
# The rates in force today, per territory (invoices draw from these).
TAX_RATES: dict[str, tuple[str, ...]] = {t: regimes[-1].rates for t, regimes in TAX_REGIMES.items()}
# Cash totals are rounded to this step where coins below it are gone (Malaysia since 2008).
CASH_ROUNDING: dict[str, str] = {"MY": "0.05", "NL": "0.05"}


def tax_regime(territory: str, when: dt.date) -> TaxRegime:
    """The regime in force in ``territory`` on ``when``."""
    regimes = TAX_REGIMES[territory]
    return next((r for r in reversed(regimes) if r.since <= when), regimes[0])


SUPPORTED = tuple(f"{lang}_{terr}" for lang, terr in (
    ("en", "US"), ("en", "GB"), ("de", "DE"), ("fr", "FR"), ("es", "ES"), ("it", "IT"),
    ("nl", "NL"), ("pt", "PT"), ("en", "MS"), ("en", "IN")))
# Faker locale -> CLDR locale where they differ: Faker's en_MS is Malaysia (CLDR MY; MS is Montserrat).
CLDR_LOCALE: dict[str, str] = {"en_MS": "en_MY"}
# Territories without IBANs: a page asking for one gets a British one, recorded as a fallback.
NO_IBAN = ("US", "MY", "IN")

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


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


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
    territory = CLDR_LOCALE.get(locale, locale).split("_")[1]
    for provider in fake.providers:
        for module, attr in SET_BUILT:
            if type(provider).__module__ == module:
                setattr(provider, attr, sorted(getattr(provider, attr)))
        if hasattr(provider, "current_country_code") and locale in CLDR_LOCALE:
            # Faker reads the country from the locale name: en_MS would be Montserrat, which it lacks
            provider.current_country_code = lambda territory=territory: territory
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
        self.cldr = CLDR_LOCALE.get(self.code, self.code)
        self.territory = self.cldr.split("_")[1]
        from babel.numbers import get_territory_currencies

        self.currency = get_territory_currencies(self.territory)[0]

    # --- values -----------------------------------------------------------------------------
    def provider(self, name: str, fallback_locale: str, reason: str) -> str:
        """``fake.<name>()``; where this locale lacks it, the fallback locale's, recorded."""
        if hasattr(self.fake, name) and not (name == "iban" and self.territory in NO_IBAN):
            return str(getattr(self.fake, name)())
        self.fallbacks.append(f"{name}: {reason}; used {fallback_locale}")
        other = _faker(fallback_locale)
        other.seed_instance(self.seed)
        return str(getattr(other, name)())

    def tax_id(self, when: dt.date | None = None) -> str:
        """A VAT id where the locale has one; the US uses an EIN (no VAT there); Malaysia and India
        their GST / SST ids (in force on ``when``, default the latest), which Faker does not make."""
        if self.territory == "US":
            return self.fake.ein()
        if self.territory in LOCAL_TAX_IDS:
            regime = tax_regime(self.territory, when or dt.date.max)
            return LOCAL_TAX_IDS[self.territory](self.fake, regime.name)
        return self.provider("vat_id", "en_GB", f"Faker {self.code} has no vat_id")

    def iban(self) -> str:
        return self.provider("iban", "en_GB", f"Faker {self.code} gives no local IBAN")

    def company(self, trade: str = "") -> str:
        """A business name: Faker's, or where its legal forms are another country's, a local one
        (a surname, the ``trade`` words, a local legal form)."""
        forms = LEGAL_FORMS.get(self.territory)
        if not forms:
            return self.fake.company()
        return " ".join(p for p in (self.fake.last_name(), trade, self.fake.random_element(forms)) if p)

    def phone(self) -> str:
        """A phone number as printed in the territory."""
        patterns = PHONE_PATTERNS.get(self.territory)
        return self.fake.numerify(self.fake.random_element(patterns)) if patterns else self.fake.phone_number()

    def company_number(self) -> str | None:
        """A company registration number where the territory prints one on receipts, else None."""
        patterns = COMPANY_NUMBERS.get(self.territory)
        if not patterns:
            return None
        return self.fake.bothify(self.fake.random_element(patterns), letters="ABCDEFGHKLMNPTUVWX")

    # --- formatting (CLDR) ------------------------------------------------------------------
    def money(self, value: Decimal, symbol: bool = False) -> str:
        """An amount as this locale prints it, with or without the currency."""
        from babel.numbers import format_currency, format_decimal, get_currency_symbol

        if symbol:
            text = format_currency(value, self.currency, locale=self.cldr)
            if not _encodable(get_currency_symbol(self.currency, locale=self.cldr)):  # INR: the ISO code
                text = format_currency(value, self.currency, format="\xa4\xa4 #,##0.00", locale=self.cldr)
            return printable(text)
        return printable(format_decimal(value, format="#,##0.00", locale=self.cldr))

    def number(self, value: Decimal | int, decimals: int = 0) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return printable(format_decimal(value, format=pattern, locale=self.cldr))

    def percent(self, rate: Decimal) -> str:
        """``19`` -> ``19%`` / ``19 %`` as the locale writes percentages."""
        from babel.numbers import format_percent

        return printable(format_percent(rate / 100, format="#,##0.###%", locale=self.cldr))

    def date(self, value: dt.date, style: str = "medium") -> str:
        """A date in a CLDR style (``short``, ``medium``) or a CLDR pattern (``dd-MM-yy``)."""
        from babel.dates import format_date

        return printable(format_date(value, style, locale=self.cldr))

    def time(self, value: dt.time, style: str = "short") -> str:
        """A time of day in a CLDR style (``short``) or a CLDR pattern (``HH:mm:ss``)."""
        from babel.dates import format_time

        return printable(format_time(value, style, locale=self.cldr))


# --- local business details where Faker gives another country's -------------------------------

# Legal forms printed after business names (Faker's en_MS and en_IN companies end in "Inc", "LLC").
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "MY": ("SDN BHD", "SDN. BHD.", "SDN BHD", "BHD", "ENTERPRISE", "TRADING", "(M) SDN BHD", "PLT"),
    "IN": ("PVT LTD", "PVT. LTD.", "PRIVATE LIMITED", "LLP", "& SONS", "& CO."),
}
# Phone numbers as printed locally (Faker's en_MS ones are American); numerify patterns.
PHONE_PATTERNS: dict[str, tuple[str, ...]] = {
    "MY": ("03-#### ####", "0%-### ####", "01%-### ####", "0%-#######", "03-########"),
    "IN": ("+91 %#### #####", "0%#-#### ####", "%#########", "0%#-########"),
}
# Company registration numbers (not tax ids), printed under the name; bothify patterns.
COMPANY_NUMBERS: dict[str, tuple[str, ...]] = {
    "MY": ("######-?", "#######-?", "20##01######"),
    "IN": ("U#####??20##PTC######", "L#####??19##PLC######"),
    "GB": ("0#######", "SC######"),
}


# --- local tax ids Faker does not make (formats as printed on receipts and invoices) -------------

def _my_tax_id(fake: Any, tax: str) -> str:
    """Malaysia: a 12-digit GST id, or an SST registration ``W10-1808-32000123`` (branch, yymm, serial)."""
    if tax == "GST":
        return fake.numerify("000#########")
    return fake.bothify("?##-####-########", letters="BJKW")


_GSTIN_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def gstin_check(body: str) -> str:
    """The check character of a 14-character GSTIN body (base-36 weights 1, 2, 1, 2, ...)."""
    total = 0
    for i, ch in enumerate(body):
        product = _GSTIN_CHARS.index(ch) * (2 if i % 2 else 1)
        total += product // 36 + product % 36
    return _GSTIN_CHARS[(36 - total % 36) % 36]


def _in_tax_id(fake: Any, tax: str) -> str:
    """India: a GSTIN (state, PAN, entity, Z, check) under GST; a 11-digit TIN under VAT."""
    if tax != "GST":
        return fake.numerify("###########")
    body = f"{fake.random_int(1, 37):02d}" + fake.lexify("?????", "ABCDEFGHIJKLMNOPQRSTUVWXYZ") \
        + fake.numerify("####") + fake.lexify("?", "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + str(fake.random_int(1, 9)) + "Z"
    return body + gstin_check(body)


LOCAL_TAX_IDS: dict[str, Any] = {"MY": _my_tax_id, "IN": _in_tax_id}


def money_round(value: Decimal) -> Decimal:
    """Round to cents the way invoicing systems do (half up, not banker's rounding)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
