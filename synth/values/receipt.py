"""Receipt values: line totals, subtotal + tax = total, change = tendered - total.

Besides the truth, a receipt draws what real till rolls print around it, kept in ``ctx.extras``
for the layouts (never truth): a brand line over the legal name, company and tax registration
lines, copy marks, a document title, e-mail and cashier / terminal / table lines, item codes,
item counts, a tax summary and "total incl. tax" / rounding lines, footer notes and a barcode.
The tax is the territory's regime in force on the receipt's date (``synth.locales.tax_regime``);
where cash is rounded (``CASH_ROUNDING``) most receipts print a rounding line, the ``rounding`` field:
the till rounds subtotal + tax to the step and prints the adjustment ("-0.02"), so the total paid is
subtotal + tax + rounding as on real rolls (some tills price to the step and print 0.00); the
schema's arithmetic holds exactly either way.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from synth.locales import CASH_ROUNDING, Locale, money_round, tax_regime
from synth.values import V, ValueContext, line_item, log_uniform

# What a store sells and the trade words in its name, per kind of store.
STORES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "grocery": (("MART", "MINI MARKET", "SUPERMARKET", "GROCER", "STORE"),
                ("Milk 1L", "Bread", "Coffee 200g", "Tea 25s", "Eggs 12", "Apples", "Bananas", "Cheese",
                 "Butter 250g", "Water 1.5L", "Orange juice", "Pasta 500g", "Rice 5kg", "Tomatoes", "Chicken",
                 "Yogurt", "Sugar 1kg", "Cooking oil 2L", "Soap", "Shampoo", "Batteries AA", "Tissue 10s",
                 "Detergent 3kg", "Biscuits", "Instant noodles 5s", "Crisps", "Chocolate", "Cola 1.5L")),
    "hardware": (("HARDWARE", "TRADING", "BUILDING MATERIAL", "ELECTRICAL"),
                 ("Cable tie 4x200mm", "Hose pump", "Screw 8x1in", "Wall plug 6mm", "PVC pipe 1/2in",
                  "Paint brush 2in", "Masking tape", "Silicone sealant", "Drill bit 6mm", "Hinge 3in",
                  "Padlock 40mm", "Extension cord 3m", "LED bulb 9W", "Sandpaper P120", "Steel wool",
                  "Cement 50kg", "Gloves", "Spanner set", "Measuring tape 5m", "Wire 1.5mm")),
    "restaurant": (("RESTAURANT", "CAFE", "KITCHEN", "BAKERY", "FOOD COURT"),
                   ("Fried rice", "Noodle soup", "Chicken set", "Fish curry", "Roti", "Iced tea", "Coffee",
                    "Lime juice", "Mineral water", "Espresso", "Cappuccino", "Muffin", "Croissant",
                    "Sandwich", "Salad", "Soup of the day", "Grilled fish", "Dumplings 6pcs", "Dessert",
                    "Fries", "Burger", "Pizza slice", "Cake")),
    "stationery": (("STATIONERY", "BOOK STORE", "PRINTING", "OFFICE SUPPLY"),
                   ("A4 paper 500s", "Notebook", "Pen blue", "Pencil 2B", "Eraser", "Ruler 30cm", "Glue stick",
                    "Stapler", "Envelope 10s", "File folder", "Marker", "Calculator", "Scissors",
                    "Highlighter", "Sticky notes")),
}
TITLES = ("TAX INVOICE", "RECEIPT", "CASH BILL", "INVOICE", "SIMPLIFIED TAX INVOICE", "OFFICIAL RECEIPT",
          "CASH SALE", "BILL")
COPY_MARKS = ("CUSTOMER COPY", "CUSTOMER'S COPY", "DUPLICATE", "RE-PRINT", "** COPY **", "MERCHANT COPY",
              "ORIGINAL")
FOOTERS = ("THANK YOU", "Thank you, please come again", "Goods sold are not returnable",
           "Goods sold are not refundable", "Exchange within 7 days with receipt",
           "Please keep this receipt for exchange", "Prices include tax where stated",
           "Have a nice day", "Thank you for shopping with us", "Follow us online",
           "No cash refund", "Strictly no exchange")
# Longer notes a roll prints under its items or totals: return and exchange terms, tax marks, a
# computer-printed line, a promotion; the layouts wrap them over the roll's width (``wrap``).
NOTES = ("Goods sold are not returnable or exchangeable. Kindly check your items before leaving the counter.",
         "Please keep this receipt as proof of purchase for an exchange within 7 days.",
         "Prices are inclusive of tax where applicable. Thank you for your support.",
         "(*) Items marked with an asterisk are subject to standard-rated tax.",
         "This is a computer generated receipt and no signature is required.",
         "Exchange is allowed within 3 days with the original receipt and packaging.",
         "Warranty claims must be made with this receipt at the counter of purchase.",
         "Join our member programme and collect points on every purchase.",
         "Service charge is not included. Tips are at your discretion.",
         "Please check your change before leaving the counter. Thank you and see you again.")
NOTE_SHARE = 0.6  # rolls that print one or two such notes (English-language locales: the notes are English)
ITEM_TEXT = 24  # longest dressed item text (characters)
# Pack and size marks a shelf item's text ends with, per kind of store ({n}: a count, {g}: grams or ml).
PACKS = {"grocery": ("{g}G", "{g}ML", "{n}S", "{n}X{g}G", "PACK", "REFILL"),
         "hardware": ("{n}PCS", "SET", "BOX", "PACK", "(S)", "(M)", "(L)"),
         "stationery": ("{n}PCS", "{n}S", "PACK", "BOX", "SET", "(A5)")}
STAFF = ("Cashier", "Operator", "Served by", "Server", "Staff")
RECEIPT_NUMBERS = ("####-######", "??########", "?#########", "####", "#####", "??##-######", "#######",
                   "??-###-#####")
DATE_FORMATS = ("short", "medium", "{d}/{m}/yyyy", "{d}-{m}-yy", "{d}-{m}-yyyy", "{d}.{m}.yyyy", "{d}/{m}/yy",
                "yyyy-MM-dd", "dd MMM yyyy")
TIME_FORMATS = ("HH:mm", "HH:mm:ss", "h:mm a", "h:mm:ss a", "short")


@cache
def _payments() -> tuple[str, ...]:
    """The payment methods drawn from, each as often as its weight: the schema's ``x-choices`` of
    ``payment_method`` (the teacher reads an unlabelled one by the same list)."""
    from docfoundry.doctypes import load_doc_type

    node = load_doc_type("receipt").schema["properties"]["payment_method"]
    return tuple(c for c, w in zip(node["x-choices"], node.get("x-weights", [1] * len(node["x-choices"])))
                 for _ in range(w))


def _tendered(total: Decimal, rng: random.Random) -> Decimal:
    """Cash handed over: the next round note above the total."""
    step = Decimal(rng.choice((1, 5, 10, 20, 50)))
    return ((total // step) + 1) * step


def _date_format(loc: Locale, rng: random.Random) -> str:
    """A CLDR style, or a numeric pattern in the locale's day/month order (POS systems print those)."""
    from babel.dates import get_date_format

    choice = rng.choice(DATE_FORMATS)
    if "{d}" not in choice:
        return choice
    day_first = get_date_format("short", locale=loc.cldr).pattern.lstrip("'").lower().startswith("d")
    d, m = ("dd", "MM") if rng.random() < 0.8 else ("d", "M")
    return choice.format(d=d, m=m) if day_first else choice.format(d=m, m=d)


