"""What a printed line or value is, without a schema: the generic reading knowledge of the OCR teacher.

  - ``value_span(kind, text)``: the part of ``text`` that is a value of ``kind``, as printed (the
    date of "25/12/2018 8:13:39 PM", the amount of "RM 30.90", the time of "Time: 14:05");
  - ``line_classes(text)``: what a line is besides text (a registration/tax id, a phone number,
    an e-mail address, a web address, a date, a time, an amount): a schema names the classes a
    field's lines are never (``x-not-lines``), e.g. an address is never an id or a phone line;
  - ``legal_form(text)``: does a line end in a company's legal form ("Ltd", "GmbH", "Sdn Bhd")?
    A business name is recognised by it, by position and by size (``distill.extract``);
  - ``street_word(text)``: does a line name a thoroughfare or a premises ("Road", "Jalan", "Rue",
    "Floor", "Mall"), an address line without a number or a comma of its own.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Month names (en/de/fr/es/it/nl/ms, as printed or abbreviated) that may stand in a date.
_MONTH_WORDS = (
    "january february march april may june july august september october november december "
    "januar februar märz maerz juni juli oktober dezember janvier février fevrier mars avril mai juin "
    "juillet août aout septembre octobre novembre décembre decembre enero febrero marzo abril mayo "
    "junio julio agosto septiembre setiembre octubre noviembre diciembre gennaio febbraio aprile "
    "maggio giugno luglio settembre ottobre dicembre januari februari maart mei augustus ogos disember "
    "mac jun julai mrt okt ott ago giu lug set dic"
).split()


def strip_accents(text: str) -> str:
    """``"INVOICÉ"`` -> ``"INVOICE"`` (OCR adds accents that were never printed)."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# month numbers of the names above (for validating a date eval's parser does not read)
_MONTH_NUMBERS = {
    1: "january januar janvier enero gennaio januari jan", 2: "february februar février fevrier febrero febbraio februari feb",
    3: "march märz maerz mars marzo maart mrt mac mar", 4: "april avril abril aprile apr", 5: "may mai mayo maggio mei",
    6: "june juni juin junio giugno jun", 7: "july juli juillet julio luglio julai jul",
    8: "august août aout agosto augustus ogos aug", 9: "september septembre septiembre setiembre settembre sep sept",
    10: "october oktober octobre octubre ottobre okt oct", 11: "november novembre noviembre nov",
    12: "december dezember décembre decembre diciembre dicembre disember dez dec dic",
}


def month_number(word: str) -> int | None:
    """The month a (possibly abbreviated) month name means, or ``None``: "ott" and "ottobre" are 10."""
    w = word.casefold().rstrip(".")
    if len(w) < 3:
        return None
    hits = {n for n, names in _MONTH_NUMBERS.items() for name in names.split()
            if name == w or (len(w) >= 3 and name.startswith(w) and len(name) > 3)}
    return hits.pop() if len(hits) == 1 else None


def word_date(text: str) -> bool:
    """Is ``text`` a day, a month name and a year ("24 ott 2019", "13 mrt 2020", "Mar 12, 2024")?"""
    import datetime as dt

    t = " ".join(text.split())
    for pattern in _WORD_DATES:
        m = pattern.fullmatch(t.rstrip(" ,."))
        if not m:
            continue
        word = next(g for g in m.groups() if not g[0].isdigit())
        nums = [g for g in m.groups() if g[0].isdigit()]
        month = month_number(word)
        if month is None:
            continue
        day, year = (int(nums[0]), int(nums[1])) if len(nums[1]) in (2, 4) else (int(nums[1]), int(nums[0]))
        year += 2000 if year < 70 else (1900 if year < 100 else 0)
        try:
            return bool(dt.date(year, month, day))
        except ValueError:
            return False
    return False


def _is_month(word: str) -> bool:
    w = word.casefold().rstrip(".")
    if len(w) < 3:
        return False
    return any(m.startswith(w) if len(w) <= 4 else (m == w or (len(w) >= 4 and m.startswith(w)))
               for m in _MONTH_WORDS)


_NUMERIC_DATE = re.compile(
    r"(?<![\d/])(?:\d{4}([./-])\d{1,2}\1\d{1,2}|\d{1,2}([./-])\s?\d{1,2}\2\s?(?:\d{4}|\d{2}))"
    r"(?![.,]?\d{1,2}\b(?![:.]))")
