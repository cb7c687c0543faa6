"""Schema-guided field extraction from OCR lines: the OCR teacher's reading of a page.

Everything it looks for comes from the document type's schema, never from a field list in code:
  - each leaf's ``x-labels`` (and ``x-read-labels``: real-world variants the layouts do not print)
    are the printed labels it searches for (longest match wins a line); the value is the rest of
    the label's line, the cells to its right, or the line below; ``x-label-excludes`` are words
    that make a line another field's ("Total Qty" is not the total);
  - each leaf's ``x-kind`` (amount, date, id, ...) checks a candidate value and cuts it to the
    value as printed (``distill.spans``: the date of "25/12/2018 8:13 PM", the number of "RM 9.00");
    a date or time printed without its label is the first one on the page;
  - a text leaf with ``x-choices`` (the values it is drawn from: a receipt's payment methods) whose
    label is not printed is the first free line that reads as one of them, never a line by position;
  - when a label appears more than once, the last one wins that is not below a later field's label
    (a receipt's rounded total, not the one before rounding nor a tax summary's total row);
  - an array of objects is a table: its header row is the row naming most of the item leaves'
    labels, columns come from the header cells, rows run down to the next labelled line; without a
    header, the longest run of rows ending in an amount is read with the item leaves in order (a
    line of text over a line of numbers only, "2 x 3.50   7.00", is one item printed on two lines);
  - unlabelled text leaves are read from position: the lines below the value of the leaf before
    them, the block above the leaf after them, or the page's first line (a document's name); a leaf
    marked ``"x-header": true`` is the page's header name (the business): a top line that is a name,
    one with a company's legal form first; ``x-not-lines`` names the classes of line a field never
    holds (an address has no id, phone, e-mail or date line, nor a row with a price apart from
    it; it ends with its country); multi-line values join with spaces; an amount whose decimal
    mark OCR read as a space gets the page's mark; ``x-case`` ("upper") puts a leaf's value in a
    user's truth convention (``docfoundry.case``);
  - lines naming the schema's ``title`` or one of its ``x-titles`` (a banner such as "INVOICE")
    are headings, never values;
  - a type whose page is a grid of labelled boxes (``"x-boxed": true``, a W-2) reads a value from
    the box its label heads: a box ends at the next label under or beside it, the last box of a
    row reaches the page's edge, a cell under another box's label is that box's; its arrays are
    read after the labelled fields (unless they print a header row). An array printed as one
    labelled box per item names the boxes in ``x-item-labels`` ("12a", "12b", ...) and its
    heading in its ``x-labels`` ("Box 12"); a ``check`` leaf is a mark over or beside its label.

``extract(doc, lines)`` returns the nested fields (every schema key present, "" when not found)
and a score per dotted path (OCR confidence times how the value was found).
"""

from distill.extract.hints import fold
from distill.extract.labels import label_likeness
from distill.extract.reader import extract
from distill.extract.scores import SCORE_NOT_FOUND

__all__ = ["SCORE_NOT_FOUND", "extract", "fold", "label_likeness"]
