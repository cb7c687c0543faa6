"""The `ocr` teacher on W-2-like pages: a grid or card of labelled boxes, where a value belongs to
the box its label heads. Invented OCR layouts (names, numbers and places made up)."""

from __future__ import annotations

from distill.extract import extract
from distill.ocr import OcrLine
from docfoundry.doctypes import load_doc_type


def page(*rows: tuple[str, int, int, int]) -> list[OcrLine]:
    """OCR lines from ``(text, x0, y0, x1)`` rows (height 20, one word box per word, 9 px a letter)."""
    out = []
    for t, x0, y0, x1 in rows:
        words, x = [], x0
        for w in t.split():
            words.append((w, [x, y0, min(x1, x + 9 * len(w)), y0 + 20]))
            x += 9 * (len(w) + 1)
        out.append(OcrLine(t, [x0, y0, x1, y0 + 20], 0.99, words))
    return out


def w2(*rows: tuple[str, int, int, int]) -> dict:
    return extract(load_doc_type("w2"), page(*rows))[0]


def test_a_stacked_box_ends_at_the_next_label_under_it():
    """Label, value, next label, next value, down one column: the name is one box, the address
    the next one (a value does not run on past another field's label)."""
    fields = w2(
        ("c Employer's name, address, and ZIP code", 100, 100, 400),
        ("Orchard Mills", 100, 120, 240), ("77 Quarry Road", 100, 140, 260), ("Elmstead, OR 97001", 100, 160, 300),
        ("d Control number", 100, 182, 240), ("31415", 100, 202, 160),
        ("e Employee's first name and initial Last name", 600, 100, 960), ("Dana Q Vale", 600, 120, 720),
        ("f Employee's address and ZIP code", 600, 142, 880),
        ("9 Birch Court Apt. 4", 600, 162, 800), ("Fernbrook, VT 05001", 600, 182, 800),
    )
    assert fields["employer_name_address"] == "Orchard Mills 77 Quarry Road Elmstead, OR 97001"
    assert fields["control_number"] == "31415"
    assert fields["employee_name"] == "Dana Q Vale"
    assert fields["employee_address"] == "9 Birch Court Apt. 4 Fernbrook, VT 05001"


def test_box_12_items_are_read_from_their_labelled_boxes():
    """"12a" / "12b" boxes side by side, each with a code at its left and an amount at its right
    edge; an empty "12c" box stays out of the array."""
    fields = w2(
        ("f Employee's address and ZIP code", 700, 300, 980),
        ("9 Birch Court Apt. 4", 700, 320, 900), ("Fernbrook, VT 05001", 700, 340, 900),
        ("12a", 70, 300, 100), ("12b", 350, 300, 380),
        ("W.", 70, 322, 100), ("1,250.00", 260, 322, 340), ("DD", 350, 322, 380), ("8,004.17", 560, 322, 640),
        ("12c", 70, 360, 100), ("12d", 350, 360, 380),
    )
    assert fields["box12"] == [{"code": "W", "amount": "1,250.00"}, {"code": "DD", "amount": "8,004.17"}]
    assert fields["employee_address"] == "9 Birch Court Apt. 4 Fernbrook, VT 05001"


def test_box_12_under_its_heading_is_read_after_the_address_boxes():
    """A payroll statement: the address lines end in a ZIP code (text then a number, like a table
    row); the box 12 rows under their "Box 12" heading are the table, the address stays whole."""
    fields = w2(
        ("f Employee's address and ZIP code", 100, 100, 380),
        ("9 Birch Court Apt. 4", 100, 120, 300), ("Fernbrook, VT 05001", 100, 140, 300),
        ("14 Other", 100, 200, 180),
        ("Box 12", 100, 240, 160),
        ("D", 100, 262, 112), ("3,429.26", 900, 262, 980),
        ("DD", 100, 284, 120), ("612.00", 920, 284, 980),
    )
    assert fields["employee_address"] == "9 Birch Court Apt. 4 Fernbrook, VT 05001"
    assert fields["box12"] == [{"code": "D", "amount": "3,429.26"}, {"code": "DD", "amount": "612.00"}]
    assert fields["other"] == ""  # the heading under an empty box is not its value


