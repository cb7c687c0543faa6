"""Values from predictions are text in every report: report.md escapes them as report.html does."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from eval_fixtures import dataset_folder, write_jsonl

from docfoundry.cli import main
from eval.report import Block, render_markdown

EVIL_IMG = '<img src="http://127.0.0.1:9/pixel.png" onerror="alert(1)">'
EVIL_MD_IMG = "![pixel](http://127.0.0.1:9/track.png)"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def rendered_tags(markdown: str) -> list[tuple[str, dict]]:
    """The HTML tags a CommonMark viewer (raw HTML allowed, GFM tables) makes of ``markdown``."""
    from markdown_it import MarkdownIt

    parser = Tags()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser.tags


def test_eval_report_markdown_shows_prediction_html_as_text(tmp_path):
    truth = dataset_folder(tmp_path / "truth")
    preds = write_jsonl(tmp_path / "preds.jsonl", [
        {"id": "r1", "fields": {"store_name": EVIL_IMG, "total": f"{EVIL_MD_IMG} [x](javascript:alert(1))"}},
        {"id": "r2", "prediction": "not json ``` <script>alert(2)</script>\n```\n<iframe src=http://127.0.0.1:9>"},
    ])
    out = tmp_path / "report"
    assert main(["eval", "--truth", str(truth), "--pred", str(preds), "--out", str(out), "--bootstrap", "20"]) == 0
    md = (out / "report.md").read_text()
    tags = rendered_tags(md)
    names = {t for t, _ in tags}
    assert not names & {"script", "iframe", "a"}, names
    images = [a["src"] for t, a in tags if t == "img"]
    assert images and all(src.startswith("plots/") and (out / src).is_file() for src in images), images
    # the values are still there, as text
    text = md.replace("\\", "")
    assert "&lt;img src=" in text and "<script>alert(2)</script>" in md   # the raw answer sits in a code block
    assert json.loads((out / "metrics.json").read_text())["overall"]


def test_code_block_cannot_be_closed_by_its_text():
    md = render_markdown([Block("pre", "a\n````\n<b>bold</b>\n```"), Block("p", "after")], {})
    tags = [t for t, _ in rendered_tags(md)]
    assert tags == ["pre", "code", "p"], (tags, md)


def test_plain_text_is_unchanged_in_tables():
    md = render_markdown([Block("table", headers=["field", "value"], rows=[["field_accuracy", "35.0"]])], {})
    assert "| field_accuracy | 35.0 |" in md
