"""Amounts from the schema's arithmetic (``x-checks``): read, repaired and trusted by it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distill.extract.kinds import _is_amount
from distill.extract.page import Found, Page, Seg
from docfoundry.doctypes import DocType

SCORE_FROM_CHECK = 0.6


def _printed_amounts(page: Page) -> list[tuple[Any, str, Seg]]:
    from docfoundry.normalize import as_decimal

    out = []
    for s in page.segs:
        for token in s.text.split():
            if _is_amount(token) and "%" not in token and (d := as_decimal(token)) is not None:
                out.append((d, token, s))
    return out


def _amount_checks(doc: DocType, value: Callable[[str], Any]) -> list[tuple[str, list[str], str]]:
    """The schema's add / subtract relations between single amounts as ``(op, terms, target)``, an
    ``optional`` term left out where ``value`` says the page does not print it (no rounding line)."""
    out = []
    for check in doc.checks:
        op = "add" if check.get("add") else "subtract" if check.get("subtract") else ""
        target = check.get("equals")
        if not op or not isinstance(target, str) or "[]" in target or any("[]" in t for t in check[op]):
            continue
        optional = set(check.get("optional", ()))
        out.append((op, [t for t in check[op] if t not in optional or value(t)], target))
    return out


def _found_text(page: Page) -> Callable[[str], Any]:
    """A pattern's value as read on the page (``None`` when it was not found)."""
    return lambda t: page.found[t].value if t in page.found else None


def _read_from_checks(page: Page, doc: DocType) -> None:
    """An amount printed without a label the schema knows, found by its x-checks: with
    ``change = tendered - total`` the total is tendered minus change, with ``total = subtotal + tax``
    and no tax printed it is the subtotal; the value is taken only as printed on the page."""
    from docfoundry.normalize import as_decimal

    def value(pattern: str) -> Any:
        f = page.found.get(pattern)
        return as_decimal(f.value) if f is not None and f.value else None

    printed = None
    for op, terms, target in _amount_checks(doc, value):
        known = {t: value(t) for t in [*terms, target]}
        missing = [t for t, v in known.items() if v is None]
        if len(missing) != 1 and not (op == "add" and target in missing):
            continue
        if op == "add":
            want = missing[0] if len(missing) == 1 else target
            if want == target:
                found_terms = [known[t] for t in terms if known[t] is not None]
                if not found_terms:
                    continue
                # the sum, else one term alone (a tax read from a registration line is no tax)
                options = [sum(found_terms), *sorted(found_terms, reverse=True)]
                printed = printed if printed is not None else _printed_amounts(page)
                result = next((r for r in options if any(d == r for d, _, _ in printed)), None)
            else:
                result = known[target] - sum(v for t, v in known.items() if t not in (target, want))
        else:
            a, b = terms
            want = missing[0]
            result = {target: known[a] - known[b] if known[a] is not None and known[b] is not None else None,
                      a: known[target] + known[b] if known[target] is not None and known[b] is not None else None,
                      b: known[a] - known[target] if known[a] is not None and known[target] is not None else None}[want]
        if result is None or result <= 0:
            continue
        printed = printed if printed is not None else _printed_amounts(page)
        hits = [(token, s) for d, token, s in printed if d == result]
        if hits:
            token, s = hits[-1]
            page.found[want] = Found(token, s.score * SCORE_FROM_CHECK, [s])


def _repair_from_checks(page: Page, doc: DocType) -> None:
    """An amount OCR or the label reading got wrong, put right by the schema's arithmetic: when
    relations between the amounts read break, the one change of one amount to another amount printed
    on the page that makes the most of them hold (none newly broken) is made ("Total 112.46" where
    subtotal + tax + rounding and cash - change both give the 112.45 printed as the cash)."""
    from docfoundry.normalize import as_decimal

    checks = _amount_checks(doc, _found_text(page))
    if not checks:
        return

    def values(override: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for _, terms, target in checks:
            for t in [*terms, target]:
                f = page.found.get(t)
                out[t] = override.get(t, as_decimal(f.value) if f is not None and f.value else None)
        return out

    def holding(vals: dict[str, Any]) -> tuple[int, set[int]]:
        held, broken = 0, set()
        for i, (op, terms, target) in enumerate(checks):
            operands = [vals.get(t) for t in terms]
            if vals.get(target) is None or any(v is None for v in operands):
                continue
            result = sum(operands) if op == "add" else operands[0] - sum(operands[1:])
            if result == vals[target]:
                held += 1
            else:
                broken.add(i)
        return held, broken

    base = values({})
    held, broken = holding(base)
    if not broken:
        return
    printed = _printed_amounts(page)
    options: dict[tuple[str, Any], int] = {}
    for i in broken:
        op, terms, target = checks[i]
        for want in [*terms, target]:
            rest = {t: base[t] for t in [*terms, target] if t != want}
            if any(v is None for v in rest.values()):
                continue
            if want == target:
                v = sum(rest[t] for t in terms) if op == "add" else rest[terms[0]] - sum(rest[t] for t in terms[1:])
            elif op == "add":
                v = rest[target] - sum(rest[t] for t in terms if t != want)
            else:
                v = rest[target] + sum(rest[t] for t in terms[1:] if t != want) if want == terms[0] \
                    else rest[terms[0]] - rest[target] - sum(rest[t] for t in terms[1:] if t not in (want,))
            if v is None or v <= 0 or v == base[want] or not any(d == v for d, _, _ in printed):
                continue
            now_held, now_broken = holding(values({want: v}))
            if now_held > held and now_broken <= broken:
                options[(want, v)] = now_held
    if not options:
        return
    best = max(options.values())
    winners = [k for k, n in options.items() if n == best]
    if len(winners) != 1:
        return  # two repairs explain the page as well: keep what was read
    want, v = winners[0]
    token, seg = [(tok, s) for d, tok, s in printed if d == v][-1]
    page.found[want] = Found(token, seg.score * SCORE_FROM_CHECK, [seg])


def _checked_confidence(page: Page, doc: DocType) -> None:
    """The schema's arithmetic as evidence: amounts that satisfy an x-check together (total =
    subtotal + tax, change = tendered - total) are surer, amounts that break one less sure."""
    from docfoundry.normalize import as_decimal

    for op, terms, target in _amount_checks(doc, _found_text(page)):
        found = [page.found.get(t) for t in [*terms, target]]
        if any(f is None or not f.value for f in found):
            continue
        values = [as_decimal(f.value) for f in found]  # type: ignore[union-attr]
        if any(v is None for v in values):
            continue
        *operands, result = values
        expected = sum(operands) if op == "add" else operands[0] - sum(operands[1:])
        holds = expected == result
        for f in found:
            f.score = f.score + (1 - f.score) * 0.5 if holds else f.score * 0.85  # type: ignore[union-attr]