def test_a_state_table_header_with_an_ocr_slip_still_names_its_column():
    """"16 State wages, tips, ete." (OCR for "etc."): the column is still the state wages, so the
    wages and the tax under it are not read as one cell of the next column."""
    fields = w2(
        ("15 State Employer's state ID number 16 State wages, tips, ete. 17 State income tax", 100, 600, 838),
        ("MN", 100, 630, 118), ("MN794724060", 181, 630, 280), ("48,384.15", 577, 630, 658), ("2,693.18", 766, 630, 838),
    )
    state = fields["states"][0]
    assert (state["state"], state["employer_state_id"]) == ("MN", "MN794724060")
    assert (state["state_wages"], state["state_income_tax"]) == ("48,384.15", "2,693.18")


def test_a_party_card_without_box_labels_reads_name_and_address_under_the_partys_id():
    """Employer and employee cards side by side: a heading, the id with its label, then the name
    and address lines with no label of their own (the boxes' labels are not printed)."""
    fields = w2(
        ("Employer", 100, 180, 190), ("Employee", 650, 180, 740),
        ("b Employer identification number (EIN): 43-3587169", 100, 202, 520),
        ("a Employee's social security number: 378-43-3491", 650, 202, 1060),
        ("Orchard Mills", 100, 224, 240), ("Dana Q Vale", 650, 224, 780),
        ("77 Quarry Road", 100, 246, 260), ("9 Birch Court Apt. 4", 650, 246, 850),
        ("Elmstead, OR 97001", 100, 268, 300), ("Fernbrook, VT 05001", 650, 268, 850),
        ("d Control number: 31933", 100, 290, 300),
        ("1 Wages, tips, other compensation", 100, 330, 380), ("76,846.96", 365, 352, 452),
    )
    assert fields["employer_ein"] == "43-3587169" and fields["control_number"] == "31933"
    assert fields["employer_name_address"] == "Orchard Mills 77 Quarry Road Elmstead, OR 97001"
    assert fields["employee_name"] == "Dana Q Vale"
    assert fields["employee_address"] == "9 Birch Court Apt. 4 Fernbrook, VT 05001"
    assert fields["wages"] == "76,846.96"


def test_a_box_12_code_left_of_an_amount_printed_a_little_higher_is_kept():
    """The amount at the box's right edge sits a few pixels above the code: the box's row under
    its label is read from the box's left edge, not from the amount."""
    fields = w2(("12a", 70, 300, 100), ("12b", 350, 300, 380), ("D", 70, 324, 82), ("13,169.13", 260, 321, 340))
    assert fields["box12"] == [{"code": "D", "amount": "13,169.13"}]


def test_box_13_checks_are_the_marks_over_or_beside_their_labels():
    """A ticked box over its label reads as one glyph; an empty box reads as nothing; the
    neighbouring label (misread, so not known as one) is no mark."""
    fields = w2(
        ("13", 86, 573, 106), ("凶", 265, 590, 297),
        ("Statutory emplovee", 86, 615, 174), ("Retirement plan", 266, 615, 342), ("Thind-party sick pay", 449, 615, 540),
    )
    assert (fields["statutory_employee"], fields["retirement_plan"], fields["third_party_sick_pay"]) == ("", "X", "")
    lines = w2(("Statutory employee", 134, 676, 302), ("Retirement plan", 133, 700, 273), ("x", 1121, 702, 1143),
               ("Third-party sick pay", 132, 728, 321))
    assert (lines["statutory_employee"], lines["retirement_plan"], lines["third_party_sick_pay"]) == ("", "X", "")