# how a till separates the parts of an address: mostly ", ", often a bare "," ("7/4,JALAN"), now and then " ,"
ADDRESS_SEPARATORS = ((", ", 6), (",", 3), (" , ", 1))


def _lines(text: str, width: int, max_lines: int, rng: random.Random) -> str:
    """An address as printed: its comma-separated parts (Faker's lines too) packed into lines of
    about ``width`` characters (at most ``max_lines``, the rest joined onto the last), or, as many
    real rolls print it, wrapped at the width inside a part; the parts separated as the till does
    (``ADDRESS_SEPARATORS``), a line ending in its comma or not, maybe a final period."""
    import textwrap

    parts = [p.strip() for p in text.replace("\n", ", ").split(",") if p.strip()]
    sep = rng.choices([s for s, _ in ADDRESS_SEPARATORS], weights=[w for _, w in ADDRESS_SEPARATORS])[0]
    keep_comma = rng.random() < 0.5  # "12, MAIN ROAD," over "45000 TOWN": the break keeps the comma
    out: list[str] = []
    if rng.random() < 0.35:  # wrapped at the print width, a part broken over two lines
        out = textwrap.wrap(sep.join(parts), width, break_long_words=False)
        if len(out) > max_lines + 1:
            out = out[:max_lines] + [" ".join(out[max_lines:])]
    else:
        for part in parts:
            if out and len(out[-1]) + len(part) + len(sep) <= width:
                out[-1] += sep + part
            else:
                out.append(part)
        if len(out) > max_lines:
            out = out[:max_lines - 1] + [sep.join(out[max_lines - 1:])]
        if keep_comma:
            out = [line + sep.rstrip() for line in out[:-1]] + out[-1:]
    trail = rng.choice(("", "", "."))
    return "\n".join(out) + trail


def _two_lines(name: str) -> str:
    """A long name set on two lines, breaking before its last words (where till rolls break it)."""
    words = name.split()
    cut = max(1, len(words) - (2 if len(words) > 3 else 1))
    return " ".join(words[:cut]) + "\n" + " ".join(words[cut:])


