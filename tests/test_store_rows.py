"""JSONL rows (`docfoundry.store`): a complete last row without its newline is a row; a torn last
line (one that does not parse) is skipped and reported as file:line, never dropped in silence; a
writer resuming such a file keeps the complete row and redoes the torn one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from docfoundry.cli import main
from docfoundry.errors import UserError
from docfoundry.store import METADATA, DatasetWriter, iter_rows, read_samples, repair_tail


def _rows_file(folder: Path, text: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METADATA).write_bytes(text)
    return folder / METADATA


def test_a_last_row_without_newline_is_a_row(tmp_path, capsys):
    _rows_file(tmp_path, b'{"id": "a"}\n{"id": "b"}')
    assert [r["id"] for r in iter_rows(tmp_path)] == ["a", "b"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("tail", [b'{"id": "b", "x": [1, 2', '{"id": "Citt\u00e0"}'.encode()[:-3]],
                         ids=["json", "utf8-cut-mid-character"])
def test_a_torn_last_line_is_skipped_and_reported(tmp_path, capsys, tail):
    path = _rows_file(tmp_path, b'{"id": "a"}\n\n' + tail)
    assert [r["id"] for r in iter_rows(tmp_path)] == ["a"]
    err = capsys.readouterr().err
    assert f"{path}:3: torn last line" in err and len(err.strip().splitlines()) == 1
    problems: list[str] = []
    assert [r["id"] for r in iter_rows(tmp_path, problems=problems)] == ["a"]
    assert problems == [f"{path}:3: torn last line (a write cut short), skipped"]
    assert capsys.readouterr().err == ""  # recorded by the caller, not printed twice


@pytest.mark.parametrize(("text", "needle"), [
    (b'{"id": "a"}\n{"id": \n{"id": "c"}\n', ":2: not valid JSON"),
    (b'{"id": "a"}\n{"id": "b", \n', ":2: not valid JSON"),  # complete (newline-ended) yet broken: not torn
    (b'{"id": "a"}\n\xff\xfe\n', ":2: not valid JSON (not UTF-8)"),
    (b'{"id": "a"}\n[1, 2]\n', ":2: a row must be a JSON object"),
])
def test_a_broken_complete_line_is_one_line_error(tmp_path, text, needle):
    path = _rows_file(tmp_path, text)
    with pytest.raises(UserError, match=re.escape(needle)) as e:
        list(iter_rows(tmp_path))
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def _writer(folder: Path) -> DatasetWriter:
    return DatasetWriter(folder, stage="t", fingerprint={"v": 1}, config={})


def test_writer_resume_keeps_a_complete_unterminated_row_and_redoes_a_torn_one(tmp_path, capsys):
    w = _writer(tmp_path / "ds")
    w.append({"id": "a"})
    w.append({"id": "b"})
    w.finish({})
    path = tmp_path / "ds" / METADATA
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # written by another tool: no final newline
    w = _writer(tmp_path / "ds")
    assert w.done == {"a", "b"}
    w.append({"id": "c"})
    w.finish({})
    assert path.read_bytes() == b'{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n'
    assert capsys.readouterr().err == ""

    path.write_bytes(path.read_bytes() + b'{"id": "d", "va')  # killed mid-write
    w = _writer(tmp_path / "ds")
    assert w.done == {"a", "b", "c"}
    assert f"{path}:4: torn last line" in capsys.readouterr().err
    w.append({"id": "d"})
    w.finish({}, order=lambda r: r["id"])
    assert [r["id"] for r in iter_rows(tmp_path / "ds")] == ["a", "b", "c", "d"]


def test_repair_tail_leaves_a_whole_file_alone(tmp_path):
    path = _rows_file(tmp_path, b'{"id": "a"}\n')
    repair_tail(path)
    repair_tail(tmp_path / "missing.jsonl")
    assert path.read_bytes() == b'{"id": "a"}\n'


def test_a_stage_reads_the_last_row_of_an_input_without_newline(tmp_path):
    """`degrade` on a folder whose metadata.jsonl lacks its final newline degrades every page."""
    src = tmp_path / "src"
    assert main(["synth", "--n", "3", "--out", str(src), "--doc-types", "receipt", "--locales", "en_US"]) == 0
    meta = src / METADATA
    meta.write_bytes(meta.read_bytes().rstrip(b"\n"))
    assert len(list(read_samples(src))) == 3
    assert main(["degrade", "--in", str(src), "--out", str(tmp_path / "out"), "--preset", "light"]) == 0
    out = [json.loads(line)["id"] for line in (tmp_path / "out" / METADATA).read_text().splitlines()]
    assert out == ["receipt_000000", "receipt_000001", "receipt_000002"]


def test_eval_resume_keeps_a_last_prediction_without_newline(tiny_model, tmp_path, capsys):
    """`eval --model` resuming a predictions file whose last row lacks its newline answers nothing again."""
    from eval_fixtures import RECEIPTS, dataset_folder

    truth = dataset_folder(tmp_path / "truth", {k: RECEIPTS[k] for k in ("r1", "r2")})
    out = tmp_path / "report"
    args = ["eval", "--truth", str(truth), "--model", str(tiny_model("smolvlm")), "--max-new-tokens", "4",
            "--bootstrap", "0", "--out", str(out)]
    assert main(args) == 0
    preds = out / "predictions.jsonl"
    before = preds.read_bytes()
    preds.write_bytes(before.rstrip(b"\n"))
    capsys.readouterr()
    assert main(args) == 0
    assert "all 2 pages already answered" in capsys.readouterr().err
    assert preds.read_bytes() == before
