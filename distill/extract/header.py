"""The page's header name (the business): a top line that reads like a name, or one with a legal form."""

from __future__ import annotations

import re

from distill.extract.hints import fold, titles
from distill.extract.kinds import _has_digit
from distill.extract.labels import _starts_with_other_label
from distill.extract.page import Page, Seg, _is_title, _merged, _next_line, _prev_line, _unit
from distill.spans import legal_form, line_classes
from docfoundry.doctypes import DocType, Leaf


def _page_top(page: Page) -> Seg | None:
    return next((s for row in page.rows for s in row if not s.claimed), None)


# classes of line that are never a name, unless the schema says otherwise (x-not-lines)
NOT_NAME = frozenset({"id", "phone", "email", "url", "date", "time", "amount"})
SCORE_HEADER_LEGAL = 0.85   # the header line that ends in a legal form ("... Ltd")
SCORE_HEADER_FIRST = 0.55   # else the first line that reads like a name: how sure it heads the page
SCORE_FIRST_NAME = 0.8      # ... and that name's value (since the name repairs 82% exact on half 1/2 of the
                            # real receipts, 88% on 2/2); the lines under it keep the trust of its place
TALLER_THAN_PRINT = 3.0     # times the page's median line height: not printed text
SCORE_UNDER_HEADER = 0.7    # times the name's trust: the lines under it (an address; several lines to
                            # read exactly: 54% exact on real receipts; 0.7 chosen on one half of them,
                            # calibration error 0.087 -> 0.077 on the other)


def _name_like(s: Seg, not_lines: frozenset[str] = NOT_NAME) -> bool:
    """Reads like a business name: four letters or more, capitalised, mostly letters, and none of
    the ``not_lines`` classes (an id, phone, e-mail, web address, date, time or amount line)."""
    text = s.text.strip()
    letters = sum(c.isalpha() for c in text)
    chars = sum(not c.isspace() for c in text)
    if _has_digit(text) and "," in text:
        return False  # "3rd Floor, Main Road": an address line
    return (letters >= 4 and any(c.isupper() for c in text) and letters >= 0.5 * chars
            and not (line_classes(text) & not_lines))


_TRAILING_GROUP = re.compile(r"\(([^()]*)\)?\s*$")  # a parenthesised remark ending the line


def _strip_trailing_id(text: str) -> str:
    """A name without the registration number printed after it ("Acme Sdn Bhd (123456-X)",
    "Acme S/B 123456-X (AB)")."""
    from distill.spans import _id_token

    m = _TRAILING_GROUP.search(text)
    if m and sum(c.isdigit() for c in m.group(1)) >= 4 and sum(c.isalpha() for c in text[:m.start()]) >= 4:
        return " ".join(text[:m.start()].split()).rstrip(" -:")  # "(Co. No: 20154-T)", label and all
    tokens = text.replace("(", " (").split()
    for i, token in enumerate(tokens):
        if i > 0 and _id_token(token) and len(tokens) - i <= 3 and sum(c.isalpha() for c in " ".join(tokens[:i])) >= 4:
            return " ".join(tokens[:i]).rstrip(" -:")
    return " ".join(text.split())




def _is_bare_legal_form(text: str) -> bool:
    from distill.spans import LEGAL_FORMS

    return fold(re.sub(r"[^\w./& ]", " ", text)).strip(" .") in {f.strip(".") for f in LEGAL_FORMS}










def _clean_name(text: str) -> str:
    """A name as printed, without a registration number after it or a "Label:" before it
    ("Operated by: Acme Ltd (12345-X)" -> "Acme Ltd")."""
    text = _strip_trailing_id(text)
    head, colon, rest = text.partition(":")
    if colon and rest.strip() and len(head.split()) <= 3 and legal_form(rest):
        text = rest.strip()
    return text


