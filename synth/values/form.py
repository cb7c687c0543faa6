"""Generic key-value forms (the FUNSD kind): a title, question -> answer pairs, checkbox groups.

Keys are open-ended the way real forms' are: a fixed set of common ones, memo header keys, and
keys built from a subject and an attribute ("Shipment date", "PROJECT NO.", "(4) Budget code"),
printed in the page's own case, numbering and colon style. What a page prints besides its truth
goes to ``ctx.extras`` for the layout to draw: unanswered keys, section headings, a letterhead,
a fax transmission line, a stamp and a file number (none of it is a schema field, as in FUNSD's
linked pairs, where a question without an answer is no pair).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from synth.values import V, ValueContext

TITLES = ("Employee Information Form", "Application for Membership", "Change of Address Request",
          "Patient Registration Form", "Vendor Registration Form", "Expense Claim Form",
          "Equipment Request Form", "Visitor Registration", "Account Opening Form",
          "Order Request Form", "Incident Report", "Leave Application", "Project Authorization",
          "Research Request", "Travel Request", "Purchase Requisition", "Test Report",
          "Budget Approval Form", "Program Evaluation", "Shipment Notice", "Survey Summary",
          "Sample Request Form", "Field Visit Report", "Fax Transmittal", "Contract Summary")
# question -> how to draw its answer from the seeded Faker / RNG
QUESTIONS = {
    "Name": lambda f, r: f.name(),
    "Full name": lambda f, r: f.name(),
    "Date of birth": lambda f, r: f.date_of_birth(minimum_age=18, maximum_age=80).strftime("%m/%d/%Y"),
    "Address": lambda f, r: f.street_address(),
    "City": lambda f, r: f.city(),
    "Postal code": lambda f, r: f.postcode(),
    "Country": lambda f, r: _country(f),
    "Phone": lambda f, r: f.phone_number(),
    "Email": lambda f, r: f.email(),
    "Company": lambda f, r: f.company(),
    "Position": lambda f, r: f.job()[:40],
    "Department": lambda f, r: r.choice(("Sales", "Finance", "R&D", "HR", "Operations", "Legal", "IT")),
    "Employee ID": lambda f, r: f"E{r.randint(10000, 99999)}",
    "Start date": lambda f, r: f.date_between_dates(dt.date(2010, 1, 1), dt.date(2026, 12, 31)).strftime("%m/%d/%Y"),
    "Amount": lambda f, r: f"{r.randint(10, 9999)}.{r.randint(0, 99):02d}",
    "Account number": lambda f, r: f.bothify("########"),
    "Reference": lambda f, r: f.bothify("??-#####").upper(),
    "Signature date": lambda f, r: f.date_between_dates(dt.date(2016, 1, 1), dt.date(2026, 12, 31)).strftime("%m/%d/%Y"),
    "Reason": lambda f, r: f.sentence(nb_words=5).rstrip("."),
    "Comments": lambda f, r: f.sentence(nb_words=6).rstrip("."),
    "Emergency contact": lambda f, r: f.name(),
    "Quantity": lambda f, r: str(r.randint(1, 500)),
}
CHOICES = {
    "Marital status": ("Single", "Married", "Divorced", "Widowed"),
    "Preferred contact": ("Email", "Phone", "Mail"),
    "Request type": ("New", "Renewal", "Change"),
    "Membership type": ("Basic", "Standard", "Premium"),
    "Employment": ("Full-time", "Part-time", "Contractor"),
    "Payment method": ("Cash", "Check", "Transfer", "Card"),
    "Priority": ("Low", "Medium", "High"),
    "Approved": ("Yes", "No"),
    "Status": ("Proposed", "Approved", "Completed", "Cancelled"),
    "Distribution": ("Local", "Regional", "National"),
    "Format": ("Print", "Radio", "Television", "Outdoor"),
    "Shipping": ("Air", "Ground", "Express"),
}
# Keys built from a subject and an attribute; the attribute says what kind of answer follows.
SUBJECTS = ("Project", "Account", "Budget", "Brand", "Product", "Program", "Study", "Sample", "Test",
            "Shipment", "Order", "Contract", "Vendor", "Client", "Event", "Territory", "Region", "Store",
            "Batch", "Claim", "Request", "Report", "Job", "Site", "Division", "Campaign", "Market",
            "Survey", "Panel", "Supplier", "Agency", "Package", "Item", "Unit", "Plant", "Trial")
ATTRIBUTES = {
    "Name": "phrase", "Number": "id", "No.": "id", "#": "id", "Code": "code", "Date": "date",
    "Type": "word", "Manager": "person", "Contact": "person", "Coordinator": "person",
    "Location": "place", "Status": "word", "Cost": "money", "Total": "money", "Budget": "money",
    "Size": "count", "Count": "count", "Description": "long", "Objective": "long", "Period": "period",
    "Phone": "phone", "Share": "percent", "Start": "date", "Completion": "date", "Remarks": "long",
}
OF_ATTRIBUTES = ("Date", "Type", "Location", "Status", "Description", "Size", "Number", "Objective")
MEMO_KEYS = {"To": "person", "From": "person", "Date": "date", "Subject": "phrase", "Re": "phrase",
             "cc": "people", "Fax number": "phone", "Phone number": "phone", "Pages": "count",
             "Attention": "person", "Dept.": "word", "Prepared by": "person", "Approved by": "person",
             "Submitted by": "person", "Requested by": "person", "Title": "job", "Copies to": "people"}
SECTIONS = ("General information", "Details", "For office use only", "Approvals", "Instructions",
            "Summary", "Specifics", "Comments", "Results", "Distribution", "Budget", "Schedule")
# Form numbers: most print as a bare code (FUNSD's forms seldom spell out "form" or "ref")
FORM_NUMBERS = ("Form ##-?", "F-####", "REF ###/##", "FORM ###", "#####-##", "##-####", "???-###", "####?",
                "No. ####", "#### (#/##)")
STAMP_WORDS = ("RECEIVED", "APPROVED", "FILED", "CONFIDENTIAL", "COPY", "PAID", "ENTERED", "REVIEWED")
DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%B %d, %Y", "%d-%b-%y", "%b. %d, %Y", "%m-%d-%y", "%d %B %Y")
# Running text under a form's keys: instructions, a description, remarks (words on the page, no field).
NOTE_HEADS = ("Note", "Instructions", "Description", "Comments", "Purpose", "Background", "Remarks",
              "Objective", "Summary", "Explanation", "Action required", "Results")
# A small table of figures: row heading column, then columns of one kind each.
ROW_HEADS = ("Item", "Description", "Category", "Brand", "Market", "Region", "Product", "Account", "Test",
             "Element", "Group")
COLUMNS = {"Qty": "count", "Units": "count", "Base": "count", "Cost": "money", "Total": "money",
           "Budget": "money", "Actual": "money", "Share": "percent", "Rate": "percent", "Date": "date",
           "Code": "code", "Year": "year", "Score": "score", "Index": "score", "Change": "percent"}
FOOTER_EXTS = ("wp", "doc", "txt", "frm", "wk1", "ltr")


def _country(f) -> str:
    """The locale's own country; Faker knows none for some (en_MS): then any country."""
    try:
        return f.current_country()
    except ValueError:
        return f.country()


