"""--ocr-context: the page's OCR lines in the prompt, the same token for token at training and at
inference, masked from the loss, trimmed by one cap, and carried by the trained adapter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eval_fixtures import RECEIPTS, text_folder

from docfoundry.cli import main
from docfoundry.errors import UserError

LINES = [{"text": "CORNER MARKET", "box": [15, 15, 199, 37]}, {"text": "TEA  4.00", "box": [15, 60, 107, 81]},
         {"text": "TOTAL 12.50", "box": [14, 147, 150, 169]}]


def tokenizer_of(model_dir: Path):
    from docfoundry.families import family_of
    from docfoundry.loading import load_config, load_processor

    return load_processor(str(model_dir), family_of(load_config(str(model_dir)))).tokenizer


def test_text_and_layout_contexts_and_the_cap(tiny_model):
    from docfoundry.chat import HEADERS, ocr_context, tokenizer_counter

    count = tokenizer_counter(tokenizer_of(tiny_model("smolvlm")))
    text, cut = ocr_context([(LINES, (360, 200))], "text", 0, count)
    assert cut == 0 and text.splitlines() == [HEADERS["text"], "CORNER MARKET", "TEA 4.00", "TOTAL 12.50"]
    layout, _ = ocr_context([(LINES, (360, 200))], "layout", 0, count)
    assert layout.splitlines()[1] == "[42,75,553,185] CORNER MARKET"  # pixels -> 0-1000 page space
    two_pages, _ = ocr_context([(LINES, (360, 200)), (LINES[:1], (100, 100))], "text", 0, count)
    assert two_pages.splitlines()[1] == "Page 1:" and two_pages.splitlines()[-2:] == ["Page 2:", "CORNER MARKET"]
    assert ocr_context([(LINES, (360, 200))], "none", 0, count) == ("", 0)
    # the cap cuts whole lines from the end, says how many, and the block fits it
    full = count(text)
    trimmed, cut = ocr_context([(LINES, (360, 200))], "text", full - 1, count)
    assert cut >= 1 and count(trimmed) <= full - 1
    assert trimmed.splitlines()[:-1] == text.splitlines()[:len(trimmed.splitlines()) - 1]
    assert trimmed.splitlines()[-1] == f"[{cut} more OCR lines cut]"
    assert ocr_context([(LINES, (360, 200))], "text", 2, count) == ("", 3)  # not even the header fits


@pytest.fixture(scope="module")
def made(tmp_path_factory, tiny_model):
    """A page that OCR reads -> instruct --ocr-context layout with a cap that cuts -> a 1-step student."""
    from finetune.train import TrainConfig, train

    root = tmp_path_factory.mktemp("ocr-context")
    truth = text_folder(root / "truth", {"r1": RECEIPTS["r1"]})
    cache = root / "ocr-cache"
    common = ["instruct", "--in", str(truth), "--tasks", "extract", "--per-page", "1", "--caption-position", "none",
              "--ocr-context", "layout", "--ocr-cache", str(cache)]
    assert main([*common, "--out", str(root / "uncapped"), "--ocr-max-tokens", "0"]) == 0
    row = json.loads((root / "uncapped" / "conversations.jsonl").read_text().splitlines()[0])
    assert [ln["text"] for ln in row["ocr"][0]["lines"]][:1] == ["Corner Market"]  # real OCR of the page

    from docfoundry.chat import ocr_context, tokenizer_counter

    student = tiny_model("smolvlm")
    count = tokenizer_counter(tokenizer_of(student))
    full, _ = ocr_context([(row["ocr"][0]["lines"], tuple(row["ocr"][0]["size"]))], "layout", 0, count)
    cap = count(full) - 1  # one token short: the last line must go
    assert main([*common, "--out", str(root / "instr"), "--ocr-max-tokens", str(cap)]) == 0
    train(TrainConfig(data=[str(root / "instr")], student=str(student), out=str(root / "run"), max_steps=1,
                      batch=1, grad_accum=1, val_share=0.0, gradient_checkpointing=False, dtype="float32"))
    return {"truth": truth, "instr": root / "instr", "run": root / "run", "student": student, "cap": cap,
            "cache": cache}


def training_example(made):
    from docfoundry.families import family_of
    from docfoundry.loading import load_config, load_processor
    from finetune.collate import ChatEncoder, Collator, prepare
    from finetune.data import build_mix

    mix = build_mix([str(made["instr"])], [], 0.0, 0)
    assert (mix.ocr_context, mix.ocr_max_tokens) == ("layout", made["cap"])  # the folder's own record
    family = family_of(load_config(str(made["student"])))
    encoder = ChatEncoder(load_processor(str(made["student"]), family), family, mix.ocr_context, mix.ocr_max_tokens)
    (example,), dropped = prepare(mix.train, encoder, 4096)
    assert not dropped
    return example, encoder, Collator(encoder)([example])


def test_training_prompt_is_the_inference_prompt_token_for_token(made):
    from docfoundry.adapters import load_truth
    from eval.predict import HFEngine, PageContexts, ocr_setting, prompt_for
    from eval.run import EvalConfig

    example, encoder, batch = training_example(made)
    assert example.ocr_lines_cut == 1
    cfg = EvalConfig(truth=str(made["truth"]), out="unused", model=str(made["run"]), dtype="float32")
    assert ocr_setting(cfg) == ("layout", made["cap"])  # the adapter's train_config.json, no flag
    (record,) = load_truth(str(made["truth"])).records
    engine = HFEngine(cfg)
    image = record.open_image()
    contexts = PageContexts(*ocr_setting(cfg), made["cache"])
    context = contexts.of(record, image, engine.count_tokens)
    asked = engine.inputs(image, prompt_for(record), context)["input_ids"][0].tolist()
    trained = encoder.processor(text=[example.prompt], images=[[image]], add_special_tokens=False)["input_ids"][0]
    assert "[1 more OCR lines cut]" in context and context in example.prompt
    assert asked == list(trained)
    # the OCR context is prompt: every label up to the answer is -100, the answer is learned
    labels, ids = batch["labels"][0].tolist(), batch["input_ids"][0].tolist()
    assert ids[:len(asked)] == asked and set(labels[:len(asked)]) == {-100}
    assert example.length == int(batch["attention_mask"][0].sum())  # the exact length counts the context
    learned = encoder.tokenizer.decode([t for t in labels if t != -100])
    assert json.loads(learned.split(encoder.end_of_turn)[0]) == RECEIPTS["r1"]
    contexts.close()
    engine.close()


def test_an_adapter_trained_with_context_is_evaluated_with_it(made, tmp_path):
    saved = json.loads((made["run"] / "train_config.json").read_text())
    assert (saved["ocr_context"], saved["ocr_max_tokens"]) == ("layout", made["cap"])
    data_mix = json.loads((made["run"] / "data_mix.json").read_text())
    assert data_mix["ocr_lines_cut"] == 1 and data_mix["ocr_samples_cut"] == 1
    out = tmp_path / "report"
    assert main(["eval", "--truth", str(made["truth"]), "--model", str(made["run"]), "--max-new-tokens", "4",
                 "--bootstrap", "0", "--ocr-cache", str(made["cache"]), "--out", str(out)]) == 0
    speed = json.loads((out / "metrics.json").read_text())["speed"]
    assert speed["ocr_context"] == "layout" and speed["ocr_max_tokens"] == made["cap"] and speed["ocr_pages_cut"] == 1
    assert json.loads((out / "predictions.run.json").read_text())["ocr_context"] == "layout"
    # asked without context the same model gives other predictions: a resume must not mix them
    assert main(["eval", "--truth", str(made["truth"]), "--model", str(made["run"]), "--max-new-tokens", "4",
                 "--bootstrap", "0", "--ocr-context", "none", "--out", str(out)]) == 2


def test_model_teachers_send_the_same_context(made):
    from distill.ocr import OcrLine
    from distill.teachers import Request, Sampling, TeacherOptions, load_teacher, teacher_chat
    from docfoundry.chat import tokenizer_counter
    from docfoundry.images import open_image

    data = (made["truth"] / "images" / "r1.png").read_bytes()
    lines = [OcrLine(ln["text"], ln["box"], 1.0, []) for ln in LINES]
    req = Request("r1", open_image(data, "r1"), data, "png", "Extract the fields.", {"type": "object"}, 0, ocr=lines)
    options = TeacherOptions(ocr_context="text", ocr_max_tokens=0)
    api = load_teacher("openai:http://127.0.0.1:9/v1#m", options)
    (user,) = api.payload(req, Sampling())["messages"]  # one user turn: page, context, then the instructions
    assert user["content"][0]["type"] == "image_url" and user["content"][1]["text"].endswith("\n\nExtract the fields.")
    assert user["content"][1]["text"].splitlines()[1:4] == ["CORNER MARKET", "TEA 4.00", "TOTAL 12.50"]
    assert api.needs_ocr and api.identity() != load_teacher("openai:http://127.0.0.1:9/v1#m").identity()
    (bare,) = load_teacher("openai:http://127.0.0.1:9/v1#m").payload(req, Sampling())["messages"]
    assert bare["content"][1]["text"] == "Extract the fields."  # no context without --ocr-context
    hf = load_teacher(f"hf:{made['student']}", options)
    chat = teacher_chat(req, req.image, lambda im: {"type": "image"},
                        tokenizer_counter(tokenizer_of(made["student"])), options)
    assert chat[0]["content"][1]["text"] == user["content"][1]["text"] and hf.needs_ocr
    with pytest.raises(UserError, match="needs the page's OCR lines"):
        teacher_chat(Request("r1", req.image, data, "png", "p", {}, 0), req.image, lambda im: {}, len, options)


def test_bad_settings_are_one_line_errors(made, tmp_path, capsys):
    from distill.teachers import TeacherOptions, load_teacher
    from finetune.data import build_mix

    def refused(args: list[str]) -> str:
        """Exit 2 and the error line (argparse refuses a bad choice after its usage lines)."""
        try:
            code = main(args)
        except SystemExit as e:
            code = e.code
        assert code == 2
        return capsys.readouterr().err.strip().splitlines()[-1]

    base = ["instruct", "--in", str(made["truth"]), "--out", str(tmp_path / "x")]
    assert "--ocr-context: invalid choice: 'nope'" in refused([*base, "--ocr-context", "nope"])
    assert refused([*base, "--ocr-max-tokens", "-1"]) == "error: --ocr-max-tokens: must be at least 0 (got -1)"
    assert "--ocr-context: invalid choice" in refused(["eval", "--truth", str(made["truth"]), "--model",
                                                       str(made["run"]), "--ocr-context", "nope", "--out", "e"])
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match="--ocr-context"):
        load_teacher("openai:http://127.0.0.1:9/v1#m", TeacherOptions(ocr_context="nope"))
    with pytest.raises(UserError, match="ocr-max-tokens"):
        load_teacher("openai:http://127.0.0.1:9/v1#m", TeacherOptions(ocr_context="text", ocr_max_tokens=-5))
    # a mix of folders made with different settings: the student would learn two prompt layouts
    assert main(["instruct", "--in", str(made["truth"]), "--out", str(tmp_path / "plain"), "--tasks", "extract"]) == 0
    with pytest.raises(UserError, match="different --ocr-context"):
        build_mix([str(made["instr"]), str(tmp_path / "plain")], [], 0.0, 0)


def test_instruct_rows_with_context_are_the_same_in_another_process(made, tmp_path):
    """Same bytes from a fresh process with another hash seed (OCR read from the shared cache)."""
    out = tmp_path / "again"
    code = ("import sys; from docfoundry.cli import main; sys.exit(main(sys.argv[1:]))")
    args = ["instruct", "--in", str(made["truth"]), "--tasks", "extract", "--per-page", "1", "--caption-position",
            "none", "--ocr-context", "layout", "--ocr-cache", str(made["cache"]), "--ocr-max-tokens",
            str(made["cap"]), "--out", str(out)]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=Path(__file__).parents[1])
    assert (out / "conversations.jsonl").read_bytes() == (made["instr"] / "conversations.jsonl").read_bytes()


def test_label_reads_the_ocr_a_teacher_with_context_needs(made, tmp_path):
    """With grounding off only the teacher's --ocr-context makes the labeler OCR the page."""
    from distill.label import LabelConfig, run

    def label(out: str, **extra):
        return run(LabelConfig(source=str(made["truth"]), schema="receipt", teacher=f"hf:{made['student']}",
                               out=str(tmp_path / out), limit=1, structured=False, max_tokens=4, grounding=False,
                               progress=False, **extra))

    plain, grounded = label("plain"), label("text", ocr_context="text", ocr_max_tokens=64)
    assert plain["ocr_calls"] == 0 and grounded["ocr_calls"] == 1 and grounded["teacher_calls"] >= 1


def test_exports_carry_the_context_where_training_puts_it(made, tmp_path):
    from docfoundry.chat import HEADERS

    out = tmp_path / "instr.sharegpt.jsonl"
    assert main(["instruct", "export", str(made["instr"]), "--format", "sharegpt", "--out", str(out)]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    first = row["messages"][0]["content"]
    source = json.loads((made["instr"] / "conversations.jsonl").read_text().splitlines()[0])
    assert first.startswith("<image>" + HEADERS["layout"] + "\n[")  # the page, its OCR lines, then the question
    assert first.endswith("\n\n" + source["messages"][0]["content"]) and "Corner Market" in first
