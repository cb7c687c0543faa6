"""The ocr teacher's identity covers every module of its reading: a change to any of them re-reads
cached pages (a stale identity would serve the old reading's labels from the call cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IDENTITY = "import json; from distill.teachers import load_teacher; print(json.dumps(load_teacher('ocr').identity()))"


def identity_with(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", IDENTITY], env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", ["extract/header.py", "extract/tables.py", "pairs.py", "spans.py"])
def test_an_edit_to_any_module_of_the_reading_changes_the_identity(tmp_path, module):
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "distill", tree / "distill", ignore=shutil.ignore_patterns("__pycache__"))
    before = identity_with(tree)
    with open(tree / "distill" / module, "a") as f:
        f.write("\n# an edit\n")
    after = identity_with(tree)
    assert before["spec"] == after["spec"] == "ocr"
    assert before["extractor"] != after["extractor"], module