def _date(f, r, fmt: str | None = None) -> str:
    day = f.date_between_dates(dt.date(1960, 1, 1), dt.date(2026, 12, 31))
    return day.strftime(fmt or r.choice(DATE_FORMATS)).lstrip("0")


def _period(f, r) -> str:
    fmt = r.choice(DATE_FORMATS)
    return f"{_date(f, r, fmt)} - {_date(f, r, fmt)}"


def _words(f, r, lo: int, hi: int) -> str:
    return " ".join(f.words(r.randint(lo, hi))).capitalize()


# kind -> answer maker (seeded Faker, seeded RNG)
ANSWERS: dict[str, Callable[..., str]] = {
    "person": lambda f, r: r.choice((f.name(), f"{f.first_name()[0]}. {f.last_name()}",
                                     f"{f.first_name()[0]}. {f.random_uppercase_letter()}. {f.last_name()}")),
    "people": lambda f, r: ", ".join(f"{f.first_name()[0]}. {f.last_name()}" for _ in range(r.randint(2, 3))),
    "phrase": lambda f, r: _words(f, r, 2, 5),
    "word": lambda f, r: f.word().capitalize(),
    "job": lambda f, r: f.job()[:36],
    "id": lambda f, r: f.bothify(r.choice(("##-####", "###-##-##", "#####", "####-###?", "??-###", "#######"))).upper(),
    "code": lambda f, r: f.bothify(r.choice(("?-##", "??##", "#?#", "???-#"))).upper(),
    "date": _date,
    "place": lambda f, r: f.city(),
    "money": lambda f, r: r.choice(("${:,}.00", "$ {:,}", "{:,}.00", "{:,}")).format(r.randint(5, 990000)),
    "count": lambda f, r: f"{r.randint(1, 5000):,}",
    "percent": lambda f, r: f"{r.randint(1, 99)}{r.choice(('', '.5'))}%",
    "phone": lambda f, r: f.phone_number(),
    "period": _period,
    "long": lambda f, r: "\n".join(f.sentence(nb_words=r.randint(6, 11)) for _ in range(r.randint(1, 3))),
}


