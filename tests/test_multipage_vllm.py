"""vLLM reads a document of several pages: ``eval --engine vllm`` is started for as many images per
prompt as the truth's largest document has pages, and answers a two-page agreement as ``--engine hf``
does (greedy, float32); the vllm teacher's chat holds every page, and one larger than its engine's
limit is still a one-line error. One engine start (the eval path)."""

from __future__ import annotations

import json

import pytest
from types_fixtures import AGREEMENT, AGREEMENT_LAYOUTS, installed_type

from docfoundry.cli import main


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory):
    """An installed agreement type and a folder of one synthetic two-page agreement."""
    with installed_type(tmp_path_factory.mktemp("tpl"), "agreement", AGREEMENT, AGREEMENT_LAYOUTS):
        out = tmp_path_factory.mktemp("agr") / "ds"
        assert main(["synth", "--doc-types", "agreement", "--n", "1", "--seed", "4", "--out", str(out)]) == 0
        yield out


def test_vllm_engine_answers_a_two_page_document_like_transformers(two_pages, tiny_model, tmp_path):
    pytest.importorskip("vllm")
    row = json.loads((two_pages / "metadata.jsonl").read_text().splitlines()[0])
    assert len(row["pages"]) == 2
    model = tiny_model("idefics3")  # vLLM's CPU attention needs 64-wide heads: the micro Idefics3 has them

    def answers(engine):
        out = tmp_path / engine
        assert main(["eval", "--truth", str(two_pages), "--model", str(model), "--engine", engine, "--dtype",
                     "float32", "--max-new-tokens", "10", "--bootstrap", "0", "--out", str(out)]) == 0
        rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        return {r["id"]: r["prediction"] for r in rows}

    by_vllm = answers("vllm")
    assert by_vllm == answers("hf") and list(by_vllm) == [row["id"]]  # greedy in float32: the same tokens


def test_vllm_teacher_sends_every_page_up_to_its_engines_limit(two_pages):
    from distill.pages import adapter_pages
    from distill.teachers import Request, TeacherOptions, load_teacher
    from distill.teachers.vllm import chat_messages
    from docfoundry.errors import UserError

    (page,) = adapter_pages(two_pages)
    assert page.page_count == 2  # known from the listing, before the engine starts
    image = page.read()
    req = Request(page.id, image.image, image.data, image.ext, "Read the agreement.", {}, 0, more=image.more)
    chat = chat_messages(req, images_per_prompt=2)
    assert [part["type"] for m in chat for part in m["content"] if part["type"].startswith("image")] == \
        ["image_pil", "image_pil"]
    with pytest.raises(UserError, match="a document of 2 pages; the vllm engine was started for 1 image"):
        chat_messages(req)
    teacher = load_teacher("vllm:models/none", TeacherOptions())  # the engine starts lazily: nothing loads here
    teacher.reserve_images(2)
    teacher.reserve_images(1)
    assert teacher.images_per_prompt == 2 and teacher.identity() == load_teacher("vllm:models/none").identity()
