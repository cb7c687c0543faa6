"""A multi-page document is one sample: the example agreement (a folder, no code) flows its clauses
onto a second page; one row holds both pages' images, every box says its page, the truth is the
whole document's, and synth --verify, medium degradation and imagefolder loading keep that."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from folder_checks import folder_bytes
from types_fixtures import AGREEMENT, AGREEMENT_LAYOUTS, installed_type

from docfoundry.cli import main
from docfoundry.records import ROW_KEYS
from docfoundry.store import read_samples

REPO = Path(__file__).resolve().parent.parent
SYNTH = ["synth", "--doc-types", "agreement", "--n", "4", "--verify", "--locales", "en_US,de_DE,fr_FR",
         "--seed", "4"]


@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    with installed_type(tmp_path_factory.mktemp("tpl"), "agreement", AGREEMENT, AGREEMENT_LAYOUTS) as root:
        out = tmp_path_factory.mktemp("agr") / "ds"
        assert main([*SYNTH, "--out", str(out)]) == 0
        yield root, out


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]


def _boxes_inside_their_page(folder: Path) -> None:
    from PIL import Image

    for s in read_samples(folder):
        sizes = [Image.open(folder / name).size for name in s.page_files]
        for b in [*s.words, *s.field_boxes]:
            w, h = sizes[b.page]
            assert 0 <= b.box[0] < b.box[2] <= w and 0 <= b.box[1] < b.box[3] <= h, (s.id, b)


def test_one_row_per_document_with_a_page_per_image(agreement):
    _, out = agreement
    samples = list(read_samples(out))
    assert len(samples) == 4 and len(list((out / "images").iterdir())) == 8
    for s in samples:
        assert s.pages == [s.file_name, s.file_name.replace(".jpg", "_p2.jpg")]
        on_two = [f.path for f in s.field_boxes if f.page == 1]
        assert "governing_city" in on_two and "parties.1.signatory" in on_two  # fields in clauses flowed over
        assert {f.page for f in s.field_boxes} == {0, 1} and {w.page for w in s.words} == {0, 1}
        assert len({f.path for f in s.field_boxes}) == len(s.field_boxes)  # each field once, on one page
        page_two = [w.text for w in s.words if w.page == 1]
        assert "Governing" in page_two and "2" in " ".join(page_two)  # the clause and the page number
        assert s.gt_parse["governing_city"] and s.gt_parse["agreement_number"]  # truth of the whole document
    _boxes_inside_their_page(out)


def test_no_line_starts_with_the_punctuation_of_the_line_before(agreement):
    """"... takes effect on {effective_date}." never leaves the full stop alone on the next line."""
    _, out = agreement
    for s in read_samples(out):
        starts: dict[tuple[int, int], tuple[int, str]] = {}
        for w in s.words:
            key = (w.page, w.box[1])
            if key not in starts or w.box[0] < starts[key][0]:
                starts[key] = (w.box[0], w.text)
        assert not [t for _, t in starts.values() if t in (".", ",", ";", ":", ")")], s.id


def test_verify_reads_each_field_on_its_own_page(agreement):
    """--verify reads page 2's fields in page 2's text layer (on page 1 they are not found)."""
    from synth.generate import SynthConfig, render_sample
    from synth.raster import verify_fields

    root, _ = agreement
    with installed_type(root, "agreement", AGREEMENT, AGREEMENT_LAYOUTS):
        r = render_sample(SynthConfig(out="unused", doc_types=["agreement"], seed=4, locales=["en_US"]), 0)
    assert len(r.images) == len(r.page_fields) == 2 and r.unverified() == []
    assert set(verify_fields(r.pdf, r.page_height, r.page_fields[1], page=0)) == set(r.page_fields[1])


def test_a_one_page_row_is_unchanged(tmp_path):
    """One-page documents write exactly the keys they always did: no ``pages``, no ``page`` on boxes."""
    assert main(["synth", "--doc-types", "invoice", "--n", "2", "--out", str(tmp_path / "inv")]) == 0
    for row in _rows(tmp_path / "inv"):
        assert tuple(row) == ROW_KEYS
        assert {tuple(w) for w in row["words"]} == {("text", "box")}
        assert {tuple(f) for f in row["field_boxes"]} == {("path", "text", "box")}


@pytest.fixture(scope="module")
def medium(agreement, tmp_path_factory):
    _, out = agreement
    folder = tmp_path_factory.mktemp("medium") / "ds"
    assert main(["degrade", "--in", str(out), "--out", str(folder), "--preset", "medium"]) == 0
    return folder


def test_medium_degradation_keeps_every_page_and_its_boxes(agreement, medium):
    _, out = agreement
    before, after = list(read_samples(out)), list(read_samples(medium))
    for a, b in zip(before, after):
        assert b.pages == a.pages and b.page_count == 2
        assert [(f.path, f.page) for f in b.field_boxes] == [(f.path, f.page) for f in a.field_boxes]
        assert [w.page for w in b.words] == [w.page for w in a.words]
        record = b.meta["degradation"]
        assert record["preset"] == "medium" and len(record["pages"]) == 2
        assert record["pages"][0]["seed"] != record["pages"][1]["seed"]
    _boxes_inside_their_page(medium)


def test_medium_keeps_every_field_box_on_its_ink_on_both_pages(agreement):
    """Box fidelity (``synth.boxcheck``: the pixels' own mapping) on page 1 and page 2 alike."""
    from synth.boxcheck import pages_fidelity
    from synth.degrade import load_preset
    from synth.generate import SynthConfig, render_sample

    root, _ = agreement
    with installed_type(root, "agreement", AGREEMENT, AGREEMENT_LAYOUTS):
        rendered = [render_sample(SynthConfig(out="unused", doc_types=["agreement"], seed=4), i) for i in (0,)]
    fits = pages_fidelity(rendered, load_preset("medium"), seed=100)
    assert len(fits) == sum(len(r.sample.field_boxes) for r in rendered)
    on_two = {f.path for r in rendered for f in r.sample.field_boxes if f.page == 1}
    assert on_two and sum(f.ok for f in fits) / len(fits) >= 0.99, [f for f in fits if not f.ok][:5]


def test_eval_scores_each_document_once_over_all_its_pages(medium, tmp_path):
    """One prediction per document; a field printed on page 2 left out costs that document."""
    samples = list(read_samples(medium))
    preds = tmp_path / "preds.jsonl"
    rows = [{"id": s.id, "fields": {k: v for k, v in s.gt_parse.items() if k != "governing_city" or i}}
            for i, s in enumerate(samples)]
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["eval", "--truth", str(medium), "--pred", str(preds), "--out", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["doc_types"]["agreement"]["documents"] == 4
    docs = [json.loads(line) for line in (tmp_path / "r" / "documents.jsonl").read_text().splitlines()]
    assert [(d["id"], d["n_truth"]) for d in docs] == [(s.id, len(s.field_boxes)) for s in samples]
    assert [d["missing"] for d in docs] == [1, 0, 0, 0]  # page 2's governing_city, of the first document


def test_truth_records_open_every_page(medium):
    """Label and ``eval --model`` read a document's truth record: it opens all its pages, in order."""
    from docfoundry.adapters import load_truth

    for record, s in zip(load_truth(medium).records, read_samples(medium)):
        assert record.pages == [str(medium / name) for name in s.pages] and record.image == record.pages[0]
        images = record.open_images()
        assert len(images) == 2 and images[1].size == images[0].size


def test_imagefolder_loads_pages_next_to_one_page_rows(agreement, tmp_path):
    """``datasets`` reads a folder that mixes one-page and multi-page rows: the missing keys are null."""
    import datasets

    _, out = agreement
    mixed = tmp_path / "mixed"
    assert main(["synth", "--doc-types", "agreement,invoice", "--n", "2", "--seed", "4", "--out", str(mixed)]) == 0
    ds = datasets.load_dataset("imagefolder", data_dir=str(mixed), split="train")
    rows = {r["id"]: r for r in ds}
    assert rows["agreement_000000"]["pages"] == ["images/agreement_000000.jpg", "images/agreement_000000_p2.jpg"]
    assert rows["invoice_000001"]["pages"] is None
    assert {w["page"] for w in rows["agreement_000000"]["words"]} == {0, 1}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "docfoundry", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO), **env})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_same_bytes_across_workers_and_hash_seeds(agreement, tmp_path):
    root, _ = agreement
    folders = []
    for name, workers, hash_seed in (("w1", "1", "1"), ("w2", "2", "2")):
        cwd = tmp_path / name
        cwd.mkdir()
        env = {"PYTHONHASHSEED": hash_seed, "DOCFOUNDRY_TEMPLATES": str(root)}
        _run([*SYNTH, "--n", "2", "--degrade", "medium", "--workers", workers, "--out", "out"], cwd, env)
        folders.append(folder_bytes(cwd / "out", run_drop=("seconds", "command"), config_drop=("workers",)))
    assert len(folders[0]) == 2 * 2 + 2
    assert folders[0] == folders[1]


