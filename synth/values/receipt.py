"""Receipt values: line totals, subtotal + tax = total, change = tendered - total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from synth.locales import money_round
from synth.values import V, ValueContext, line_item, lines, log_uniform, taxed_totals

ITEMS = ("Milk 1L", "Bread", "Coffee", "Tea", "Eggs 12", "Apples", "Bananas", "Cheese", "Butter",
         "Water 1.5L", "Orange juice", "Pasta", "Rice 1kg", "Tomatoes", "Chicken", "Yogurt",
         "Croissant", "Sandwich", "Salad", "Soup", "Cola", "Beer", "Chocolate", "Crisps", "Soap",
         "Shampoo", "Batteries", "Notebook", "Pen", "Espresso", "Cappuccino", "Muffin")
PAYMENTS = ("Cash", "Card", "VISA", "Mastercard", "Debit", "Contactless")


def _tendered(total: Decimal, rng) -> Decimal:
    """Cash handed over: the next round note above the total."""
    step = Decimal(rng.choice((1, 5, 10, 20, 50)))
    return ((total // step) + 1) * step


def make(ctx: ValueContext) -> dict:
    loc, fake, rng = ctx.loc, ctx.loc.fake, ctx.rng
    when = fake.date_time_between_dates(dt.datetime(2016, 1, 1), dt.datetime(2026, 12, 31, 23, 59))
    items = []
    for _ in range(rng.randint(1, 12)):
        qty = Decimal(rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 6)))
        unit = money_round(Decimal(str(log_uniform(rng, 0.4, 45))))
        items.append(line_item(loc, rng.choice(ITEMS), qty, unit))
    subtotal, _, tax, total = taxed_totals(loc, items, rng)
    method = rng.choice(PAYMENTS)
    tendered = _tendered(total, rng) if method == "Cash" else total
    return {
        "store_name": V.of(fake.company()),
        "store_address": V.of(lines(fake.address(), 2)),
        "phone": V.of(fake.phone_number()),
        "registration_number": V.of(loc.tax_id()),
        "date": V.of(loc.date(when.date(), rng.choice(("short", "medium"))), when.date().isoformat()),
        "time": V.of(loc.time(when.time()), when.strftime("%H:%M")),
        "receipt_number": V.of(f"{rng.randint(1, 9999):04d}-{rng.randint(1, 999999):06d}"),
        "items": items,
        "subtotal": V.of(loc.money(subtotal), subtotal),
        "tax": V.of(loc.money(tax), tax),
        "total": V.of(loc.money(total, symbol=rng.random() < 0.5), total),
        "payment_method": V.of(method),
        "tendered": V.of(loc.money(tendered), tendered),
        "change": V.of(loc.money(tendered - total), tendered - total),
    }