def _header_name(page: Page, doc: DocType, other: list[Leaf],
                 not_lines: frozenset[str] = NOT_NAME) -> tuple[list[Seg], float]:
    """The business name at the head of the page: among the top lines (above the first banner
    after them, in the page's top half), the first with a company's legal form, else the first
    that reads like a name. It goes on to the next line after a trailing "&" or when that line is a
    bare legal form ("SDN BHD"), and back to the line above when it starts with one ("CO. LTD")."""
    if not page.segs:
        return [], 0.0
    top, bottom = min(s.box[1] for s in page.segs), max(s.box[3] for s in page.segs)
    banners = titles(doc)
    names: list[list[Seg]] = []
    for row in page.rows:
        if row and row[0].cy > top + 0.5 * (bottom - top):
            break
        units: list[list[Seg]] = []
        for s in row:
            if not s.claimed and not any(s in u for u in units):
                units.append(_unit(page, s))
        if names and any(_is_title(_merged(u), banners) for u in units):
            break
        for u in units:
            line = _merged(u)
            if (not _is_title(line, banners) and _name_like(Seg(_clean_name(line.text), line.box, line.score), not_lines)
                    and not _starts_with_other_label(line, other)):
                names.append(u)
    if not names:
        return [], 0.0
    names.sort(key=lambda u: (_merged(u).box[1], _merged(u).box[0]))  # rows chain across close lines
    usual = sorted(s.height for s in page.segs)[len(page.segs) // 2]
    printed = [u for u in names if _merged(u).height <= TALLER_THAN_PRINT * usual]
    names = printed or names  # a line far taller than the print is a hand-written note or a stamp

    def continued(u: list[Seg]) -> list[Seg]:
        out: list[Seg] = []
        last = _merged(u)
        while (nxt := _next_line(page, last)) is not None and not nxt.claimed and nxt not in u + out \
                and (_goes_on(last.text) or _is_bare_legal_form(nxt.text)
                     or (_name_part(nxt.text) and _name_like(nxt, not_lines))):
            out += _unit(page, nxt)
            last = _merged([x for x in out if x.row == out[-1].row])
        return out

    legal = [u for u in names if legal_form(" ".join(s.text for s in u + continued(u)))]
    first = legal[0] if legal else names[0]
    out = first + continued(first)
    while (prev := _prev_line(page, _merged([x for x in out if x.row == out[0].row]))) is not None \
            and not prev.claimed and prev not in out and _name_like(prev, not_lines) \
            and (_name_part(_merged(out).text) or _goes_on(prev.text)):
        out = _unit(page, prev) + out  # "... ENTERPRISE (CITY" over "CENTRE) SDN BHD"
    return out, SCORE_HEADER_LEGAL if legal else SCORE_HEADER_FIRST


def _goes_on(text: str) -> bool:
    """Does a name's line go on to the next: it ends in "&", "and", "-" or "," or leaves a "(" open?"""
    return bool(re.search(r"(&|\band|-|,)\s*$", text, re.I)) or text.count("(") > text.count(")")


def _name_part(text: str) -> bool:
    """Is ``text`` the rest of a name begun on the line above: it starts with a legal form ("Co. (M)
    Sdn Bhd", "ENTERPRISE (CITY"), with a parenthesised part before one ("(CITY) SDN BHD"), or
    names only a kind of business before it ("STATIONERY SDN BHD": the name itself is above)?"""
    from distill.spans import _LEGAL, BUSINESS_WORDS

    if _legal_lead(text) or (text.lstrip().startswith("(") and legal_form(text)):
        return True
    m = _LEGAL.search(text)
    head = [w.casefold() for w in re.findall(r"[^\W\d_]+", text[:m.start()])] if m and legal_form(text) else []
    head = [w for w in head if w != "sdn"]  # "SDN.BHD" read as one legal form
    return bool(head) and all(w in BUSINESS_WORDS for w in head)


def _legal_lead(text: str) -> bool:
    """Does ``text`` start with a legal form ("Co. (M) Sdn Bhd": the name is on the line above)?"""
    from distill.spans import _LEGAL

    m = _LEGAL.match(text.strip())
    return m is not None
