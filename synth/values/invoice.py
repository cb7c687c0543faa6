"""Invoice values: amount = qty x unit price, subtotal = sum, tax = subtotal x rate, total = subtotal + tax."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from synth.locales import money_round
from synth.values import V, ValueContext, line_item, lines, log_uniform, taxed_totals

SERVICES = ("Consulting", "Design", "Maintenance", "Installation", "Support", "Licence", "Training",
            "Hosting", "Audit", "Repair", "Delivery", "Development", "Cleaning", "Translation")
GOODS = ("Cable", "Monitor", "Paper A4", "Toner", "Chair", "Desk lamp", "Router", "Laptop stand",
         "Printer", "Keyboard", "Adapter", "Headset", "Storage box", "Whiteboard")


def make(ctx: ValueContext) -> dict:
    loc, fake, rng = ctx.loc, ctx.loc.fake, ctx.rng
    issued = fake.date_between_dates(dt.date(2016, 1, 1), dt.date(2026, 12, 31))
    days = rng.choice((0, 7, 14, 30, 45, 60))
    items = []
    for _ in range(rng.randint(1, 8)):
        hourly = rng.random() < 0.3
        qty = Decimal(rng.choice((1, 1, 2, 3, 4, 5, 8, 10, 12, 20, 25, 50)))
        if hourly:
            qty = Decimal(rng.choice(("0.5", "1.5", "2.5", "4", "7.5", "12", "16")))
        unit = money_round(Decimal(str(log_uniform(rng, 1.5, 2500))))
        what = rng.choice(SERVICES if hourly else GOODS)
        desc = f"{what} - {fake.word().capitalize()}" if rng.random() < 0.5 else what
        items.append(line_item(loc, desc, qty, unit))
    subtotal, rate, tax, total = taxed_totals(loc, items, rng)
    symbol = rng.random() < 0.6
    prefix = rng.choice(("INV", "RE", "F", "", "No"))
    number = f"{prefix}{'-' if prefix else ''}{issued.year}-{rng.randint(1, 99999):05d}"
    return {
        "invoice_number": V.of(number),
        "invoice_date": V.of(loc.date(issued), issued.isoformat()),
        "due_date": V.of(loc.date(issued + dt.timedelta(days=days)),
                         (issued + dt.timedelta(days=days)).isoformat()),
        "currency": V.of(loc.currency),
        "vendor": {
            "name": V.of(fake.company()),
            "address": V.of(lines(fake.address())),
            "tax_id": V.of(loc.tax_id()),
        },
        "customer": {
            "name": V.of(fake.company() if rng.random() < 0.7 else fake.name()),
            "address": V.of(lines(fake.address())),
        },
        "line_items": items,
        "subtotal": V.of(loc.money(subtotal), subtotal),
        "tax_rate": V.of(loc.percent(rate), rate),
        "tax_amount": V.of(loc.money(tax), tax),
        "total": V.of(loc.money(total, symbol=symbol), total),
        "payment": {
            "iban": V.of(loc.iban()),
            "terms": V.of("Due on receipt" if days == 0 else f"Net {days}"),
        },
    }
