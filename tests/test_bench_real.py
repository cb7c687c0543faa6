"""``bench.real score``: bad input ends in one line naming the folder, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from real_data import SROIE

ROOT = Path(__file__).resolve().parents[1]


def test_score_with_an_empty_ocr_cache_names_the_cache_and_the_ocr_step(tmp_path):
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    run = subprocess.run([sys.executable, "-m", "bench.real", "score", "--truth", str(SROIE), "--cache", str(cache)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()
    assert len(last) == 1, run.stderr  # one line, no traceback
    assert str(cache) in last[0] and "bench.real ocr" in last[0]