# a date glued to a number before it ("#1953600" + "01/06/2018"): two-digit day, four-digit year
_GLUED_DATE = re.compile(r"(?<=\d)\d{2}([./-])\d{1,2}\1\d{4}(?!\d)")
# eight digits alone: YYYYMMDD or DDMMYYYY
_COMPACT_DATE = re.compile(r"(?<![\d])\d{8}(?![\d])")
_WORD = r"[^\W\d_]{3,10}\.?"
_WORD_DATES = [
    re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\.?[\s\-/]*({_WORD})[\s\-/,.]*(\d{{4}}|\d{{2}})(?!\d)"),
    re.compile(rf"(?<![^\W\d_])({_WORD})[\s\-/]*(\d{{1,2}})(?:st|nd|rd|th)?,?[\s\-/]*(\d{{4}})(?!\d)"),
]
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])\s?[:.h]\s?[0-5]\d(?:\s?[:.]\s?[0-5]\d)?(?:\s?[AaPp]\.?\s?[Mm]\.?)?(?!\d)")
# an amount: digits with thousands separators and decimals, an optional sign and a currency
# symbol or code written against it ("$8.20", "RM9.90", "12,50€"); a code set apart is not kept
_AMOUNT = re.compile(
    r"(?<![\w.,])-?(?:[^\W\d_]{1,3}|[$€£¥₹₩])?-?\d{1,3}(?:[,.' ]\d{3})*(?:[.,]\d{1,2})?(?:[$€£¥₹₩%])?(?![\w])"
    r"|(?<![\w.,])-?(?:[^\W\d_]{1,3}|[$€£¥₹₩])?-?\d+(?:[.,]\d{1,2})?(?:[$€£¥₹₩%])?(?![\w])")


def date_span(text: str) -> str | None:
    """The first date printed in ``text``, as printed (without a time after it), or ``None``."""
    from docfoundry.normalize import as_dates

    found: list[tuple[int, str]] = []
    for m in _NUMERIC_DATE.finditer(text):
        if as_dates(m.group(0)):
            found.append((m.start(), m.group(0)))
            break
    if not found:
        for m in _GLUED_DATE.finditer(text):
            if as_dates(m.group(0)):
                found.append((m.start(), m.group(0)))
                break
    for m in _COMPACT_DATE.finditer(text):
        if compact_date(m.group(0)):
            found.append((m.start(), m.group(0)))
            break
    for pattern in _WORD_DATES:
        for m in pattern.finditer(text):
            word = next(g for g in m.groups() if not g[0].isdigit())
            if _is_month(word) and (as_dates(m.group(0)) or word_date(m.group(0))):
                found.append((m.start(), m.group(0).rstrip(" ,")))
                break
    return min(found)[1] if found else None


def compact_date(digits: str) -> bool:
    """Is an 8-digit run a date from 1990 to 2049, as YYYYMMDD or DDMMYYYY?"""
    import datetime as dt

    for y, m, d in ((digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2])):
        try:
            if 1990 <= int(y) < 2050 and dt.date(int(y), int(m), int(d)):
                return True
        except ValueError:
            continue
    return False


def time_span(text: str) -> str | None:
    """The first time of day printed in ``text`` ("14:05", "8:13:39 PM"), or ``None``."""
    date = date_span(text)
    if date:  # "12.03.24" is a date, not 12:03
        text = text.replace(date, " ")
    for m in _TIME.finditer(text):
        return m.group(0)
    return None


def _time_or_day_month(a: int, b: int, colon: bool) -> bool:
    """Could ``a:b`` be a time of day, or ``a-b`` a day and a month (either order)?"""
    if colon:
        return a < 24 and b < 60
    return 1 <= min(a, b) and ((a <= 31 and b <= 12) or (a <= 12 and b <= 31))


