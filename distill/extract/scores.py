"""How much each way of finding a value is trusted (times the OCR score of the value's line)."""

from __future__ import annotations

SCORE_LABEL_EXACT = 0.95
SCORE_TABLE_HEADER = 0.9
SCORE_TABLE_HEADERLESS = 0.7
SCORE_POSITION = 0.6
SCORE_UNLABELLED_KIND = 0.9   # a date or time found by its form alone (97% right on real receipts)
SCORE_CHOICE = 0.8   # a value found by its schema's x-choices alone, its label not printed
SCORE_WRONG_KIND = 0.4
SCORE_NOT_FOUND = 0.3
SCORE_EMPTY_BOX = 0.8   # times its label's OCR and match score: a field whose label is printed over no value
CHECKED = "X"   # the value of a ticked ``check`` leaf, whatever mark the page prints