def _key_style(rng: random.Random) -> Callable[[str, int | None], str]:
    """How this page prints its keys: case, numbering (i; None: no number) and the colon."""
    case = rng.choices(("as_is", "upper", "title"), (0.45, 0.35, 0.2))[0]
    number = rng.choices(("", "({})", "{}.", "{})"), (0.75, 0.1, 0.1, 0.05))[0]
    suffix = rng.choice((":", ":", ":", "", " :"))

    def style(key: str, i: int | None) -> str:
        text = {"upper": key.upper(), "title": key.title(), "as_is": key}[case]
        return (number.format(i + 1) + " " if number and i is not None else "") + text + suffix

    return style


def _keys(rng: random.Random) -> list[tuple[str, str | None]]:
    """(key, answer kind) for a page; kind None: one of the fixed QUESTIONS."""
    keys: list[tuple[str, str | None]] = []
    if rng.random() < 0.4:
        keys += [(k, MEMO_KEYS[k]) for k in rng.sample(sorted(MEMO_KEYS), rng.randint(2, 5))]
    keys += [(q, None) for q in rng.sample(sorted(QUESTIONS), rng.randint(1 if keys else 3, 8))]
    for _ in range(rng.randint(1, 8)):
        subject, attr = rng.choice(SUBJECTS), rng.choice(sorted(ATTRIBUTES))
        of_form = attr in OF_ATTRIBUTES and rng.random() < 0.25
        keys.append((f"{attr} of {subject.lower()}" if of_form else f"{subject} {attr}", ATTRIBUTES[attr]))
    seen, out = set(), []
    for key, kind in keys:
        if key.lower() not in seen:
            seen.add(key.lower())
            out.append((key, kind))
    return out[:20]


def _extras(ctx: ValueContext, style: Callable[[str, int | None], str], used: set[str]) -> None:
    """What the page prints besides its truth, drawn here so that values and layout stay seeded."""
    fake, rng = ctx.loc.fake, ctx.rng
    unused = sorted(k for k in set(QUESTIONS) | set(MEMO_KEYS) if k.lower() not in used)
    blanks = rng.sample(unused, rng.randint(0, 5))
    ctx.extras["blanks"] = [style(b, None) for b in blanks]  # unnumbered: they fall between numbered pairs
    ctx.extras["sections"] = [s.upper() if rng.random() < 0.6 else s for s in rng.sample(SECTIONS, rng.randint(0, 3))]
    company = fake.company()
    ctx.extras["letterhead"] = [company.upper() if rng.random() < 0.6 else company,
                                fake.street_address().replace("\n", " ")]
    when = fake.date_time_between_dates(dt.datetime(1970, 1, 1), dt.datetime(2026, 12, 31))
    ctx.extras["fax"] = [when.strftime(rng.choice(("%m/%d/%y", "%b %d '%y", "%d.%m.%y"))),
                         when.strftime("%H:%M"), rng.choice(("FAX", "FAX NO.", "TEL", "")),
                         fake.phone_number(), company.upper()[:28],
                         rng.choice(("P.01", "@001", f"PAGE {rng.randint(1, 4)}", f"{rng.randint(1, 3):03d}/{rng.randint(3, 9):03d}"))]
    ctx.extras["stamp"] = [rng.choice(STAMP_WORDS), when.strftime("%b %d %Y").upper(),
                           *([fake.city().upper()[:20]] if rng.random() < 0.5 else [])]
    ctx.extras["file_number"] = str(rng.randint(10**7, 10**10 - 1))
    _fillers(ctx)


