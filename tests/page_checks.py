"""Checks every layout test makes of a rendered page: each field printed once, in its box, readable back."""

from __future__ import annotations

from synth.raster import squash, verify_fields
from synth.render import Page


def assert_fields_printed_in_boxes(page: Page, height: float, values: dict[str, str]) -> None:
    """Every value is drawn exactly as given, the PDF's text layer reads it back inside its box,
    and no word falls off the page."""
    drawn = page.field_boxes()
    assert set(drawn) == set(values)
    assert all(squash(drawn[k][0]) == squash(v) for k, v in values.items())
    assert verify_fields(page.to_pdf(height), height, drawn) == []
    for _, x0, y0, x1, y1 in page.words:
        assert 0 <= x0 < x1 <= page.width + 0.5 and 0 <= y0 < y1 <= height + 0.5