def amount_span(text: str) -> str | None:
    """The amount that ends ``text`` (a currency sign written against it kept; after it at most a
    short code: "RM 9.00", "12.50 EUR", "4.20 T"), or ``None``: "GST @6% 9.00" is 9.00, "@6 00%:" none.

    A number with a decimal part wins over a bare integer ("1 X 4.62" is 4.62; "Qty 5" is 5).
    """
    from docfoundry.normalize import as_decimal

    text = re.sub(r"(\d[.,]\d{2})([^\W\d_])\b", r"\1 \2", text)  # "48.00x", "2.45S": a tax code glued to it
    slip = re.fullmatch(r"\s*(-?\d{1,4})[-:](\d{2})\s*", text)
    if slip and not _time_or_day_month(int(slip.group(1).lstrip("-")), int(slip.group(2)), ":" in text):
        return f"{slip.group(1)}.{slip.group(2)}"  # "28-90", "28:90": OCR read the decimal point as a dash or colon
    lost_point = re.search(r"(?<![\d.,])\d{1,4} \d{2}\s*$", text)
    if lost_point and not re.search(r"\d[.,]\d{2}", text):
        return lost_point.group(0).strip()  # "10 00": OCR read the decimal point as a space
    found = [(m.group(0).strip(), m.end()) for m in _AMOUNT.finditer(text)]
    found = [(s, end) for s, end in found
             if any(c.isdigit() for c in s) and "%" not in s and as_decimal(s) is not None]
    if not found:
        return None
    decimal = [f for f in found if re.search(r"\d[.,]\d{1,2}\D*$", f[0])]
    value, end = (decimal or found)[-1]
    tail = text[end:]
    if any(c.isdigit() for c in tail) or len(re.findall(r"[^\W\d_]+", tail)) > 1 \
            or any(len(w) > 3 for w in re.findall(r"[^\W\d_]+", tail)):
        return None
    return value


def value_span(kind: str, text: str) -> str | None:
    """The part of ``text`` that is a value of ``kind`` (``None``: no such part; other kinds: the text)."""
    text = " ".join(text.split())
    if kind == "date":
        return date_span(text)
    if kind == "time":
        return time_span(text)
    if kind == "amount":
        return amount_span(text)
    return text.strip(" :") or None


# OCR's glyph confusions, undone where the neighbours say which was printed
_GLYPH_FIXES = (
    (re.compile(r"(?<=[A-Za-z])1(?=[a-z])"), "l"),      # "J1n" -> "Jln"
    (re.compile(r"(?<=\d)[lI](?=\d)"), "1"),           # "7/1l8B" -> "7/118B"
    (re.compile(r"(?<=\d)O(?=\d)|(?<=\d\d)O(?![^\W\d_])"), "0"),  # "1O5" -> "105", "4380O" -> "43800"
    (re.compile(r"(?<=[A-Z])0(?=[A-Z]{2})|(?<=[A-Z]{2})0(?=[A-Z])"), "O"),  # "J0HOR" -> "JOHOR"
)


def fix_glyphs(text: str) -> str:
    """A text value with the digit/letter slips OCR makes inside words undone: a one between
    lower-case letters is an "l", an "l", "I" or "O" between digits is a digit, a zero inside an
    upper-case word an "O", an "i" that makes a street word of five letters or more an "l" ("Jaian")."""
    for pattern, glyph in _GLYPH_FIXES:
        text = pattern.sub(glyph, text)
    return _LONG_WORD.sub(lambda m: _street_respelt(m.group(0)), text)


_LONG_WORD = re.compile(r"\b[^\W\d_]{5,}\b")


def _street_respelt(word: str) -> str:
    """``word`` with the "i" (or "I") OCR read for the "l" of a street word put right; else as it is."""
    f = word.casefold()
    if f in STREET_WORDS or len(f) < 5:
        return word
    for i, ch in enumerate(f):
        if ch == "i" and f[:i] + "l" + f[i + 1:] in STREET_WORDS:
            return word[:i] + ("L" if word[i].isupper() else "l") + word[i + 1:]
    return word


# --- line classes -------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]{2,}\.(?:com|net|org|biz|info|co|gov|edu)(?:\.[a-z]{2})?\b(?!\.)", re.I)
_PHONE_LABEL = re.compile(r"^\W*(?:tel|telephone|phone|ph|fax|hp|mobile|mob|t|f|call)\b\.?\s*(?:no\.?)?\s*[:.]?", re.I)
_GLUED_PHONE_LABEL = re.compile(r"^\W*(?:tel|fax|hp|ph)(?=\d)", re.I)  # "TEL03-7832 6929": OCR lost the space
_PHONE = re.compile(r"\+?\(?\d{2,4}\)?(?:[\s-]?\d{2,5}){1,4}")
# a registration or tax id: 4+ digits, maybe with a few letters and a check letter ("123456-X")
_ID_TOKEN = re.compile(r"^[(\[<]?[A-Za-z]{0,4}\d[\dA-Za-z/-]*[)\]>]?[.,;)]*$")  # "(123456-X)", "<123456-X>"
_ID_LABEL = re.compile(r"^[^\d,]{1,40}?(?:[:#]|\bno\b\.?|\bnumber\b|\bid\b|\breg\b\.?)\s*", re.I)


