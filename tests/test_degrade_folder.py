"""`docfoundry degrade`: any dataset folder in, a degraded one out, boxes moved, resumable."""

import json
from pathlib import Path

import pytest
from PIL import Image

from docfoundry.cli import main
from docfoundry.store import read_run_info, read_samples
from synth.degrade_folder import DegradeConfig, run


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory):
    from synth.generate import SynthConfig
    from synth.generate import run as synth_run

    out = tmp_path_factory.mktemp("synth") / "clean"
    synth_run(SynthConfig(out=str(out), n=4, seed=1))
    return out


def _rows(folder: Path) -> list[str]:
    return (folder / "metadata.jsonl").read_text().splitlines()


def test_degrade_folder_moves_boxes_and_records_the_degradation(clean_folder, tmp_path):
    out = tmp_path / "photo"
    summary = run(DegradeConfig(input=str(clean_folder), out=str(out), preset="photo", seed=3))
    assert summary["pages"] == 4 and summary["made_now"] == 4 and summary["failed"] == 0
    before = {s.id: s for s in read_samples(clean_folder)}
    after = list(read_samples(out))
    assert [s.id for s in after] == list(before)  # input order kept
    moved = 0
    for s in after:
        src = before[s.id]
        assert s.file_name == f"images/{s.id}.jpg" and (out / s.file_name).is_file()
        with Image.open(out / s.file_name) as im:
            w, h = im.size
        assert [x.text for x in s.words] == [x.text for x in src.words]
        assert [(f.path, f.text) for f in s.field_boxes] == [(f.path, f.text) for f in src.field_boxes]
        for b in [x.box for x in s.words + s.field_boxes]:
            assert 0 <= b[0] <= b[2] <= w and 0 <= b[1] <= b[3] <= h
        moved += sum(a.box != b.box for a, b in zip(s.field_boxes, src.field_boxes))
        assert s.gt_parse == src.gt_parse
        record = s.meta["degradation"]
        assert record["preset"] == "photo" and record["effects"]
        assert {"phase", "effect", "params"} <= set(record["effects"][0])
    assert moved > 0  # photo always applies a perspective warp
    info = read_run_info(out)
    assert info["stage"] == "degrade" and info["status"] == "complete"


def test_resume_redoes_only_missing_pages_with_the_same_bytes(clean_folder, tmp_path):
    out = tmp_path / "medium"
    cfg = DegradeConfig(input=str(clean_folder), out=str(out), preset="medium", seed=5, workers=2)
    run(cfg)
    rows = _rows(out)
    last = json.loads(rows[-1])
    image_bytes = (out / last["file_name"]).read_bytes()
    # a crash after three pages: the fourth row and its image are gone
    (out / "metadata.jsonl").write_text("\n".join(rows[:-1]) + "\n")
    (out / last["file_name"]).unlink()
    summary = run(DegradeConfig(input=str(clean_folder), out=str(out), preset="medium", seed=5, workers=1))
    assert summary["made_now"] == 1 and summary["pages"] == 4
    assert _rows(out) == rows
    assert (out / last["file_name"]).read_bytes() == image_bytes
    assert run(cfg)["made_now"] == 0
    # other settings into the same folder are refused, not mixed
    assert main(["degrade", "--in", str(clean_folder), "--out", str(out), "--preset", "heavy"]) == 2


def test_a_broken_page_image_is_recorded_and_skipped(clean_folder, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken_in"
    shutil.copytree(clean_folder, broken)
    victim = next(read_samples(broken))
    (broken / victim.file_name).write_bytes(b"not an image")
    out = tmp_path / "out"
    code = main(["degrade", "--in", str(broken), "--out", str(out), "--preset", "light"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"{victim.file_name}: cannot read the page image" in err
    assert [s.id for s in read_samples(out)] == [s.id for s in read_samples(broken)][1:]
    info = read_run_info(out)
    assert info["counts"]["failed"] == 1 and victim.file_name in info["counts"]["errors"][0]


def test_not_a_dataset_folder(tmp_path, capsys):
    assert main(["degrade", "--in", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a dataset folder" in capsys.readouterr().err
