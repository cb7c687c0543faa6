"""Hostile files among good ones: ids and paths that lead out of their folder, decompression-bomb
images and oversized PDF pages. Each is one failed page (or a refused write); the rest of the run
goes on and nothing is read or written outside the folders the user named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bad_pages import bomb_png, huge_page_pdf
from eval_fixtures import RECEIPTS, dataset_folder, png_bytes, write_jsonl
from real_data import SROIE

from docfoundry.adapters import load_truth
from docfoundry.cli import main
from docfoundry.errors import UserError
from docfoundry.records import Sample
from docfoundry.store import DatasetWriter, read_run_info, read_samples, subset


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory):
    from synth.generate import SynthConfig
    from synth.generate import run as synth_run

    out = tmp_path_factory.mktemp("synth") / "clean"
    synth_run(SynthConfig(out=str(out), n=3, seed=2))
    return out


# --- ids and paths stay inside their folders -------------------------------------------------------

def test_an_id_never_picks_where_the_image_is_written(tmp_path):
    out = tmp_path / "a" / "out"
    writer = DatasetWriter(out, stage="test", fingerprint={}, config={})
    for sid in ("../../evil_id", "a/b", "plain_id"):
        writer.add(Sample(sid, "receipt", "test", {}), png_bytes(), "png")
    with pytest.raises(UserError, match=r"file '\.\./x\.pdf': must be a path inside"):
        writer.write_file("../x.pdf", b"%PDF")
    writer.finish({})
    assert files_under(tmp_path) == files_under(out)          # nothing outside --out
    rows = {s.id: s.file_name for s in read_samples(out)}
    assert rows["plain_id"] == "images/plain_id.png"          # plain ids keep their name
    assert rows["../../evil_id"].startswith("images/evil_id-") and rows["a/b"].startswith("images/a_b-")
    assert all((out / f).is_file() and Path(f).parent == Path("images") for f in rows.values())


def test_subset_refuses_a_file_name_out_of_its_folder(tmp_path):
    src = dataset_folder(tmp_path / "src", {"r1": RECEIPTS["r1"]})
    (tmp_path / "secret.png").write_bytes(png_bytes())
    row = json.loads((src / "metadata.jsonl").read_text())
    write_jsonl(src / "metadata.jsonl", [{**row, "file_name": "../secret.png"}])
    with pytest.raises(UserError, match=r"file_name '\.\./secret\.png': must be a path inside"):
        subset(src, tmp_path / "dst", lambda r: True)


def _hostile_copy(clean: Path, root: Path) -> tuple[Path, list[str]]:
    """A copy of ``clean`` whose first row's id climbs out and whose second row's file_name reads
    a real image two folders up (it exists, so only the confinement stops it)."""
    src = root / "a" / "in"
    shutil.copytree(clean, src)
    rows = [json.loads(line) for line in (src / "metadata.jsonl").read_text().splitlines()]
    shutil.copy(src / rows[1]["file_name"], root / "outside.jpg")
    rows[0]["id"] = "../../evil_id"
    rows[1]["file_name"] = "../../outside.jpg"
    write_jsonl(src / "metadata.jsonl", rows)
    return src, [r["id"] for r in rows]


def test_degrade_keeps_writes_in_out_and_reads_in_in(clean_folder, tmp_path, capsys):
    src, ids = _hostile_copy(clean_folder, tmp_path)
    out = tmp_path / "a" / "out"
    before = files_under(tmp_path)
    assert main(["degrade", "--in", str(src), "--out", str(out), "--preset", "light"]) == 1
    assert files_under(tmp_path) - before == files_under(out)  # everything new is under --out
    written = {s.id: s.file_name for s in read_samples(out)}
    assert set(written) == {ids[0], ids[2]}                    # the page reading ../../outside.jpg failed
    assert written[ids[0]].startswith("images/evil_id-")
    errors = read_run_info(out)["counts"]["errors"]
    assert len(errors) == 1 and "'../../outside.jpg': must be a path inside" in errors[0]
    assert "outside.jpg" in capsys.readouterr().err


def test_degrade_refuses_a_symlink_out_of_the_input(clean_folder, tmp_path):
    src = tmp_path / "in"
    shutil.copytree(clean_folder, src)
    victim = next(read_samples(src))
    shutil.move(src / victim.file_name, tmp_path / "elsewhere.jpg")
    (src / victim.file_name).symlink_to(tmp_path / "elsewhere.jpg")
    summary = main(["degrade", "--in", str(src), "--out", str(tmp_path / "out"), "--preset", "light"])
    assert summary == 1
    errors = read_run_info(tmp_path / "out")["counts"]["errors"]
    assert len(errors) == 1 and "leads outside" in errors[0] and victim.file_name in errors[0]


def test_eval_truth_images_stay_in_the_truth_folder(tmp_path):
    root = tmp_path / "a" / "labels"
    (root / "images").mkdir(parents=True)
    (root / "images" / "ok.png").write_bytes(png_bytes())
    (tmp_path / "outside.png").write_bytes(png_bytes())
    (root / "images" / "link.png").symlink_to(tmp_path / "outside.png")
    fields = {"total": "1.00"}
    write_jsonl(root / "labels.jsonl", [
        {"id": "ok", "image": "images/ok.png", "fields": fields},   # relative to the labels file: fine
        {"id": "up", "image": "../../outside.png", "fields": fields},
        {"id": "abs", "image": str(tmp_path / "outside.png"), "fields": fields},
        {"id": "link", "image": "images/link.png", "fields": fields}])
    records = {r.id: r for r in load_truth(root).records}
    assert records["ok"].open_image().size == (120, 160)
    for rid, why in (("up", "must be a path inside"), ("abs", "must be a path inside"), ("link", "leads outside")):
        assert records[rid].fields == fields                     # its truth is still scored against --pred
        with pytest.raises(UserError, match=why):
            records[rid].open_image()

    ds = dataset_folder(tmp_path / "ds", {"r1": RECEIPTS["r1"]})
    row = json.loads((ds / "metadata.jsonl").read_text())
    write_jsonl(ds / "metadata.jsonl", [{**row, "file_name": "../../outside.png"}])
    with pytest.raises(UserError, match=r"file_name '\.\./\.\./outside\.png': must be a path inside"):
        load_truth(ds).records[0].open_image()


def test_the_real_labels_file_keeps_its_relative_images():
    folder = SROIE
    if not (folder / "labels.jsonl").is_file():
        pytest.skip("no shared SROIE dev set here")
    records = load_truth(folder, limit=2).records
    assert all(not r.image_problem and Path(r.image).is_file() for r in records)


# --- decompression bombs and huge PDF pages ------------------------------------------------------

def test_image_helpers_refuse_bombs_and_huge_pdf_pages(tmp_path):
    import pypdfium2 as pdfium

    from docfoundry.images import image_size, open_image, render_pdf_page

    bomb = bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 100_000                       # a small file ...
    for read in (open_image, image_size):
        with pytest.raises(UserError, match="bomb.png: the image is too large"):  # ... of 196 million pixels
            read(bomb, str(bomb))
    over = bomb_png(tmp_path / "over.png", 10_000)             # 1-2x the limit: Pillow would only warn
    with pytest.raises(UserError, match="over.png: the image is too large"):
        open_image(over, str(over))
    pdf = pdfium.PdfDocument(str(huge_page_pdf(tmp_path / "huge.pdf")))
    with pytest.raises(UserError, match=r"200x200 inches, 30000x30000 pixels at 150 DPI"):
        render_pdf_page(pdf[0], 150, "huge.pdf page 1")
    pdf.close()


def test_degrade_goes_on_past_a_bomb(clean_folder, tmp_path, capsys):
    src = tmp_path / "in"
    shutil.copytree(clean_folder, src)
    samples = list(read_samples(src))
    bomb_png(src / samples[1].file_name)                       # a PNG behind a .jpg name: Pillow reads content
    out = tmp_path / "out"
    assert main(["degrade", "--in", str(src), "--out", str(out), "--preset", "light"]) == 1
    assert [s.id for s in read_samples(out)] == [samples[0].id, samples[2].id]
    errors = read_run_info(out)["counts"]["errors"]
    assert len(errors) == 1 and samples[1].file_name in errors[0] and "too large" in errors[0]
    capsys.readouterr()
    assert main(["degrade", "--in", str(src), "--out", str(out), "--preset", "light"]) == 1  # re-run: same
    assert "too large" in capsys.readouterr().err


def test_eval_model_goes_on_past_a_bomb(tiny_model, tmp_path, capsys):
    truth = dataset_folder(tmp_path / "truth", RECEIPTS)
    bomb_png(truth / "images" / "r2.png")
    out = tmp_path / "report"
    assert main(["eval", "--truth", str(truth), "--model", str(tiny_model("smolvlm")), "--max-new-tokens", "4",
                 "--bootstrap", "0", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["r1", "r3"]
    failed = [json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines()]
    assert [f["id"] for f in failed] == ["r2"] and "too large" in failed[0]["reason"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["matching"]["truth_without_prediction"] == 0  # skipped as a truth problem, not a miss
    assert any("r2.png" in p and "too large" in p for p in metrics["truth_problems"])
    assert "unreadable truth items skipped: 1" in capsys.readouterr().err


def test_run_report_shows_a_bomb_page_as_a_warning(tmp_path):
    from docfoundry.orchestration.run_report import _samples

    synth = dataset_folder(tmp_path / "synth", {"r1": RECEIPTS["r1"]})
    bomb_png(synth / "images" / "r1.png")
    blocks = _samples(tmp_path)
    assert [b.kind for b in blocks][-1] == "warn" and "too large" in blocks[-1].text


# --- the other readers of a row's image path -----------------------------------------------------

def test_instruct_and_train_read_only_inside_their_folders(clean_folder, tmp_path, capsys):
    from distill.instruct import InstructConfig
    from distill.instruct import run as instruct
    from finetune.data import read_folder

    src, ids = _hostile_copy(clean_folder, tmp_path)
    bomb_png(src / next(s for s in read_samples(src) if s.id == ids[2]).file_name)
    out = tmp_path / "a" / "instr"
    before = files_under(tmp_path)
    s = instruct(InstructConfig(input=str(src), out=str(out)))
    assert s["conversations"] == 1                             # the evil id's page; the other two are skipped
    assert s["skipped"] == {"image_outside_folder": 1, "unreadable_image": 1}
    assert files_under(tmp_path) - before == files_under(out)
    assert "outside.jpg" in capsys.readouterr().err

    rows = [json.loads(line) for line in (out / "conversations.jsonl").read_text().splitlines()]
    write_jsonl(out / "conversations.jsonl", [rows[0], {**rows[0], "id": "up", "images": ["../../outside.jpg"]}])
    convs, skipped = read_folder(out)
    assert [c.id for c in convs] == [rows[0]["id"]] and skipped == {"image path outside the folder": 1}


def test_train_skips_a_bomb_image(tmp_path):
    from finetune.collate import image_size

    assert image_size(bomb_png(tmp_path / "bomb.png")) is None
    assert image_size(tmp_path / "missing.png") is None


def test_caption_pairs_stay_inside_their_folder(tmp_path, capsys):
    from distill.synthesize import read_pairs

    folder = tmp_path / "a" / "pairs"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "ok.png").write_bytes(png_bytes())
    (tmp_path / "outside.png").write_bytes(png_bytes())
    write_jsonl(folder / "metadata.jsonl", [{"file_name": "images/ok.png", "id": "ok", "caption": "a page"},
                                            {"file_name": "../../outside.png", "id": "up", "caption": "a page"}])
    assert [p.id for p in read_pairs(folder)] == ["ok"]
    assert "'../../outside.png': must be a path inside" in capsys.readouterr().err