def _id_token(token: str, min_digits: int = 4) -> bool:
    core = token.strip("()[]<>.,;:")
    digits = sum(c.isdigit() for c in core)
    letters = sum(c.isalpha() for c in core)
    return bool(_ID_TOKEN.match(token)) and digits >= min_digits and letters <= 4 and digits >= 1.5 * letters


_LABELLED_ID = re.compile(r"(?:[:#]|\bno\b\.?)\s*\(?[A-Za-z]{0,4}\d{5,}", re.I)


def is_id_line(text: str) -> bool:
    """A line that is a registration/tax/document id, bare ("(123456-X)") or after a short label
    ("Reg No.: 123456-X", "Site: 1046", "Co No: 12345-X GST No: 0012345"); a postcode before a town
    is not one."""
    t = " ".join(text.split()).strip()
    if "," not in t and len(_LABELLED_ID.findall(t)) >= 2:
        return True
    tokens = t.split()
    if len(tokens) == 1 and _id_token(tokens[0], min_digits=5):
        return True  # bare: five digits at least ("9727XS"-like postcodes have four)
    inner = t.strip("()[]<>")
    if inner != t and re.fullmatch(r"\d{5,}\s[A-Za-z]{1,2}", inner):
        return True  # "(001610235 P)": the check letter read apart
    m = _ID_LABEL.match(inner)
    rest = inner[m.end():] if m else ""
    if m and rest.strip():
        parts = [p.strip(":#") for p in re.sub(r"[():#]", " ", rest).split()]  # "Reg No.:75495-W"
        parts = [p for p in parts if p]
        return 1 <= len(parts) <= 2 and _id_token(parts[-1]) and all(_id_token(p) or len(p) <= 3 for p in parts)
    return False


def is_phone_line(text: str) -> bool:
    """A line of phone/fax numbers, labelled ("Tel: 03-1234 5678") or bare ("016-5498845")."""
    t = " ".join(text.split())
    m = _PHONE_LABEL.match(t) or _GLUED_PHONE_LABEL.match(t)
    if m and sum(c.isdigit() for c in t[m.end():]) >= 6:
        return True
    if m and m.end() == len(t) and sum(c.isalpha() for c in t) >= 2:
        return True  # "FAX:" alone: its number printed apart (or lost by OCR), still no address line
    label, colon, rest = t.partition(":")
    if colon and re.fullmatch(r"[\d\s()+-]{7,}", rest.strip()) and sum(c.isdigit() for c in rest) >= 7:
        return True  # "Careline: 1800 88 1231"
    letters = sum(c.isalpha() for c in t)
    return letters == 0 and any(sum(c.isdigit() for c in p.group(0)) >= 7 for p in _PHONE.finditer(t))


def line_classes(text: str) -> set[str]:
    """The classes of a printed line: id, phone, email, url, date, time, amount (maybe none)."""
    out = set()
    if _EMAIL.search(text):
        out.add("email")
    if _URL.search(text):
        out.add("url")
    if is_phone_line(text):
        out.add("phone")
    if is_id_line(text):
        out.add("id")
    if date_span(text):
        out.add("date")
    if time_span(text) and sum(c.isalpha() for c in text) <= 6:
        out.add("time")
    letters = sum(c.isalpha() for c in text)
    if letters <= 3 and amount_span(text) and re.search(r"\d[.,]\d{2}(?!\d)", text):
        out.add("amount")  # with decimals: "1185 KV" is a postcode
    return out


@lru_cache(maxsize=1)
def _country_names() -> frozenset[str]:
    from babel import Locale

    names: set[str] = set()
    for lang in ("en", "de", "fr", "es", "it", "nl", "pt", "ms"):  # CLDR names of countries (two-letter codes)
        names |= {n.casefold() for code, n in Locale(lang).territories.items() if code.isalpha()}
    return frozenset(names)


