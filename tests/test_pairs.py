"""Key -> value pairing by layout (distill.pairs): a hand-made OCR layout, the schema hook, and real
FUNSD forms scored against the truth of their labels.jsonl."""

from __future__ import annotations

import json

import pytest
from real_data import FUNSD

from distill.ocr import OcrLine
from distill.pairs import is_colon_key, is_label_like, pair_arrays, read_page_pairs

H = 20  # line height of the hand-made page, in pixels


def line(text: str, x: int, y: int, char_w: int = 10) -> OcrLine:
    """An OCR line at (x, y) with one box per word (``char_w`` pixels a character, one space apart)."""
    words, cx = [], x
    for w in text.split():
        words.append((w, [cx, y, cx + char_w * len(w), y + H]))
        cx += char_w * (len(w) + 1)
    return OcrLine(text, [x, y, words[-1][1][2], y + H], 0.98, words)


def page() -> list[OcrLine]:
    """A form with colon keys, a key glued to its value, label keys in a key column, a table row
    with a unit, a multi-line answer, a checkbox group and a paragraph that is no pair."""
    return [
        line("APPLICATION FOR A PERMIT", 200, 20),
        line("TO: George Baroody", 50, 80),                   # colon key and value in one OCR line
        line("FAX:614-466-5087", 500, 80),                    # ... in one word
        line("Reference", 50, 120), line("AB-12345", 300, 120),   # label keys in a key column,
        line("Department", 50, 160), line("Sales", 300, 160),     # whose values read like labels
        line("Emergency contact", 50, 200), line("Mary Major", 300, 200),
        line("Net Weight", 50, 240), line("245", 300, 240), line("mg", 340, 240),   # OCR cut the cell
        line("Comments:", 50, 280), line("The parcel arrived late and", 300, 280),
        line("was left at the gate.", 300, 300),              # the answer goes on under itself
        line("Priority:", 50, 340), line("☐Low", 300, 340), line("Medium", 400, 340), line("☐High", 500, 340),
        line("Please return this form to the office before the end of the month.", 50, 400),
    ]


def test_pairs_of_a_hand_made_form():
    pairs, groups = read_page_pairs(page())
    got = [(p.question, p.answer) for p in pairs]
    assert got == [("TO:", "George Baroody"), ("FAX:", "614-466-5087"), ("Reference", "AB-12345"),
                   ("Department", "Sales"), ("Emergency contact", "Mary Major"), ("Net Weight", "245 mg"),
                   ("Comments:", "The parcel arrived late and was left at the gate.")]
    assert [(g.question, g.answer, g.options) for g in groups] == [("Priority:", "Medium", ["Low", "Medium", "High"])]
    assert all(0 < p.score <= 1 for p in pairs + groups)


