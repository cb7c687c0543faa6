"""``instruct export`` never loses data: inputs are never overwritten, a failed export leaves ``--out`` as it was."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from docfoundry.cli import main


def conversation(i: int) -> dict:
    return {"id": f"p{i}", "images": [f"images/p{i}.png"], "source": "truth", "task": "qa",
            "messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"A{i}"}]}


@pytest.fixture
def instr(tmp_path) -> Path:
    """A small instruction folder as ``instruct`` writes it (rows plus linked images)."""
    folder = tmp_path / "instr"
    (folder / "images").mkdir(parents=True)
    for i in range(3):
        (folder / "images" / f"p{i}.png").write_bytes(b"\x89PNG not really")
    write_rows(folder, [conversation(i) for i in range(3)])
    return folder


def write_rows(folder: Path, rows: list) -> None:
    (folder / "conversations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def export(capsys, folder: Path, out: Path, fmt: str = "sharegpt") -> tuple[int, str]:
    code = main(["instruct", "export", str(folder), "--format", fmt, "--out", str(out)])
    return code, capsys.readouterr().err.strip()


def test_export_writes_every_row(instr, tmp_path, capsys):
    out = tmp_path / "x" / "out.jsonl"
    assert export(capsys, instr, out) == (0, "")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["messages"][0]["content"] for r in rows] == [f"<image>Question {i}?" for i in range(3)]
    assert not list(out.parent.glob(".*.tmp"))


@pytest.mark.parametrize("target", [
    lambda f, t: f / "conversations.jsonl",                          # the input itself
    lambda f, t: f / "images" / ".." / "conversations.jsonl",        # the same, spelled otherwise
    lambda f, t: _symlink(t / "link.jsonl", f / "conversations.jsonl"),
    lambda f, t: _hardlink(t / "hard.jsonl", f / "conversations.jsonl"),
    lambda f, t: f / "images" / "p1.png",                            # an image the export reads
])
def test_export_refuses_to_overwrite_an_input(instr, tmp_path, capsys, target):
    before = {p: p.read_bytes() for p in instr.rglob("*") if p.is_file()}
    out = target(instr, tmp_path)
    code, err = export(capsys, instr, out)
    assert code == 2 and "is an input of the export" in err and len(err.splitlines()) == 1, err
    assert {p: p.read_bytes() for p in instr.rglob("*") if p.is_file()} == before


def _symlink(link: Path, to: Path) -> Path:
    link.symlink_to(to)
    return link


def _hardlink(link: Path, to: Path) -> Path:
    os.link(to, link)
    return link


@pytest.mark.parametrize("bad, needle", [
    ({**conversation(1), "messages": []}, "'messages' must be a non-empty list"),
    ({k: v for k, v in conversation(1).items() if k != "messages"}, "'messages' must be a non-empty list"),
    ({**conversation(1), "messages": [{"role": "user"}]}, "messages[0] must have a string 'role' and 'content'"),
    ({**conversation(1), "images": "images/p1.png"}, "'images' must be a list of paths"),
    (["not", "an", "object"], "must be a JSON object"),                # refused by store.iter_rows
])
@pytest.mark.parametrize("fmt", ["sharegpt", "messages", "bedrock"])
def test_bad_row_is_one_line_and_the_old_export_survives(instr, tmp_path, capsys, bad, needle, fmt):
    out = tmp_path / "out.jsonl"
    assert export(capsys, instr, out, fmt)[0] == 0
    good = out.read_bytes()
    write_rows(instr, [conversation(0), bad, conversation(2)])
    code, err = export(capsys, instr, out, fmt)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert re.search(r"conversations\.jsonl(: row |:)2\b", err) and needle in err, err
    assert out.read_bytes() == good                                  # not truncated, not half-written
    assert not list(tmp_path.glob(".*.tmp"))


def test_out_that_is_a_folder_is_one_line(instr, tmp_path, capsys):
    code, err = export(capsys, instr, tmp_path)
    assert code == 2 and "is a folder" in err and len(err.splitlines()) == 1
