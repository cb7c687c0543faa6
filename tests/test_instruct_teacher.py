"""`instruct --from teacher`: the recipe's parsing, filter verdicts and final answers, and the whole
path with a real (tiny, random) transformers teacher: bad pairs counted, rejects kept, calls cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distill.synthesize import final_answer, parse_triplets, verdict
from docfoundry.cli import main


def test_triplets_verdicts_and_final_answers():
    text = ("## Question: What is the total?\n## Informative Answer: The total at the bottom is 12.50.\n"
            "## Precise Answer: 12.50\n## Question: How many items?\n## Informative Answer: Three lines.\n"
            "## Precise Answer: 3")
    assert parse_triplets(text) == [("What is the total?", "The total at the bottom is 12.50.", "12.50"),
                                    ("How many items?", "Three lines.", "3")]
    assert parse_triplets("no structure here") == []
    assert [verdict(t) for t in ("Yes.", "no", "It is Open", "maybe")] == ["Yes", "No", "Open", "?"]
    assert final_answer("The total at the bottom is 12.50.", "12.50") == "The total at the bottom is 12.50."
    assert final_answer("Three lines.", "3") == "Three lines.\nSo the answer is: 3"
    assert final_answer("", "3") == "Answer: 3"


def test_teacher_path_end_to_end_with_a_tiny_hf_teacher(tiny_model, tmp_path):
    pairs = tmp_path / "pairs"
    (pairs / "images").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (300, 400), "white").save(pairs / "images" / "a.png")
    Image.new("RGB", (300, 400), "white").save(pairs / "images" / "b.png")
    rows = [{"file_name": "images/a.png", "id": "a", "caption": "A receipt from a bakery, total 12.50."},
            {"file_name": "images/b.png", "id": "b", "caption": ""},
            {"file_name": "images/missing.png", "id": "c", "caption": "gone"}]
    (pairs / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = tiny_model("idefics3")
    args = ["instruct", "--in", str(pairs), "--out", str(tmp_path / "o"), "--from", "teacher",
            "--teacher", f"hf:{model}", "--max-tokens", "16"]
    assert main(args) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    skipped = summary["skipped"]
    assert skipped["empty_caption"] == 1 and skipped["missing_image"] == 1
    # a random model writes no parseable triplet: the page is rejected, counted and kept for inspection
    assert skipped.get("unparseable", 0) + skipped.get("filtered_No", 0) + skipped.get("filtered_?", 0) >= 1
    assert (tmp_path / "o" / "rejected.jsonl").read_text().strip()
    calls = (tmp_path / "o" / "calls.jsonl").read_text().count("\n")
    assert calls >= 1
    assert main(args) == 0  # a re-run answers from the cache
    assert (tmp_path / "o" / "calls.jsonl").read_text().count("\n") == calls


def test_ocr_teacher_is_refused_for_instructions(tmp_path, capsys):
    pairs = tmp_path / "p"
    pairs.mkdir()
    (pairs / "metadata.jsonl").write_text("")
    assert main(["instruct", "--in", str(pairs), "--out", str(tmp_path / "o"), "--from", "teacher",
                 "--teacher", "ocr"]) == 2
    assert "generative teacher" in capsys.readouterr().err
    assert not Path(tmp_path / "o" / "conversations.jsonl").exists()


def test_teacher_path_with_a_real_vllm_engine(tiny_model, tmp_path):
    """The synthesizer and the filter through vLLM's engine on a tiny random model: every pair is
    answered, nothing a random model writes survives, and the counts say why."""
    import pytest

    pytest.importorskip("vllm")  # absent on the GPU machines (see FINDINGS), present after install.sh here
    pairs = tmp_path / "pairs"
    (pairs / "images").mkdir(parents=True)
    from PIL import Image

    rows = []
    for name in ("a", "b"):
        Image.new("RGB", (320, 420), "white").save(pairs / "images" / f"{name}.png")
        rows.append({"file_name": f"images/{name}.png", "id": name, "caption": f"A form {name} with three fields."})
    (pairs / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["instruct", "--in", str(pairs), "--out", str(tmp_path / "o"), "--from", "teacher",
            "--teacher", f"vllm:{tiny_model('idefics3')}", "--max-tokens", "24"]
    assert main(args) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    rejected = {k: v for k, v in summary["skipped"].items() if k == "unparseable" or k.startswith("filtered_")}
    assert sum(rejected.values()) == 2 and summary["conversations"] == 0
    assert (tmp_path / "o" / "calls.jsonl").read_text().count("\n") >= 2


class ChatServer:
    """A loopback OpenAI-compatible server: the synthesizer prompt gets one triplet, the filter 'Yes'."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                prompt = json.dumps(body["messages"])
                triplet = "## Question: What is the total? ## Informative Answer: The total is 12.50. ## Precise Answer: 12.50"
                text = "Yes" if "Yes, No, or Open" in prompt else triplet
                reply = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("position", ["first", "last", "none"])
def test_teacher_path_honours_caption_position(tmp_path, position):
    # regression: the teacher loop placed the caption at random whatever --caption-position said
    from PIL import Image

    pairs = tmp_path / "pairs"
    (pairs / "images").mkdir(parents=True)
    rows = []
    for i in range(4):
        Image.new("RGB", (64, 64), "white").save(pairs / "images" / f"p{i}.png")
        rows.append({"file_name": f"images/p{i}.png", "id": f"p{i}", "caption": "A receipt, total 12.50."})
    (pairs / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    server = ChatServer()
    try:
        assert main(["instruct", "--in", str(pairs), "--out", str(tmp_path / "o"), "--from", "teacher",
                     "--teacher", f"openai:{server.url}#m", "--caption-position", position]) == 0
    finally:
        server.close()
    made = [json.loads(line) for line in (tmp_path / "o" / "conversations.jsonl").read_text().splitlines()]
    assert len(made) == 4
    for row in made:
        families = [t["family"] for t in row["turns"]]
        assert families.count("synthesized") == 1
        expected = {"first": ["caption", "synthesized"], "last": ["synthesized", "caption"],
                    "none": ["synthesized"]}[position]
        assert families == expected, row


def test_teacher_folder_is_not_resumed_with_other_max_tokens(tmp_path, capsys):
    # regression: --max-tokens was left out of the teacher path's fingerprint, so a re-run with another
    # value appended answers of a different length budget to the same folder
    from PIL import Image

    pairs = tmp_path / "pairs"
    (pairs / "images").mkdir(parents=True)
    Image.new("RGB", (64, 64), "white").save(pairs / "images" / "p0.png")
    (pairs / "metadata.jsonl").write_text(json.dumps({"file_name": "images/p0.png", "id": "p0", "caption": "A receipt."}) + "\n")
    server = ChatServer()
    try:
        args = ["instruct", "--in", str(pairs), "--out", str(tmp_path / "o"), "--from", "teacher",
                "--teacher", f"openai:{server.url}#m"]
        assert main([*args, "--max-tokens", "64"]) == 0
        assert main([*args, "--max-tokens", "64"]) == 0  # the same settings resume
        capsys.readouterr()
        assert main([*args, "--max-tokens", "32"]) == 2
        assert "max_tokens" in capsys.readouterr().err
    finally:
        server.close()
    fingerprint = json.loads((tmp_path / "o" / "run.json").read_text())["fingerprint"]
    assert fingerprint["max_tokens"] == 64 and "tasks" not in fingerprint and "out" not in fingerprint