def test_stacked_cards_pair_by_the_pages_offsets():
    # captions over their values; names read like labels, the dates and numbers show the layout
    cards = [("Full name:", "John Smith"), ("Start date:", "01/02/2020"), ("City:", "Springfield"),
             ("Employee ID:", "E12345"), ("Amount:", "12.50")]
    lines = []
    for i, (q, a) in enumerate(cards):
        lines += [line(q, 60, 100 + 60 * i, char_w=8), line(a, 66, 122 + 60 * i)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [(q, a) for q, a in cards]


def test_a_label_over_text_written_like_it_takes_no_value_from_the_cards_layout():
    # the cards' offset votes "Sales" a caption, but the line under it is written as it is (the
    # same case, not taller): an organisation chart's next title, not a value
    cards = [("Start date:", "01/02/2020"), ("Employee ID:", "E12345"), ("Amount:", "12.50"),
             ("Sales", "Chairman")]
    lines = []
    for i, (q, a) in enumerate(cards):
        lines += [line(q, 60, 100 + 60 * i, char_w=8), line(a, 66, 122 + 60 * i)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [(q, a) for q, a in cards[:3]]


def test_what_a_key_looks_like():
    assert is_colon_key("Date:") and is_colon_key("cc:") and is_colon_key("Name / Phone Ext. :")
    assert not is_colon_key("10:") and not is_colon_key(":") and not is_colon_key("product samples. (Note:")
    assert is_label_like("Invoice No.") and is_label_like("DATE") and is_label_like("Date of birth")
    assert not is_label_like("12/10/98") and not is_label_like("the message to the intended recipient")


def test_a_key_after_a_bullet_or_with_a_capital_read_small():
    # OCR cannot tell c/o/s/u/v/w/x/z from their capitals by shape; a dash or "#" may open a key
    assert is_label_like("city.") and is_label_like("original request made by") and is_label_like("- Speaker")
    assert is_label_like("# Customers Invited") and is_label_like("#Requested")
    assert not is_label_like("apple pie") and not is_label_like("- 12/10/98") and not is_label_like("-")


def test_a_label_in_the_values_column_goes_on_the_value():
    # the second name reads like a label key (a number far right of it), but it starts where the
    # value above starts: it is the value's next line, as FUNSD links a "cc:" list
    lines = [line("Copies to:", 50, 100), line("Dr. Ann Lee", 200, 100), line("Ms. Bo Gray", 200, 121),
             line("5", 600, 121), line("Date:", 50, 180), line("4/19/74", 200, 180)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Copies to:", "Dr. Ann Lee Ms. Bo Gray"), ("Date:", "4/19/74")]


def test_a_value_wraps_back_under_its_colon_key():
    # a sentence that ran to the text's right edge goes on under its key; a short value does not
    lines = [line("Name: John Smith", 50, 60), line("Payment 12 days", 50, 81),
             line("Explain:", 50, 140), line("Chain stores will not accept two offers", 150, 140),
             line("Tier system at the same time.", 50, 161)]
    pairs, _ = read_page_pairs(lines)
    got = {p.question: p.answer for p in pairs}
    assert got["Name:"] == "John Smith"
    assert got["Explain:"] == "Chain stores will not accept two offers Tier system at the same time."


def test_a_stray_dot_beside_a_colon_key_is_no_value():
    pairs, _ = read_page_pairs([line("Date:", 50, 100), line(".", 120, 100), line("4/19/74", 50, 121)])
    assert [(p.question, p.answer) for p in pairs] == [("Date:", "4/19/74")]


def test_pair_arrays_come_from_the_schema():
    from docfoundry.doctypes import load_doc_type

    arrays = pair_arrays(load_doc_type("form").schema)
    assert [(a.head, a.question_pattern, a.answer_pattern, a.checkbox) for a in arrays] == [
        ("fields[]", "fields[].question", "fields[].answer", False),
        ("choices[]", "choices[].question", "choices[].answer", True)]
    assert pair_arrays(load_doc_type("invoice").schema) == []      # line items are no pairs
    schema = {"type": "object", "properties": {"kv": {"type": "array", "items": {"type": "object", "properties": {
        "k": {"type": "string", "x-category": "question"}, "v": {"type": "string", "x-category": "answer"}}}}}}
    assert [(a.head, a.question, a.answer) for a in pair_arrays(schema)] == [("kv[]", "k", "v")]


def test_ocr_teacher_fills_the_form_schema_with_pairs():
    from distill.extract import extract
    from docfoundry.doctypes import load_doc_type

    fields, scores = extract(load_doc_type("form"), page())
    qa = [(f["question"], f["answer"]) for f in fields["fields"]]
    assert ("TO:", "George Baroody") in qa and ("Emergency contact", "Mary Major") in qa
    assert fields["choices"] == [{"question": "Priority:", "answer": "Medium"}]
    assert 0 < scores["fields.0.answer"] <= 1 and 0 < scores["choices.0.answer"] <= 1


def _funsd_rows(n: int, split: str = "test") -> list[dict]:
    assert (FUNSD / "labels.jsonl").is_file(), f"{FUNSD}: the shared FUNSD folder is missing"
    rows = [json.loads(x) for x in (FUNSD / "labels.jsonl").read_text().splitlines() if x.strip()]
    return sorted((r for r in rows if r["split"] == split), key=lambda r: r["id"])[:n]


@pytest.mark.parametrize(("split", "n", "recall", "precision"), [
    ("test", 3, 0.45, 0.3),      # 21 of 36 when written (read as a table before: 0)
    ("train", 3, 0.7, 0.8),      # 43 of 60 truth pairs, 50 predicted
])
def test_real_funsd_forms_pair_against_their_truth(split, n, recall, precision):
    """The first forms of a split by id, read by the ocr teacher end to end (rapidocr, then
    extraction): the pairs it finds are scored against the linked pairs of labels.jsonl."""
    from PIL import Image

    from bench.forms import predicted_pairs, truth_pairs
    from distill.extract import extract
    from distill.ocr import read_page
    from docfoundry.doctypes import load_doc_type
    from eval.metrics import PairCounts, pair_counts

    doc = load_doc_type("form")
    total = PairCounts()
    for row in _funsd_rows(n, split):
        fields, _ = extract(doc, read_page(Image.open(FUNSD / row["image"])))
        c = pair_counts(truth_pairs(row["fields"]), predicted_pairs(doc, fields))
        assert c.matched >= 2, (row["id"], c)
        total.merge(c)
    assert total.matched >= recall * total.truth, total
    assert total.matched >= precision * total.predicted, total


def test_far_text_and_table_rows_are_no_values():
    """A value sits near its key unless the page's key column says it sits far (the value column);
    a label heading a row of several cells is a table row's header, not a key with one value."""
    lines = [
        line("Name:", 50, 100), line("John Smith", 700, 100),      # a key column with far values:
        line("Phone:", 50, 140), line("555-0100", 700, 140),       # each far value is its key's
        line("City:", 50, 180), line("Springfield", 700, 180),
        line("Weight", 50, 260), line("12 units", 800, 260),       # far across the row: another column
        line("STRENGTH", 50, 320), line("4.31", 200, 320), line("4.59", 300, 320), line("4.09", 400, 320),
    ]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [
        ("Name:", "John Smith"), ("Phone:", "555-0100"), ("City:", "Springfield")]


def test_a_label_close_to_its_label_like_value():
    """Label-like text right next to a label is its value ("Subject" "Annual Review"); the same text
    far across the row is not (another column's label)."""
    lines = [line("Subject", 50, 100), line("Annual Review", 100 + 30, 100),
             line("Region", 50, 160), line("North Field", 400, 160)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Subject", "Annual Review")]


def test_a_heading_is_no_label_key():
    """Label-like text much taller than the page's lines is a title: the number beside it is not its
    value; the same words at the page's size are a key."""
    big = 2 * H
    title = OcrLine("ANNUAL REPORT", [50, 20, 400, 20 + big], 0.98,
                    [("ANNUAL", [50, 20, 210, 20 + big]), ("REPORT", [230, 20, 400, 20 + big])])
    year = OcrLine("1998", [440, 30, 480, 30 + H], 0.98, [("1998", [440, 30, 480, 30 + H])])
    lines = [title, year, line("Project No.", 50, 100), line("1989-29", 200, 100),
             line("Prepared for the board of the company", 50, 140)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Project No.", "1989-29")]


def test_leaders_end_a_key_as_a_colon_does():
    """A dash or underscore leader between a key and its value in one OCR segment ends the key
    ("Labels ---- OLD GOLD STRAIGHT"); a hyphen inside a value cuts nothing."""
    lines = [line("Labels ---- OLD GOLD STRAIGHT", 50, 100), line("Tear Tape-- Gold", 50, 140),
             line("Ship to __ North-East depot", 50, 180)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [
        ("Labels", "OLD GOLD STRAIGHT"), ("Tear Tape", "Gold"), ("Ship to", "North-East depot")]


def test_a_bracketed_note_under_a_key_is_its_second_line():
    """A short bracketed note under a key, ending before the key's value, is part of the key
    ("This Change:" / "(From Current Budget)"); a label with one text cell takes that cell's next
    line too ("Copies to" two names)."""
    lines = [line("This Change:", 50, 100), line("-35,675.00", 280, 100),
             line("(From Current Budget)", 50, 120),
             line("Copies to", 50, 200), line("Dr. F. Jones", 170, 200), line("Dr. H. Smith", 170, 220)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [
        ("This Change: (From Current Budget)", "-35,675.00"), ("Copies to", "Dr. F. Jones Dr. H. Smith")]


def test_numbered_keys_in_a_column_pair_with_values_that_read_like_labels():
    """"1. Subject" / "Annual Review Meeting": a numbered key is label-like text after its item
    number, and a column of them is a key column even when every value reads like a label too."""
    rows = [("1. Subject", "Natural Light Review"), ("2. Re", "Second Quarter Plan"), ("3. To", "Jose Ramon Carro"),
            ("4. Prepared by", "Rolando Silva"), ("5. Approved by", "S. S. Mendez")]
    lines = []
    for i, (key, value) in enumerate(rows):
        lines += [line(key, 100, 100 + 45 * i), line(value, 520, 100 + 45 * i)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == rows
    assert is_label_like("3. Prepared by") and not is_label_like("3. 4,806")


def test_a_bracketed_note_beside_or_under_a_key_is_no_value():
    """A digit-free bracketed note under a colon key or beside a label says how to fill it in
    ("(check one)"): it is not the value; a key whose value follows the note still finds it."""
    lines = [line("REGION:", 50, 100), line("(IF PARTIAL REGION, NAME THE DIVISION)", 50, 120),
             line("Blend", 50, 200), line("(check one)", 120, 200),
             line("Amount", 50, 260), line("(in dollars)", 140, 260), line("4,500", 300, 260)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Amount (in dollars)", "4,500")]


def test_a_real_form_keeps_its_bracketed_note_out_of_the_values():
    """FUNSD train form 81619486_9488 prints "(ONLY IF PARTIAL REGION, ...)" under "REGION:", which
    FUNSD links to nothing; its memo keys keep their values."""
    from PIL import Image

    from distill.ocr import read_page

    pairs, _ = read_page_pairs(read_page(Image.open(FUNSD / "images" / "81619486_9488.png")))
    got = {(p.question, p.answer) for p in pairs}
    assert not [p for p in pairs if p.answer.startswith("(")], got
    assert {("TO:", "S. P. ZOLOT"), ("FROM:", "R. W. Richardson")} <= got


def test_a_label_read_in_one_segment_with_its_value():
    """OCR reads a printed label and its value one space on as one segment ("Date Sent 4/19/74"):
    the first text of its row that no key took is cut before its value's first number; a town
    line, a date's month, a code's letters and a sentence going on are no label."""
    lines = [line("Date Sent 4/19/74", 50, 100), line("Project No. 1989-29", 50, 140),
             line("Springfield, IL 62704", 50, 200), line("March 18, 1968", 50, 240),
             line("KS 1 mg", 50, 280), line("Twenty-four to 30 hours prior to dosing the eyes", 50, 320),
             line("Weight:", 50, 380), line("Sample 245 mg", 200, 380)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer, p.how) for p in pairs] == [
        ("Date Sent", "4/19/74", "label inside"), ("Project No.", "1989-29", "label inside"),
        ("Weight:", "Sample 245 mg", "colon right")]


def test_a_real_form_cuts_its_labels_from_their_values():
    """FUNSD train form 0011505151 prints its schedule's dates one space after their labels ("Field
    Complete 12-7-87"), read by OCR as one line each; FUNSD links each label to its date."""
    from PIL import Image

    from distill.ocr import read_page

    pairs, _ = read_page_pairs(read_page(Image.open(FUNSD / "images" / "0011505151.png")))
    got = {(p.question, p.answer) for p in pairs}
    assert {("Ext.Autho.Date", "11-16-87"), ("Field Complete", "12--7-87"), ("Final Rpt.Due", "1-11-88")} <= got


def test_a_label_in_one_segment_after_a_paired_value_or_before_a_worded_date():
    """The label-and-value segment may stand right of a value already paired ("Name: John Smith"
    then "Project No. 1989-29" on the row), and its value may be a date that starts with its
    month ("Date March 18, 1968"); right of text nobody paired it is a row's cell."""
    lines = [line("Name:", 50, 100), line("John Smith", 120, 100), line("Project No. 1989-29", 500, 100),
             line("Date March 18, 1968", 50, 160),
             line("Totals for the region", 50, 220), line("Widgets 200", 500, 220)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [
        ("Name:", "John Smith"), ("Project No.", "1989-29"), ("Date", "March 18, 1968")]


def test_a_ticked_option_pairs_with_its_mark():
    """A box ticked with an X beside a printed option: the option is the question and the mark its
    answer, whether OCR reads them as one segment ("X YES", "No X") or the mark alone; a lone mark
    belongs to the nearer text on its row, and the key before the options takes none of them."""
    lines = [line("Approved:", 50, 100), line("Yes X", 200, 100), line("No", 300, 100),
             line("X NO", 50, 160),
             line("2. Return On Investment", 50, 220), line("_X", 340, 220), line("High", 362, 220),
             line("Size:", 50, 280), line("19.750 X 11", 120, 280)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [
        ("Yes", "X"), ("NO", "X"), ("High", "X"), ("Size:", "19.750 X 11")]


def test_a_real_form_pairs_its_ticked_boxes():
    """FUNSD train form 71108371 ticks three boxes printed left of their options ("X" / "_X" then
    "High"); FUNSD links each option to its mark, and the option left of a box keeps away from it."""
    from PIL import Image

    from distill.ocr import read_page

    pairs, _ = read_page_pairs(read_page(Image.open(FUNSD / "images" / "71108371.png")))
    got = {(p.question, p.answer) for p in pairs}
    assert {("1. Productivity Improvement", "X"), ("High", "X"), ("3. Special Processing", "X")} <= got
    assert not [p for p in pairs if p.answer in ("X", "_X") and p.question in ("1. Enhancement", "2. Return On Investment")]


def test_a_real_form_row_of_labels_alternates_keys_and_values():
    """FUNSD train form 01122115 prints rows of label, value, label, value whose values read like
    labels ("Tobacco Used" "SPRING", "Supplier" "T.E." "% Plasticizer" "6.0") and labels printed
    with their values ("F.P.M. Delivery Roller 337.5") right of another key's value; FUNSD links
    each label to its own value (before: "T.E." was the key of "% Plasticizer 6.0" and "Length of
    Rod" took the next label's value too)."""
    from PIL import Image

    from distill.ocr import read_page

    pairs, _ = read_page_pairs(read_page(Image.open(FUNSD / "images" / "01122115.png")))
    got = {(p.question, p.answer) for p in pairs}
    assert {("Tobacco Used", "SPRING"), ("Supplier", "T.E."), ("% Plasticizer", "6.0"),
            ("F.P.M. Delivery Roller", "337.5")} <= got
    assert not [p for p in pairs if p.question in ("T.E.", "AMF")]
    assert [p.answer for p in pairs if p.question == "Length of Rod"] == ["120 rmm."]
    # a label with its number starts the row's next pair, even when it has more words than a label
    # read inside one segment may have ("Delivery Roller over Tape .844")
    assert {("Dry Weight", "86.9 gms."), ("Wet Weight", "99.2 gms.")} <= got


def test_a_real_form_pairs_the_captions_of_its_boxes_with_the_text_under_them():
    """FUNSD train form 00922237, a purchase requisition, prints each field's caption at the top
    of its box ("DATE WANTED", "ACCT NO.", "DEPT NO.") in rows of captions, the filled text under
    each; FUNSD links each caption to the text in its box (before: none of them paired)."""
    from PIL import Image

    from distill.ocr import read_page

    pairs, _ = read_page_pairs(read_page(Image.open(FUNSD / "images" / "00922237.png")))
    got = {(p.question, p.answer) for p in pairs}
    assert {("DATE WANTED", "As required"), ("ACCT. NO.", "4111"), ("DEPT. NO.", "9590")} <= got


def test_the_bench_scores_halves_of_a_funsd_split():
    """``bench.forms --part K/N`` reads every N-th form by id from the K-th: the two halves of train
    a train-tuned rule must raise both share no form and make up the split."""
    from bench.forms import funsd_rows

    whole = {r["id"] for r in funsd_rows(FUNSD, "train")}
    halves = [[r["id"] for r in funsd_rows(FUNSD, "train", f"{k}/2")] for k in (1, 2)]
    assert set(halves[0]).isdisjoint(halves[1]) and set(halves[0]) | set(halves[1]) == whole
    assert halves[0] == sorted(whole)[::2]


def test_a_stray_dot_between_a_colon_key_and_its_value_is_passed_over():
    lines = [line("Date:", 50, 80), line(".", 104, 80), line("October 9, 1968", 180, 80),
             line("Contact:", 50, 140), line("Mary Major", 180, 140)]
    got = [(p.question, p.answer) for p in read_page_pairs(lines)[0]]
    assert got == [("Date:", "October 9, 1968"), ("Contact:", "Mary Major")]


def test_a_colon_key_does_not_hold_back_a_label_far_across_its_row():
    # "Week of:" has its value elsewhere; "Date Received" far to its right is a key with its own date
    lines = [line("Week of:", 50, 80), line("Date Received", 700, 80), line("1/25/91", 900, 80),
             line("Week 4", 60, 110)]
    got = [(p.question, p.answer) for p in read_page_pairs(lines)[0]]
    assert ("Date Received", "1/25/91") in got


def test_a_colon_keys_bracketed_note_is_followed_by_the_answer_written_under_the_key():
    lines = [line("PRESENT:", 50, 80), line("(For the client)", 150, 80), line("T. J. Parrack of Counsel", 50, 100),
             line("Signed by:", 50, 200), line("Mary Major", 180, 200),
             line("Please return this form to the office before the end of the month.", 50, 300)]
    got = [(p.question, p.answer) for p in read_page_pairs(lines)[0]]
    assert got == [("PRESENT:", "(For the client) T. J. Parrack of Counsel"), ("Signed by:", "Mary Major")]


def spaced(head: str, value: str, x: int, y: int, gap: int) -> OcrLine:
    """One OCR line of ``head``, a word gap of ``gap`` pixels, then ``value`` (one space elsewhere)."""
    a, b = line(head, x, y), line(value, 0, y)
    shift = a.box[2] + gap
    words = a.words + [(w, [bx0 + shift, by0, bx1 + shift, by1]) for w, (bx0, by0, bx1, by1) in b.words]
    return OcrLine(f"{head} {value}", [x, y, words[-1][1][2], y + H], 0.98, words)


def test_a_label_set_off_its_value_by_the_lines_widest_gap():
    """A label printed a wide gap before a worded value reads as one OCR line ("Project Objective
    A pipe tobacco ..."): it is cut at that gap; not after a sentence's full stop, not between
    two labels written alike, not at a gap no wider than the line's others, not in a town line."""
    lines = [spaced("Project Objective", "A pipe tobacco holding charcoal to trap vapor", 50, 100, 20),
             spaced("Please see our files.", "Thank you", 50, 160, 20),
             spaced("LORILLARD", "TOBACCO COMPANY", 50, 220, 20),
             spaced("Account Name", "International", 50, 280, 10),
             spaced("Springfield, IL", "Main office", 50, 340, 20)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer, p.how) for p in pairs] == [
        ("Project Objective", "A pipe tobacco holding charcoal to trap vapor", "label inside")]


def test_the_same_label_again_along_a_row_is_no_value():
    """A column header printed twice side by side ("YEAR" "YEAR") pairs with nothing."""
    pairs, _ = read_page_pairs([line("YEAR", 50, 100), line("YEAR", 110, 100), line("Name:", 50, 160),
                                line("John Smith", 120, 160)])
    assert [(p.question, p.answer) for p in pairs] == [("Name:", "John Smith")]


def test_a_real_form_cuts_a_label_at_its_wide_gap():
    """FUNSD train form 0071032807 prints "Project Objective" and its typed answer on one line,
    read by OCR as one line whose widest gap is the label's end; FUNSD links the two."""
    from PIL import Image

    from distill.ocr import read_page

    pairs, _ = read_page_pairs(read_page(Image.open(FUNSD / "images" / "0071032807.png")))
    got = {p.question: p.answer for p in pairs}
    assert got.get("Project Objective", "").startswith("A pipe tobacco containing activated charcoal"), got


def test_a_colon_keys_value_takes_the_cell_right_after_it():
    """A colon key's one-cell value goes on with a cell printed just after it on its row (a unit,
    a count in brackets: "1.0" "(97)", wider apart than OCR's word gap), not with text farther on."""
    lines = [line("Amount:", 50, 100), line("1.0", 200, 100), line("(97)", 265, 100),
             line("Date:", 50, 160), line("5/5/90", 200, 160), line("B-17", 460, 160)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Amount:", "1.0 (97)"), ("Date:", "5/5/90")]


def test_a_tables_header_row_pairs_with_neither_its_neighbour_nor_its_numbers():
    """A row of three capitals right next to each other ("YEAR" "CAPITAL" "EXPENSE") heads a table's
    columns, and a row of labels over columns of numbers is its header: no pairs. A caption row over
    single values ("Date" over "10/22/98"), capitals beside a value's comma ("STAMFORD, CT") and a
    capitals key beside its typed capitals value ("SUBJECT" "ANNUAL REVIEW") still pair."""
    lines = [line("YEAR", 50, 100), line("CAPITAL", 110, 100), line("EXPENSE", 200, 100),
             line("Stores", 700, 100), line("Volume", 900, 100),
             line("25", 700, 130), line("1,200", 900, 130), line("31", 700, 160), line("980", 900, 160),
             line("Date", 50, 260), line("Code", 300, 260), line("10/22/98", 50, 290), line("A-17", 300, 290),
             line("LOCATION", 50, 360), line("STAMFORD, CT", 150, 360),
             line("SUBJECT", 50, 420), line("ANNUAL REVIEW", 140, 420)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Date", "10/22/98"), ("Code", "A-17"),
                                                       ("LOCATION", "STAMFORD, CT"), ("SUBJECT", "ANNUAL REVIEW")]


def test_a_colon_key_over_a_row_with_its_own_label_takes_no_value_from_it():
    """Under a colon key, a label with text beside it heads its own row ("SEX:" over "Male" "42"),
    so it is not the key's value; a colon key's answer under it still is ("Address:" over a street)."""
    lines = [line("SEX:", 50, 100), line("Male", 50, 130), line("42", 300, 130),
             line("Address:", 50, 220), line("12 Main Street", 50, 262)]
    pairs, _ = read_page_pairs(lines)
    got = [(p.question, p.answer) for p in pairs]
    assert ("SEX:", "Male") not in got and ("Address:", "12 Main Street") in got, got


def test_a_month_and_its_day_is_no_label_key():
    """Dates side by side in a schedule ("OCT 3" "DEC 26") or a month column's head ("FEB" "30.682")
    pair with nothing; a label's date value still pairs ("Date" "OCT 3")."""
    lines = [line("OCT 3", 50, 100), line("DEC 26", 150, 100), line("FEB", 50, 160), line("30.682", 120, 160),
             line("Date", 50, 220), line("OCT 3", 120, 220)]
    pairs, _ = read_page_pairs(lines)
    assert [(p.question, p.answer) for p in pairs] == [("Date", "OCT 3")]