def _totals(loc: Locale, items: list[dict[str, V]], rate: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    subtotal = sum((Decimal(str(i["amount"].typed)) for i in items), Decimal(0))
    tax = money_round(subtotal * rate / 100)
    return subtotal, tax, subtotal + tax


def _round_to_step(loc: Locale, items: list[dict[str, V]], rate: Decimal, step: Decimal) -> bool:
    """Raise the last item's unit price by cents until the total is a multiple of ``step``."""
    last = items[-1]
    qty, unit = Decimal(str(last["quantity"].typed)), Decimal(str(last["unit_price"].typed))
    for _ in range(100):
        if _totals(loc, items, rate)[2] % step == 0:
            return True
        unit += Decimal("0.01")
        items[-1] = line_item(loc, last["description"].text, qty, unit)
    return False


def _to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded to the nearest multiple of ``step``, halves up (Malaysia: 0.01-0.02 down, 0.03-0.04 up)."""
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _dressed(goods: str, kind: str, fake: Any, rng: random.Random) -> str:
    """A shelf item as tills print it, often with its brand before it and its pack or size after it
    (the article names of a store's own list, not a menu's), kept within ``ITEM_TEXT`` characters so a
    table's description column does not shrink the type."""
    parts = [goods]
    if rng.random() < 0.55:
        parts.insert(0, fake.last_name().split()[0])
    if rng.random() < 0.5 and not any(c.isdigit() for c in goods):
        parts.append(rng.choice(PACKS[kind]).format(n=rng.choice((2, 3, 4, 5, 6, 10, 12, 20, 24)),
                                                    g=rng.choice((100, 200, 250, 330, 400, 500, 750))))
    while len(" ".join(parts)) > ITEM_TEXT and len(parts) > 1:
        parts.pop(0 if parts[0] != goods else -1)
    return " ".join(parts)


def _case(text: str, upper: bool) -> str:
    return text.upper() if upper else text


def _footer(rng: random.Random, english: bool) -> list[str]:
    """The lines under a roll: a few short thanks and terms, often a longer note or two among them."""
    lines = rng.sample(FOOTERS, rng.randint(1, 3)) if rng.random() < 0.85 else []
    if english and rng.random() < NOTE_SHARE:  # a German till prints no English paragraph
        notes = rng.sample(NOTES, rng.randint(1, 2))
        lines = notes + lines if rng.random() < 0.5 else lines + notes
    return lines


def _extras(loc: Locale, rng: random.Random, regime_name: str, rate: Decimal, totals: dict[str, Any],
            n_items: int, qty: int, trade: str) -> dict[str, Any]:
    """Render-only text around the truth (see the module docstring); each piece drawn or left out."""
    fake = loc.fake
    tax_label = f"{regime_name} {loc.percent(rate)}" if rng.random() < 0.5 else regime_name
    extras: dict[str, Any] = {
        "label_words": {"tax": (regime_name, "Tax"), "registration_number": (regime_name, "Reg", "Tax ID")},
        "doc_title": rng.choice(TITLES) if rng.random() < 0.75 else None,
        "copy_mark": rng.choice(COPY_MARKS) if rng.random() < 0.3 else None,
        "brand": _case(f"{fake.last_name()} {trade}", True) if rng.random() < 0.25 else None,
        "company_no": None,
        "contact": [],
        "staff": [],
        "counts": None,
        "tax_summary": None,
        "total_lines": [],
        "footer": _footer(rng, loc.cldr.startswith("en")),
        "barcode": fake.numerify("#" * rng.choice((8, 12, 13))) if rng.random() < 0.35 else None,
        "pos_code": fake.bothify(rng.choice(("?# ??## ?#", "??## ?###", "?#-##"))) if rng.random() < 0.5 else None,
    }
    number = loc.company_number()
    if number and rng.random() < 0.7:
        extras["company_no"] = rng.choice((f"({number})", f"Co. Reg No: {number}", f"Company No. {number}",
                                           f"({number}) ", f"ROC: {number}"))
    if rng.random() < 0.35:
        extras["contact"].append(f"Fax: {loc.phone()}")
    if rng.random() < 0.4:
        extras["contact"].append(rng.choice(("", "Email: ", "E-mail: ")) + fake.free_email())
    if rng.random() < 0.2:
        extras["contact"].append(f"www.{fake.domain_word()}.com")
    if rng.random() < 0.7:
        extras["staff"].append(f"{rng.choice(STAFF)}: {_case(fake.first_name(), rng.random() < 0.5)}")
    if rng.random() < 0.4:
        extras["staff"].append(rng.choice(("Terminal", "POS", "Counter", "Till")) + f": {rng.randint(1, 12):02d}")
    if trade in STORES["restaurant"][0] and rng.random() < 0.7:
        extras["staff"].append(f"Table: {rng.randint(1, 60)}   Pax: {rng.randint(1, 8)}")
    if rng.random() < 0.45:
        extras["counts"] = f"Item(s): {n_items}   Qty(s): {qty}"
    if rng.random() < 0.4:
        extras["tax_summary"] = [[f"{regime_name} Summary", "Amount", "Tax"],
                                 [tax_label, totals["subtotal"], totals["tax"]]]
    # a "total incl. tax" line after the total repeats it; not on a rolled-up total (it would state another amount)
    if rng.random() < 0.35 and not totals.get("adjusted"):
        extras["total_lines"].append([f"Total Incl. {regime_name}", totals["total"]])
    return extras


def make(ctx: ValueContext) -> dict:
    loc, fake, rng = ctx.loc, ctx.loc.fake, ctx.rng
    when = fake.date_time_between_dates(dt.datetime(2016, 1, 1), dt.datetime(2026, 12, 31, 23, 59))
    kind = rng.choice(sorted(STORES))
    trades, goods = STORES[kind]
    trade = rng.choice(trades)
    upper = rng.random() < 0.6  # till rolls print in capitals more often than not
    n = rng.randint(8, 15) if rng.random() < 0.25 else rng.randint(1, 7)  # some long rolls
    n = ctx.want.get("items", n)  # a roll length the page asks for (synth --like; within the schema's range)
    items = []
    dress = random.Random(rng.getrandbits(32)) if kind != "restaurant" else None  # shelf goods name brand and pack
    for _ in range(n):
        qty = Decimal(rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 6)))
        unit = money_round(Decimal(str(log_uniform(rng, 0.4, 45))))
        what = _dressed(rng.choice(goods), kind, fake, dress) if dress else rng.choice(goods)
        items.append(line_item(loc, _case(what, upper and rng.random() < 0.8), qty, unit))
    regime = tax_regime(loc.territory, when.date())
    rate = Decimal(rng.choice(regime.rates))
    step = CASH_ROUNDING.get(loc.territory)
    draw = rng.random() if step else 1.0
    # a till that prices to the step prints a 0.00 adjustment; most round subtotal + tax and print it
    if draw < 0.25:
        _round_to_step(loc, items, rate, Decimal(step))
    subtotal, tax, total = _totals(loc, items, rate)
    rounding = None
    if step and draw < 0.85:
        rounding = _to_step(total, Decimal(step)) - total
        total += rounding
    method = rng.choice(_payments())
    tendered = _tendered(total, rng) if method == "Cash" else total
    name = _case(loc.company((trade if upper else trade.title()) if rng.random() < 0.6 else ""), upper)
    if len(name) > 24 and rng.random() < 0.35:
        name = _two_lines(name)
    address = _case(_lines(fake.address(), rng.randint(22, 40), rng.randint(2, 4), rng), upper and rng.random() < 0.8)
    time_format = rng.choice(TIME_FORMATS)
    printed = {"subtotal": loc.money(subtotal), "tax": loc.money(tax), "total": loc.money(total),
               "adjusted": bool(rounding)}
    ctx.extras.update(_extras(loc, rng, regime.name, rate, printed, n,
                              int(sum(Decimal(str(i["quantity"].typed)) for i in items)), trade))
    if kind != "restaurant" and rng.random() < 0.4:  # shelf goods: an article or EAN code per item line
        ctx.extras["item_codes"] = [fake.ean13() if rng.random() < 0.5 else fake.numerify("#######") for _ in items]
    values = {
        "store_name": V.of(name),
        "store_address": V.of(address),
        "phone": V.of(loc.phone()),
        "registration_number": V.of(loc.tax_id(when.date())),
        "date": V.of(loc.date(when.date(), _date_format(loc, rng)), when.date().isoformat()),
        "time": V.of(loc.time(when.time(), time_format),
                     when.strftime("%H:%M:%S" if "ss" in time_format else "%H:%M")),
        "receipt_number": V.of(fake.bothify(rng.choice(RECEIPT_NUMBERS), letters="ABCDEFGHIKLMNPRSTVX")),
        "items": items,
        "subtotal": V.of(printed["subtotal"], subtotal),
        "tax": V.of(printed["tax"], tax),
        "rounding": V.of(loc.money(rounding), rounding) if rounding is not None else None,
        "total": V.of(loc.money(total, symbol=rng.random() < 0.5), total),
        "payment_method": V.of(_case(method, upper and rng.random() < 0.5)),
        "tendered": V.of(loc.money(tendered), tendered),
        "change": V.of(loc.money(tendered - total), tendered - total),
    }
    if values["rounding"] is None:
        del values["rounding"]  # no rounding line: the optional field is left out, so no label is printed for it
    return values