def _cell(f, r, kind: str) -> str:
    """One table cell of a column's kind."""
    if kind == "year":
        return str(r.randint(1965, 2026))
    if kind == "score":
        return f"{r.randint(0, 99)}.{r.randint(0, 9)}"
    if kind == "percent":
        return f"{r.randint(0, 99)}.{r.randint(0, 9)}{r.choice(('', '%'))}"
    if kind == "money":
        return f"{r.randint(1, 99999):,}"
    return ANSWERS[kind](f, r) if kind != "date" else _date(f, r, "%m/%d/%y")


def _fillers(ctx: ValueContext) -> None:
    """Text a form prints below and around its keys (FUNSD pages are full to the bottom): running
    notes, a table of figures, the footer's document code and copy list. Drawn after every other
    value, so a page's truth is what it was without them."""
    fake, rng = ctx.loc.fake, ctx.rng
    ctx.extras["notes"] = [(rng.choice(NOTE_HEADS), [fake.sentence(nb_words=rng.randint(7, 16))
                                                     for _ in range(rng.randint(2, 6))])
                           for _ in range(rng.randint(1, 3))]
    kinds = rng.sample(sorted(COLUMNS), rng.randint(2, 4))
    rows = [[rng.choice((fake.word().capitalize(), rng.choice(SUBJECTS), fake.city()))]
            + [_cell(fake, rng, COLUMNS[k]) for k in kinds] for _ in range(rng.randint(3, 9))]
    ctx.extras["figures"] = [[rng.choice(ROW_HEADS), *kinds], *rows]
    code = rng.choice((f"{fake.word()[:6]}.{rng.choice(FOOTER_EXTS)}",
                       f"Rev. {rng.randint(1, 12)}/{rng.randint(60, 99)}",
                       f"FORM {rng.randint(100, 9999)} ({rng.randint(1, 12)}/{rng.randint(60, 99)})",
                       fake.bothify("??-####").upper(), fake.bothify("####?").lower()))
    ctx.extras["footer"] = {"code": code,
                            "cc": "cc: " + ", ".join(f"{fake.first_name()[0]}. {fake.last_name()}"
                                                     for _ in range(rng.randint(1, 4)))}


def make(ctx: ValueContext) -> dict:
    fake, rng = ctx.loc.fake, ctx.rng
    keys = _keys(rng)
    groups = rng.sample(sorted(CHOICES), rng.randint(0, 3))
    style = _key_style(rng)
    upper_answers = rng.random() < 0.3  # typewritten forms are often filled in capitals
    # checkbox options are printed but are not truth: the renderer reads them from extras
    ctx.extras["options"] = [list(CHOICES[g]) for g in groups]
    fields = []
    for i, (key, kind) in enumerate(keys):
        answer = QUESTIONS[key](fake, rng) if kind is None else ANSWERS[kind](fake, rng)
        fields.append({"question": V.of(style(key, i)), "answer": V.of(answer.upper() if upper_answers else answer)})
    out = {
        "title": V.of(rng.choice(TITLES)),
        "form_number": V.of(fake.bothify(rng.choice(FORM_NUMBERS)).upper()),
        "fields": fields,
        "choices": [{"question": V.of(style(g, len(keys) + i)), "answer": V.of(rng.choice(CHOICES[g]))}
                    for i, g in enumerate(groups)],
    }
    _extras(ctx, style, {k.lower() for k, _ in keys} | {g.lower() for g in groups})
    return out
