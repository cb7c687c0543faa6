"""A browser test passes as a skip only where Chromium is missing and nobody requires it: with
$DOCFOUNDRY_REQUIRE_BROWSER set (CI), a missing Chromium fails the test."""

from __future__ import annotations

import browser
import pytest


def test_a_missing_browser_skips_unless_required(tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "chromium", lambda: None)  # the state of a machine without Chromium
    page = tmp_path / "r.html"
    page.write_text("<html><body>report</body></html>")
    monkeypatch.delenv(browser.REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser.assert_renders(page, tmp_path / "r.png", min_images=0)
    monkeypatch.setenv(browser.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="no Chromium found"):
        browser.assert_renders(page, tmp_path / "r.png", min_images=0)
