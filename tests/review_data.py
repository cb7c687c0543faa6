"""A labeled folder of real receipts for the review tests: the ocr teacher on two sroie-dev pages.

Both review test modules label into their own folder with one shared call cache (the session's
base temp folder), so the OCR runs once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from real_data import SROIE

from docfoundry.cli import main

PAGES = 2


def label_receipts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``docfoundry label`` on the first real receipts (skips where the shared datasets are absent)."""
    if not (SROIE / "labels.jsonl").is_file():
        pytest.skip(f"{SROIE} is not here (real receipts live outside the repository)")
    out = tmp_path_factory.mktemp("labeled") / "receipts"
    cache = tmp_path_factory.getbasetemp() / "review-label-cache"
    code = main(["label", "--in", str(SROIE), "--schema", "receipt", "--limit", str(PAGES), "--out", str(out),
                 "--cache", str(cache), "--no-progress"])
    assert code == 0
    return out
