"""One chat layout (#16 point 3): a model asked as a teacher sees, token for token, the prompt
``eval --model`` asks it with (and a student is trained on), and cached teacher answers of the old
layout are not reused."""

import base64
import io

import pytest

PROMPT = "Extract the fields as JSON."
LINES = [{"text": "CORNER MARKET", "box": [15, 15, 199, 37]}, {"text": "TEA  4.00", "box": [15, 60, 107, 81]},
         {"text": "TOTAL 12.50", "box": [14, 147, 150, 169]}]


@pytest.fixture(scope="module")
def page():
    """A page image, its PNG bytes and its OCR lines."""
    from PIL import Image, ImageDraw

    from distill.ocr import OcrLine

    image = Image.new("RGB", (360, 200), "white")
    ImageDraw.Draw(image).text((15, 15), "CORNER MARKET", fill="black")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return image, buf.getvalue(), [OcrLine(ln["text"], ln["box"], 1.0, []) for ln in LINES]


def request(page):
    from distill.teachers import Request

    image, data, lines = page
    return Request("r1", image, data, "png", PROMPT, {"type": "object"}, 0, ocr=lines)


@pytest.mark.parametrize("mode", ["none", "text"])
def test_hf_teacher_prompt_is_evals_prompt_token_for_token(page, tiny_model, mode):
    from distill.teachers import TeacherOptions, load_teacher
    from docfoundry.chat import ocr_context
    from eval.predict import HFEngine
    from eval.run import EvalConfig

    model = str(tiny_model("smolvlm"))
    teacher = load_teacher(f"hf:{model}", TeacherOptions(ocr_context=mode, ocr_max_tokens=0, dtype="float32"))
    req = request(page)
    engine = HFEngine(EvalConfig(truth="unused", out="unused", model=model, dtype="float32", device="cpu"))
    context, _ = ocr_context([(req.ocr, req.image.size)], mode, 0, engine.count_tokens)
    assert (mode == "none") == (context == "")
    taught = teacher.engine.inputs(teacher.chat(req), req.images)["input_ids"][0].tolist()
    asked = engine.inputs(req.image, PROMPT, context)["input_ids"][0].tolist()
    assert taught == asked
    text = teacher.engine.tokenizer.decode(taught)
    assert text.index(PROMPT) > (text.index("TOTAL 12.50") if context else 0)  # the instructions come last
    engine.close()
    teacher.close()


def test_openai_teacher_sends_the_students_chat_with_its_own_image_part(page):
    from distill.teachers import Sampling, TeacherOptions, load_teacher
    from docfoundry.chat import approximate_counter, ocr_context, url_part
    from eval.predict import student_chat

    req = request(page)
    api = load_teacher("openai:http://127.0.0.1:9/v1#m", TeacherOptions(ocr_context="text", ocr_max_tokens=0))
    messages = api.payload(req, Sampling())["messages"]
    url = f"data:image/png;base64,{base64.b64encode(req.image_bytes).decode('ascii')}"
    context, _ = ocr_context([(req.ocr, req.image.size)], "text", 0, approximate_counter)
    assert messages == student_chat(url, PROMPT, context, url_part)
    assert [m["role"] for m in messages] == ["user"]
    assert [part["type"] for part in messages[0]["content"]] == ["image_url", "text"]


def test_model_teachers_carry_the_layout_in_their_cache_identity(tiny_model):
    from distill.teachers import CHAT_LAYOUT, load_teacher

    assert load_teacher(f"hf:{tiny_model('smolvlm')}").identity()["chat_layout"] == CHAT_LAYOUT
    assert load_teacher("vllm:models/none").identity()["chat_layout"] == CHAT_LAYOUT
    assert load_teacher("openai:http://127.0.0.1:9/v1#m").identity()["chat_layout"] == CHAT_LAYOUT
    assert "chat_layout" not in load_teacher("ocr").identity()  # its answers read no chat


def test_vllm_teacher_sends_what_evals_vllm_engine_sends(page):
    from distill.teachers import TeacherOptions
    from distill.teachers.vllm import chat_messages
    from docfoundry.chat import approximate_counter, ocr_context, pil_part
    from eval.predict import student_chat

    req = request(page)
    context, _ = ocr_context([(req.ocr, req.image.size)], "layout", 0, approximate_counter)
    sent = chat_messages(req, TeacherOptions(ocr_context="layout", ocr_max_tokens=0))
    assert sent == student_chat(req.image, PROMPT, context, pil_part)  # eval's VLLMEngine builds its chats so
