"""docfoundry gap: a set against itself cannot be told apart, clean vs heavy degradation can; OCR is
read once through the cache label writes; bad inputs are one line; the report escapes page names;
the same inputs give the same numbers in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docfoundry.cli import main

ROOT = Path(__file__).resolve().parents[1]


def synth(out: Path, n: int, seed: int, degrade: str = "clean", dpi: int = 60) -> Path:
    assert main(["synth", "--doc-types", "receipt", "--n", str(n), "--seed", str(seed), "--dpi", str(dpi),
                 "--degrade", degrade, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("gap")
    return {"clean": synth(root / "clean", 10, 1), "clean2": synth(root / "clean2", 10, 2),
            "heavy": synth(root / "heavy", 10, 3, "heavy")}


def gap(tmp: Path, a: Path, b: Path, *extra: str) -> dict:
    out = tmp / "report"
    assert main(["gap", "--synth", str(a), "--real", str(b), "--out", str(out), "--no-progress", *extra]) == 0
    return json.loads((out / "gap.json").read_text())


def test_a_set_against_itself_cannot_be_told_apart(tmp_path, sets):
    result = gap(tmp_path, sets["clean"], sets["clean"], "--no-ocr")
    assert abs(result["test"]["auc"] - 0.5) <= 0.05, result["test"]
    assert result["test"]["n_synthetic"] == result["test"]["n_real"] == 10


def test_two_draws_of_one_generator_are_close_clean_vs_heavy_far(tmp_path, sets):
    same = gap(tmp_path / "a", sets["clean"], sets["clean2"], "--no-ocr")["test"]
    far = gap(tmp_path / "b", sets["clean"], sets["heavy"], "--no-ocr")["test"]
    assert far["auc"] >= 0.9, far
    assert same["auc"] <= 0.75, same
    assert far["auc"] - same["auc"] >= 0.25
    top = {f["feature"] for f in far["features"][:4]}
    assert top & {"paper_level", "noise_sigma", "contrast", "ink_level", "blur_sigma", "tint"}, far["features"][:4]
    report = (tmp_path / "b" / "report" / "gap.html").read_text()
    assert "data:image/png;base64," in report and "http" not in report.split("<body>")[1].replace("https://", "")


def test_ocr_features_are_read_once_through_the_label_cache(tmp_path, sets):
    pages = tmp_path / "pages"
    pages.mkdir()
    for f in sorted((sets["clean"] / "images").iterdir())[:2]:
        (pages / f.name).write_bytes(f.read_bytes())
    cache = tmp_path / "cache"
    assert main(["label", "--in", str(pages), "--schema", "receipt", "--out", str(tmp_path / "labels"),
                 "--cache", str(cache), "--no-progress"]) == 0
    result = gap(tmp_path, pages, pages, "--schema", "receipt", "--cache", str(cache))
    assert result["ocr_pages_read"] == 0  # label's OCR of these pages served gap
    rows = [json.loads(line) for line in (tmp_path / "report" / "pages.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        f = row["features"]
        assert f["lines_per_page"] >= 3 and f["words_per_line"] >= 1 and f["char_height"] > 3
        assert 0 < f["label_share"] <= 1
        assert abs(sum(v for k, v in f.items() if k.startswith("layout_")) - 1) < 1e-3
    assert result["vocabulary"]["real_words_in_synthetic"] == 1.0
    assert result["groups"].keys() == {"image", "text", "layout"}


def test_bad_inputs_are_one_line_naming_the_file(tmp_path, sets, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["gap", "--synth", str(sets["clean"]), "--real", str(empty), "--out", str(tmp_path / "r"),
                 "--no-ocr", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(empty) in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes((sets["clean"] / "images").iterdir().__next__().read_bytes())
    (broken / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert main(["gap", "--synth", str(sets["clean"]), "--real", str(broken), "--out", str(tmp_path / "r"),
                 "--no-ocr", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "b.jpg" in err, err
    assert main(["gap", "--synth", str(tmp_path / "nope"), "--real", str(broken), "--out", str(tmp_path / "r")]) == 2
    assert "--synth" in capsys.readouterr().err


def test_report_shows_folder_names_as_text(tmp_path, sets):
    evil = tmp_path / "<img src=x onerror=alert(1)>"
    evil.mkdir()
    for f in sorted((sets["heavy"] / "images").iterdir())[:3]:
        (evil / f.name).write_bytes(f.read_bytes())
    gap(tmp_path, sets["clean"], evil, "--no-ocr")
    page = (tmp_path / "report" / "gap.html").read_text()
    md = (tmp_path / "report" / "gap.md").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in md and "onerror=alert(1)" in md


def test_same_numbers_in_another_process(tmp_path, sets):
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"r{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "docfoundry", "gap", "--synth", str(sets["clean"]), "--real",
                        str(sets["heavy"]), "--out", str(out), "--no-ocr", "--no-progress"],
                       check=True, env=env, cwd=ROOT, capture_output=True)
        result = json.loads((out / "gap.json").read_text())
        outs.append((result["test"], result["groups"], (out / "pages.jsonl").read_text()))
    assert outs[0] == outs[1]


def test_truth_scores_the_teacher_per_field_on_both_sets(tmp_path):
    """--truth: the teacher labels the synthetic pages and the labeled real ones; with the same pages on both
    sides (a dataset folder is a truth layout too) every field scores the same and the gap is 0."""
    pages = synth(tmp_path / "pages", 2, 4, dpi=110)
    out = tmp_path / "report"
    assert main(["gap", "--synth", str(pages), "--real", str(pages), "--truth", str(pages), "--schema", "receipt",
                 "--teacher", "ocr", "--out", str(out), "--no-progress"]) == 0
    result = json.loads((out / "gap.json").read_text())
    teacher = result["teacher"]
    assert teacher["synthetic_pages"] == teacher["real_pages"] == 2
    fields = teacher["gap"]["fields"]
    assert {"store_name", "date", "total"} <= fields.keys(), fields.keys()
    for path, row in fields.items():
        assert row["n_synthetic"] == row["n_real"] > 0, (path, row)
        assert row["synthetic_accuracy"] == row["real_accuracy"] and row["gap"] == 0, (path, row)
    overall = teacher["gap"]["overall"]
    assert overall["gap"] == 0 and overall["synthetic_accuracy"] >= 0.5, overall  # the teacher reads these pages
    assert result["ocr_pages_read"] == 2  # the labeling on both sides read gap's OCR, no page twice
    assert "Teacher accuracy: synthetic vs real (ocr)" in (out / "gap.html").read_text()


def test_label_share_counts_a_label_only_as_words_of_its_own():
    """Regression: the share matched a label inside a longer word ("form" in "information")."""
    from types import SimpleNamespace

    from eval.gap.features import text_features

    def share(*texts):
        lines = [SimpleNamespace(text=t, box=[0, 10 * i, 100, 10 * i + 8], score=0.9) for i, t in enumerate(texts)]
        return text_features(lines, (100, 100), [("form",), ("total",)])["label_share"]

    assert share("Information about the subtotals") == 0
    assert share("FORM 1040", "Total: 12.00") == 1
    assert share("form-based", "grand total") == 1