def test_a_bordered_table_row_keeps_every_line_of_its_value():
    """Label cell | value cell, one row per box: a value of several lines ends at the line on the
    next label's row."""
    fields = w2(
        ("f Employee's address and ZIP code", 87, 152, 381),
        ("9 Birch Court Apt. 4", 482, 159, 702), ("Fernbrook, VT 05001", 481, 179, 672),
        ("b Employer identification number (EIN)", 87, 202, 410), ("76-7212373", 480, 205, 579),
        ("c Employer's name, address, and ZIP code", 89, 230, 437),
        ("Orchard Mills", 479, 234, 622), ("77 Quarry Road", 480, 254, 632), ("Elmstead, OR 97001", 479, 274, 645),
        ("d Control number", 88, 294, 238), ("31415", 479, 298, 535),
    )
    assert fields["employee_address"] == "9 Birch Court Apt. 4 Fernbrook, VT 05001"
    assert fields["employer_ein"] == "76-7212373"
    assert fields["employer_name_address"] == "Orchard Mills 77 Quarry Road Elmstead, OR 97001"
    assert fields["control_number"] == "31415"


def test_the_last_box_of_a_row_reaches_the_page_edge_and_a_neighbouring_box_label_is_no_value():
    """The IRS grid: "2 Federal income tax withheld" is the last box of its row, its amount at the
    page's right edge; "11 Nonqualified plans" is empty, the "12a ..." box label beside it holds
    a number that is not its value."""
    fields = w2(
        ("1 Wages, tips, other compensation", 639, 176, 827), ("2 Federal income tax withheld", 926, 178, 1087),
        ("87,157.95", 830, 190, 922), ("11,070.04", 1114, 189, 1208),
        ("11 Nonqualified plans", 638, 443, 759), ("12a See instructions for box 12", 926, 445, 1093),
        ("D", 925, 462, 947), ("6,598.63", 1124, 462, 1206),
    )
    assert fields["wages"] == "87,157.95" and fields["federal_income_tax"] == "11,070.04"
    assert fields["nonqualified_plans"] == ""
    assert fields["box12"] == [{"code": "D", "amount": "6,598.63"}]


def test_box_12_and_state_tables_side_by_side_keep_to_their_own_columns():
    """Two bordered tables share their rows: box 12 (code | amount) left of the states table; each
    table's cells are the ones under its own header."""
    fields = w2(
        ("12 Code", 81, 500, 161), ("Amount", 313, 500, 388),
        ("15 State", 412, 500, 479), ("Employer's state ID number", 490, 500, 645),
        ("16 State wages, tips, etc.", 656, 500, 890),
        ("D", 85, 535, 106), ("623.73", 326, 535, 386), ("NY", 411, 535, 446), ("NY879667384", 490, 535, 596),
        ("21,943.37", 800, 535, 884),
        ("DD", 83, 567, 120), ("4,905.14", 311, 567, 385),
    )
    assert fields["box12"] == [{"code": "D", "amount": "623.73"}, {"code": "DD", "amount": "4,905.14"}]
    state = fields["states"][0]
    assert (state["state"], state["employer_state_id"], state["state_wages"]) == ("NY", "NY879667384", "21,943.37")


def test_a_box_ends_at_a_state_column_label_under_it():
    """Box 14 over the state rows: the label of a state column under "14 Other" ends its value."""
    fields = w2(("14 Other", 922, 512, 979), ("SDI 1560.00", 920, 530, 1043), ("19 Local income tax", 917, 552, 1053))
    assert fields["other"] == "SDI 1560.00"


def test_a_value_under_its_box_label_wins_over_the_next_box_beside_it():
    """The IRS grid's first row: "a Employee's social security number" with its number under it,
    and the next box's "OMB No. 1545-0029" on the label's row (an id too)."""
    fields = w2(("a Employee's social security number", 65, 121, 261), ("OMB No. 1545-0029", 638, 123, 750),
                ("872-20-3965", 67, 141, 179))
    assert fields["employee_ssn"] == "872-20-3965"


def test_a_heading_after_a_bullet_dot_is_still_the_heading():
    """"· Box 12" (a stray dot before the heading): the heading ends box 14 and heads the table."""
    fields = w2(("14 Other", 109, 685, 209), ("· Box 12", 90, 716, 178),
                ("D", 108, 741, 129), ("2,577.77", 1067, 741, 1164), ("DD", 109, 780, 141), ("21,184.33", 1055, 780, 1164))
    assert fields["other"] == ""
    assert fields["box12"] == [{"code": "D", "amount": "2,577.77"}, {"code": "DD", "amount": "21,184.33"}]