def ends_with_country(text: str) -> bool:
    """Does the line end a postal address with its country ("56000 Kuala Lumpur, Malaysia",
    "DEUTSCHLAND")? The last comma-separated part is a country name (CLDR, several languages)."""
    from rapidfuzz import fuzz, process

    last = " ".join(text.split(",")[-1].split()).strip(" .").casefold()
    if not last or last in _country_names():
        return bool(last)
    # an OCR slip in a longer name ("Malaysi.") still names it; short names must match exactly
    hit = process.extractOne(last, _country_names(), scorer=fuzz.ratio, score_cutoff=90) if len(last) >= 6 else None
    return hit is not None


# --- names --------------------------------------------------------------------------------------

# Legal forms of companies, as they end a business name (general knowledge, several countries).
LEGAL_FORMS = (
    "sdn bhd", "sdn. bhd.", "sdn. bhd", "sdn bhd.", "bhd", "bhd.", "berhad", "s/b", "s.b.", "ltd", "ltd.",
    "limited", "inc", "inc.", "incorporated", "llc", "l.l.c.", "llp", "lp", "plc", "corp", "corp.",
    "corporation", "co", "co.", "company", "gmbh", "ag", "kg", "ohg", "e.k.", "ug", "sa", "s.a.", "sarl",
    "s.a.r.l.", "sas", "srl", "s.r.l.", "spa", "s.p.a.", "bv", "b.v.", "nv", "n.v.", "pty", "pty ltd",
    "pte ltd", "pte. ltd.", "pvt ltd", "sl", "s.l.", "slu", "s.com.", "s.coop.", "sc", "s.c.", "oy", "ab", "as", "a/s", "aps", "kk", "tbk", "enterprise",
    "enterprises", "trading",
)
# not inside a word, nor after a number ("1.5L" is a size, not a Spanish S.L.)
_LEGAL = re.compile(r"(?<![^\W_])(?<!\d)(?<!\d\.)(?:" + "|".join(re.escape(f) for f in sorted(LEGAL_FORMS, key=len, reverse=True))
                    + r")(?![^\W_])", re.I)


# Nouns that say what kind of business a name is (general vocabulary, English and Malay; six letters
# or more, so that one found inside a longer glued token is not part of another word)
BUSINESS_WORDS = frozenset("""
    stationery hardware restaurant restoran trading enterprise enterprises bakery bakeries pharmacy farmasi
    kitchen market supermarket minimarket centre center services electrical electronics furniture boutique
    perniagaan pasaraya runcit bookstore florist optical clinic klinik court material materials
""".split())
_GLUED_TOKEN = re.compile(r"\b[^\W\d_]{12,}\b")
_GLUED_SDN = re.compile(r"(?<=[^\W\d_]{3})(SDN)(?=\.?\s*BHD\b)", re.I)  # "IMPRESSIONSDN BHD"
_SPACE_READ_UNDERSCORE = re.compile(r"(?<=[^\W\d_])_(?=[^\W\d_])")  # "MARCO_POLO": a space OCR read as "_"
_S_READ_5 = re.compile(r"(?<![\w/])5(?=/B\b)")  # "MART 5/B": the "S" of the legal form "S/B"


def _unglue_business(token: str) -> str:
    """``token`` split around the longest business noun inside it when what is left on each side
    is empty or three letters or more ("SANYUSTATIONERYSHOP" -> "SANYU STATIONERY SHOP"); else as it is."""
    f = token.casefold()
    for word in sorted(BUSINESS_WORDS, key=len, reverse=True):
        at = f.find(word)
        left, right = token[:at], token[at + len(word):]
        if at >= 0 and f != word and all(not part or len(part) >= 3 for part in (left, right)):
            return " ".join(p for p in (left, token[at:at + len(word)], right) if p)
    return token


def unglue_name(text: str) -> str:
    """A business name with the spaces OCR lost put back where the parts are unmistakable (a
    business noun inside a glued token of twelve letters or more, "SDN" glued to the word before
    "BHD", a "_" between letters), and a "5" read for the "S" of "S/B" put right."""
    text = _GLUED_SDN.sub(r" \1", _S_READ_5.sub("S", _SPACE_READ_UNDERSCORE.sub(" ", text)))
    return _GLUED_TOKEN.sub(lambda m: _unglue_business(m.group(0)), text)


