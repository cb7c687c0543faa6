"""A receipt field whose schema lists its values (``x-choices``: payment_method) is read by those
values where its label is not printed, never by where a line sits. Invented OCR rows."""

from test_two_line_items import line

from distill.extract import extract
from docfoundry.doctypes import load_doc_type


def receipt(*foot: tuple[str, int]) -> list:
    """A till roll with two items, a count line and totals, then the ``foot`` lines (text, x)."""
    lines = [
        line("NORTHWIND GROCERY", 120, 0),
        line("12 Mill Lane, Springfield", 100, 25),
        line("Cashier: Ann", 20, 50),
        line("Green tea 500ml", 20, 100), line("2.50", 400, 100),
        line("Rice 5kg", 20, 125), line("24.00", 390, 125),
        line("Item(s): 2 Qty(s): 2", 20, 160),
        line("Subtotal", 20, 190), line("26.50", 390, 190),
        line("Total", 20, 215), line("26.50", 390, 215),
    ]
    return lines + [line(text, x, 240 + 25 * i) for i, (text, x) in enumerate(foot)]


def payment(lines: list) -> str:
    fields, _ = extract(load_doc_type("receipt"), lines)
    return fields["payment_method"]


def test_an_unlabelled_payment_is_the_line_that_reads_as_one_of_its_choices():
    assert payment(receipt(("Mastercard", 300), ("Tendered", 20), ("Change", 20))) == "Mastercard"
    assert payment(receipt(("VISA ****1234", 260))) == "VISA"       # a card's masked number after it
    assert payment(receipt(("CONTACTLESS", 300))) == "CONTACTLESS"  # as printed, in any case


def test_no_line_that_reads_as_a_choice_leaves_the_payment_empty():
    # before, the line under the total's label run was taken ("Item(s): 2 Qty(s): 2", "Cashier: Ann")
    assert payment(receipt(("Thank you", 150))) == ""
    assert payment(receipt(("Cashier: Cardo", 20))) == ""  # a choice's letters going on are no choice
