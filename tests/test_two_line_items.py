"""The ocr teacher's headerless item reader on items printed on two lines (description, then
code / count x unit price / amount), built from OCR rows with word boxes the way rapidocr
returns them, next to a one-line table that must read as before."""

from distill.extract import extract
from distill.ocr import OcrLine
from docfoundry.doctypes import load_doc_type

H, CHAR = 20, 10  # a line's height and one character's width, in pixels


def line(text: str, x: int, y: int) -> OcrLine:
    """One OCR line at (x, y) with a box per space-separated word."""
    words, at = [], x
    for word in text.split(" "):
        words.append((word, [at, y, at + CHAR * len(word), y + H]))
        at += CHAR * (len(word) + 1)
    return OcrLine(text, [x, y, words[-1][1][2], y + H], 0.98, words)


def items_of(lines: list[OcrLine]) -> list[dict[str, str]]:
    fields, _ = extract(load_doc_type("receipt"), lines)
    return fields["items"]


def test_items_on_two_lines_with_codes_glued_counts_and_a_skewed_amount():
    lines = [
        line("NORTHWIND GROCERY", 120, 0),
        line("12 Mill Lane, Springfield", 100, 25),
        line("Tel: 0123456789", 120, 50),
        line("Cashier: Ann", 20, 75),
        line("Items: 3", 300, 75),
        line("Green tea 500ml", 20, 100),
        line("1 x 2.50", 40, 124), line("2.50", 400, 124),
        line("Rice 5kg", 20, 150),
        line("C1234 2x12.00", 40, 174), line("24.00", 390, 174),
        line("Apple juice", 20, 200),
        line("3.60", 400, 208),  # the page is skewed: the amount rides between the two lines
        line("3 × 1.20", 40, 224),
        line("Subtotal", 20, 270), line("30.10", 390, 270),
        line("Total", 20, 300), line("30.10", 390, 300),
    ]
    assert items_of(lines) == [
        {"description": "Green tea 500ml", "quantity": "1", "unit_price": "2.50", "amount": "2.50"},
        {"description": "Rice 5kg", "quantity": "2", "unit_price": "12.00", "amount": "24.00"},
        {"description": "Apple juice", "quantity": "3", "unit_price": "1.20", "amount": "3.60"},
    ]


def test_one_line_items_count_first_still_read_and_summary_rows_are_not_items():
    lines = [
        line("NORTHWIND GROCERY", 120, 0),
        line("12 Mill Lane, Springfield", 100, 25),
        line("Table: 12 Pax: 2", 20, 60),
        line("2 Tea 4x4", 20, 100), line("1.50", 250, 100), line("3.00", 390, 100),
        line("1 Rice bowl", 20, 130), line("6.00", 250, 130), line("6.00", 390, 130),
        line("Items: 2 Qty: 3", 20, 160),
        line("Total", 20, 200), line("9.00", 390, 200),
    ]
    assert items_of(lines) == [
        {"description": "Tea 4x4", "quantity": "2", "unit_price": "1.50", "amount": "3.00"},
        {"description": "Rice bowl", "quantity": "1", "unit_price": "6.00", "amount": "6.00"},
    ]


def test_an_article_code_before_the_description_is_not_part_of_it():
    lines = [
        line("NORTHWIND HARDWARE", 120, 0),
        line("12 Mill Lane, Springfield", 100, 25),
        line("6235198834210 WIRE 1.5MM", 20, 100),   # an EAN-13
        line("1 x 33.42", 40, 124), line("33.42", 390, 124),
        line("5041907 GLOVES BOX", 20, 150),         # a 7-digit article number
        line("2 x 4.81", 40, 174), line("9.62", 400, 174),
        line("4x4 POST CAP", 20, 200),               # a size in the description stays
        line("1 x 2.00", 40, 224), line("2.00", 400, 224),
        line("Total", 20, 270), line("45.04", 390, 270),
    ]
    assert [i["description"] for i in items_of(lines)] == ["WIRE 1.5MM", "GLOVES BOX", "4x4 POST CAP"]