def legal_form(text: str) -> bool:
    """Does ``text`` end in a company's legal form ("... Sdn Bhd", "... GmbH (123-X)", "... Ltd.")?"""
    for m in _LEGAL.finditer(text):
        before, after = text[:m.start()], text[m.end():]
        tail = re.sub(r"[\W_]", "", after.split("(")[0]) if not after.lstrip().startswith("(") else ""
        if sum(c.isalpha() for c in before) >= 2 and (not tail or (tail.isalnum() and sum(c.isdigit() for c in tail) >= 4)):
            return True
    return False


# Words that name a thoroughfare, an estate or a building in a postal address (general knowledge,
# the languages of the month names above; abbreviations as printed). Words a footer note or an item
# line also uses ("St", "Park", "Unit", "Level", "Kg") are left out.
STREET_WORDS = frozenset("""
    street road rd avenue ave lane drive boulevard blvd highway crescent floor suite building tower mall plaza
    jalan jln lorong lrg persiaran lebuh lebuhraya taman tmn kampung bangunan wisma menara kompleks kawasan seksyen
    strasse straße weg platz allee gasse
    rue chemin allée impasse quai
    calle avenida avda paseo carrera camino ronda travesía alameda callejón cuesta pasaje rambla glorieta
    via viale piazza corso largo vicolo contrada strada borgo
    straat laan plein gracht kade dreef singel
    rua travessa praça estrada
""".split())
# German and Dutch glue the street type to the name ("Hauptstraße", "Thomstraat", "Benthedreef")
STREET_SUFFIXES = ("straße", "strasse", "gasse", "allee", "straat", "laan", "plein", "dreef", "gracht", "singel")


_GLUED_NUMBER = re.compile(r"(?<![\w/-])(\d{4,})([^\W\d_]{3,})")  # "43200CHERAS": a postcode glued to its town
_TOKEN = re.compile(r"\b[^\W_]{8,}")


def _unglue_street(token: str) -> str:
    """``token`` split after the street type of five letters or more it starts with, when three
    characters or more follow ("JALANPELABUR" -> "JALAN PELABUR"); else as it is."""
    if token.casefold() in STREET_WORDS:
        return token  # "LEBUHRAYA" is one
    for cut in range(len(token) - 3, 4, -1):
        if token[:cut].isalpha() and token[:cut].casefold() in STREET_WORDS:
            return f"{token[:cut]} {token[cut:]}"
    return token


def unglue_address(text: str) -> str:
    """An address line with the spaces OCR lost put back where the parts are unmistakable: after a
    number of four digits or more glued to a word ("43200CHERAS") and after a street type of five
    letters or more glued to the name after it ("JALANPELABUR", "JalanSS21/39")."""
    return _TOKEN.sub(lambda m: _unglue_street(m.group(0)), _GLUED_NUMBER.sub(r"\1 \2", text))


def street_word(text: str) -> bool:
    """Does ``text`` hold a word naming a thoroughfare, an estate or a premises (``STREET_WORDS``)?"""
    words = [_street_respelt(w).casefold() for w in re.findall(r"\b[^\W\d_]+\b", text)]  # not "1st"
    return any(w in STREET_WORDS or (w.endswith(STREET_SUFFIXES) and len(w) >= 8) for w in words)


def group_rows(segs: list[Any]) -> list[list[Any]]:
    """Segments (anything with a ``box`` and a settable ``row``) grouped into rows by their
    vertical centres, top to bottom, each row left to right; sets each segment's ``row``."""
    def cy(s: Any) -> float:
        return (s.box[1] + s.box[3]) / 2

    def height(s: Any) -> int:
        return max(1, s.box[3] - s.box[1])

    rows: list[list[Any]] = []
    for s in sorted(segs, key=cy):
        row = rows[-1] if rows else None
        if row and abs(cy(s) - sum(cy(r) for r in row) / len(row)) <= 0.5 * min(height(s), height(row[0])):
            row.append(s)
        else:
            rows.append([s])
    for i, row in enumerate(rows):
        row.sort(key=lambda s: s.box[0])
        for s in row:
            s.row = i
    return rows