def test_a_documents_ocr_is_read_page_by_page_as_one_reading():
    """The labeler OCRs each page and stacks the lines (page 2 under page 1); words go back to their page."""
    from distill.ocr import OcrLine
    from distill.pages import stacked, unstacked

    page1 = [OcrLine("Agreement No. 7", [10, 20, 90, 30], 0.9, [("Agreement", [10, 20, 50, 30])])]
    page2 = [OcrLine("Governing law", [12, 5, 80, 15], 0.8, [("law", [60, 5, 80, 15])])]
    lines = stacked([page1, page2], [100, 100])
    assert [ln.text for ln in lines] == ["Agreement No. 7", "Governing law"]
    assert lines[1].box == [12, 105, 80, 115] and lines[1].words == [("law", [60, 105, 80, 115])]
    assert unstacked(lines[1].words[0][1], [100, 100]) == (1, [60, 5, 80, 15])
    assert unstacked(lines[0].box, [100, 100]) == (0, [10, 20, 90, 30])


def test_instruct_makes_one_conversation_per_document_and_train_encodes_both_pages(medium, tmp_path, tiny_model):
    from test_train import encoder_for

    from finetune.collate import Collator, prepare
    from finetune.data import build_mix

    instr = tmp_path / "instr"
    assert main(["instruct", "--in", str(medium), "--out", str(instr), "--per-page", "12"]) == 0
    rows = [json.loads(line) for line in (instr / "conversations.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        assert row["images"] == [f"images/{row['id']}.jpg", f"images/{row['id']}_p2.jpg"]
        assert all((instr / name).is_file() for name in row["images"])
        grounding = [(q["content"], a["content"]) for q, a, t in zip(row["messages"][::2], row["messages"][1::2],
                                                                     row["turns"]) if t["family"].startswith("ground")]
        assert all("page 1 [" in q + a or "page 2 [" in q + a for q, a in grounding), grounding
    assert any("page 2 [" in m["content"] for row in rows for m in row["messages"])

    encoder = encoder_for(tiny_model("idefics3"))
    convs = build_mix([str(instr)], [], 0.0, 0).train
    assert all(len(c.images) == 2 for c in convs)
    examples, dropped = prepare(convs[:2], encoder, 0)
    batch = Collator(encoder)(examples)
    one_page = prepare([type(convs[0])(convs[0].id, convs[0].image, convs[0].messages, convs[0].source)], encoder, 0)[0]
    for i, ex in enumerate(examples):
        assert int(batch["attention_mask"][i].sum()) == ex.length  # both pages counted in the exact length
    media = set(encoder.media_ids)
    two = sum(t in media for t in batch["input_ids"][0].tolist())
    one = sum(t in media for t in Collator(encoder)(one_page)["input_ids"][0].tolist())
    assert two == 2 * one  # every page's image is in the input


@pytest.fixture(scope="module")
def labeled(agreement, tmp_path_factory):
    """One two-page agreement labeled by the ocr teacher: (its truth folder, the label folder)."""
    from docfoundry.store import subset

    root, out = agreement
    tmp = tmp_path_factory.mktemp("label")
    one = tmp / "one"
    assert subset(out, one, lambda row: row["id"] == "agreement_000000") == 1
    with installed_type(root, "agreement", AGREEMENT, AGREEMENT_LAYOUTS):
        assert main(["label", "--in", str(one), "--schema", "agreement", "--teacher", "ocr",
                     "--out", str(tmp / "lab"), "--no-progress"]) == 0
    return one, tmp / "lab"


def test_label_reads_every_page_of_a_document_as_one_item(labeled):
    """The ocr teacher reads a two-page document page by page; its row keeps both pages, its words
    their page, and the fields it reads come from either page."""
    from PIL import Image

    one, lab = labeled
    run = json.loads((lab / "run.json").read_text())
    assert run["counts"]["ocr_calls"] == 2  # one per page
    (s,) = read_samples(lab)
    (truth,) = read_samples(one)
    assert s.page_count == 2 and [Image.open(lab / p).size for p in s.pages] == [
        Image.open(one / p).size for p in truth.pages]
    words = {w.page: [] for w in s.words}
    for w in s.words:
        words[w.page].append(w.text)
    assert "Governing" in words[1] and "Agreement" in words[0] and "Governing" not in words[0]
    assert s.gt_parse["agreement_number"] == truth.gt_parse["agreement_number"]


def test_review_keeps_every_page_of_a_document(labeled, tmp_path):
    """review export shows page 1 (no box of page 2 drawn on it); review import keeps both pages."""
    from test_review import annotated_export

    _, lab = labeled
    tasks_file = tmp_path / "tasks.json"
    assert main(["review", "export", "--in", str(lab), "--out", str(tasks_file), "--below", "1.0"]) == 0
    tasks = json.loads(tasks_file.read_text())
    export = tmp_path / "export.json"
    export.write_text(json.dumps(annotated_export(tasks, {"agreement_number": "AGR-2000-0001"})))
    out = tmp_path / "reviewed"
    assert main(["review", "import", "--in", str(lab), "--export", str(export), "--out", str(out)]) == 0
    (before,), (after,) = read_samples(lab), read_samples(out)
    assert after.page_count == 2 and after.gt_parse["agreement_number"] == "AGR-2000-0001"
    assert [(w.text, w.page) for w in after.words] == [(w.text, w.page) for w in before.words]
    assert all((out / name).read_bytes() == (lab / name).read_bytes() for name in before.pages)


def test_eval_model_asks_once_per_document_with_every_page(agreement, medium, tmp_path, tiny_model):
    """``eval --model``: one answer per document, from a chat that holds one image per page."""
    from docfoundry.adapters import load_truth
    from eval.predict import HFEngine, prompt_for
    from eval.run import EvalConfig

    root, _ = agreement
    model = tiny_model("smolvlm")
    one = tmp_path / "one"
    from docfoundry.store import subset

    assert subset(medium, one, lambda row: row["id"] == "agreement_000001") == 1
    with installed_type(root, "agreement", AGREEMENT, AGREEMENT_LAYOUTS):
        out = tmp_path / "report"
        assert main(["eval", "--truth", str(one), "--model", str(model), "--max-new-tokens", "4", "--bootstrap", "0",
                     "--out", str(out)]) == 0
        rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        assert [r["id"] for r in rows] == ["agreement_000001"]
        (record,) = load_truth(one).records
        engine = HFEngine(EvalConfig(truth=str(one), model=str(model), out=str(out)))
        pages = record.open_images()
        media = set(engine.engine.family.media_token_ids(engine.engine.processor))

        def media_tokens(image):
            return sum(t in media for t in engine.inputs(image, prompt_for(record))["input_ids"][0].tolist())

        assert media_tokens(pages) == 2 * media_tokens(pages[0]) > 0


def test_model_teachers_see_every_page(agreement, tmp_path, tiny_model):
    """hf and openai teachers get one image per page; the vllm teacher started for one image says so."""
    from distill.pages import adapter_pages
    from distill.teachers import Request, TeacherOptions, load_teacher, teacher_chat
    from distill.teachers.vllm import chat_messages
    from docfoundry.chat import approximate_counter, placeholder
    from docfoundry.errors import UserError
    from docfoundry.store import subset

    root, out = agreement
    one = tmp_path / "one"
    assert subset(out, one, lambda row: row["id"] == "agreement_000003") == 1
    (page,) = adapter_pages(one)
    image = page.read()
    req = Request(page.id, image.image, image.data, image.ext, "Read the agreement.", {}, 0, more=image.more)
    chat = teacher_chat(req, req.images, placeholder, approximate_counter, TeacherOptions())
    assert [part["type"] for part in chat[0]["content"]] == ["image", "image", "text"]  # the pages, then the prompt
    body = load_teacher("openai:http://127.0.0.1:9/v1#m", TeacherOptions()).payload(req, _sampling())
    assert sum(part["type"] == "image_url" for m in body["messages"] for part in m["content"]) == 2
    with pytest.raises(UserError, match="a document of 2 pages; the vllm engine was started for 1 image"):
        chat_messages(req)
    with installed_type(root, "agreement", AGREEMENT, AGREEMENT_LAYOUTS):  # the hf teacher runs on both pages
        assert main(["label", "--in", str(one), "--schema", "agreement", "--teacher", f"hf:{tiny_model('idefics3')}",
                     "--out", str(tmp_path / "lab"), "--no-structured", "--max-tokens", "6", "--no-grounding",
                     "--no-progress"]) == 2  # a random model writes no JSON: the one document fails
    counts = json.loads((tmp_path / "lab" / "run.json").read_text())["counts"]
    assert counts["teacher_calls"] == 2 and counts["failed"] == 1  # asked twice, with both pages


def _sampling():
    from distill.teachers import Sampling

    return Sampling()
