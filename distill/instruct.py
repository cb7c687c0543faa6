"""Domain instruction sets: exact tasks from synthetic truth, mixed per image into one conversation.

    docfoundry instruct --in data/synth --out data/instr --from truth --per-page 8
    docfoundry instruct --in data/synth --out data/instr --from truth --tasks qa,count,arithmetic
    docfoundry instruct export data/instr --format sharegpt --out data/instr.sharegpt.jsonl

Each row of ``conversations.jsonl`` is one image with a multi-turn conversation: the tasks of that
page plus the caption task ("Describe the image.") placed first or last, as the single-stage
domain post-training recipe prescribes. ``summary.json`` counts tasks per family and phrasing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.conversations import ROWS, SOURCE_MODULES, load_source, write  # noqa: F401 (instruct.ROWS: deprecated)
from docfoundry.chat import DEFAULT_OCR_MAX_TOKENS, OCR_CONTEXTS
from docfoundry.commands import Command
from docfoundry.config import opt
from docfoundry.records import SPLITS


@dataclass
class InstructConfig:
    input: str = opt(help="dataset folder with truth (--from truth) or image-caption pairs (--from teacher)",
                     flag="--in")
    out: str = opt(help="output instruction folder (re-run to resume)", output=False)
    source: str = opt("truth", "where answers come from", flag="--from", choices=list(SOURCE_MODULES))
    tasks: list[str] = opt(["all"], "task families to make (all, or a comma list; see --help of the docs)",
                           output="truth")
    per_page: int = opt(8, "tasks per page, besides the caption", min=0, output="truth")
    weights: dict[str, float] = opt({}, "relative weight per family, e.g. qa=3,extract=1 (default 1 each)", min=0,
                                    output="truth")
    styles: list[str] = opt(["precise", "informative"], "answer styles drawn per task",
                            choices=["precise", "informative"], output="truth")
    caption_position: str = opt("random", "where the caption task goes", choices=["first", "last", "random", "none"])
    split: str | None = opt(None, "use only this split of the input", choices=list(SPLITS), output="truth")
    seed: int = opt(0, "seed; (seed, page id) defines the page's tasks")
    teacher: str = opt("", "--from teacher: the synthesizer (vllm:MODEL, openai:URL#MODEL, hf:MODEL)",
                       output="teacher")
    filter: str = opt("", "--from teacher: the consistency-filter teacher (default: the synthesizer)",
                      output="teacher")
    max_tokens: int = opt(512, "--from teacher: tokens per teacher answer", min=1, output="teacher")
    ocr_context: str = opt("none", "the page's OCR lines in the prompt of every conversation: none, text (in reading "
                                   "order) or layout (each line with its box in 0-1000 page space); rapidocr on the "
                                   "page image, stored in each row; `train` reads this setting from the folder",
                           choices=list(OCR_CONTEXTS), output=False)  # in the fingerprint when used (write)
    ocr_max_tokens: int = opt(DEFAULT_OCR_MAX_TOKENS, "cap of the OCR context in the student's tokens, applied by "
                                                      "`train` and `eval` alike (whole lines cut from the end; 0: "
                                                      "no cap)", min=0, output=False)
    ocr_cache: str = opt("", "OCR cache folder (default OUT/cache; share one between folders of the same pages)",
                         output=False)

    def validate(self) -> None:
        """Cross-field checks (``docfoundry.config.validate`` runs them after the ranges)."""
        if self.source == "truth":
            families(self.tasks)


def families(names: list[str]) -> list[str]:
    """Expand ``all`` and check names against the task registry (exit 2 listing the known ones)."""
    from distill.truth_tasks import families as check_families

    return check_families(names)


def run(cfg: InstructConfig) -> dict[str, Any]:
    """Make an instruction folder from truth or with a teacher."""
    from docfoundry.config import validate

    validate(cfg)  # ranges, choices and task families, also for a config built in Python
    return write(cfg, load_source(cfg.source, cfg))


@dataclass(kw_only=True)  # required fields may follow defaulted ones
class ExportConfig:
    folder: str = opt(help="instruction folder (from docfoundry instruct)", positional=True)
    format: str = opt("sharegpt", "output format", choices=["sharegpt", "messages", "bedrock"])
    out: str = opt(help="output JSONL file")
    image_prefix: str = opt("", "prefix for image paths/URIs (e.g. s3://bucket/instr/); default: absolute local paths")


def run_export(cfg: ExportConfig) -> dict[str, Any]:
    from distill.export import export

    n = export(Path(cfg.folder), cfg.format, Path(cfg.out), cfg.image_prefix)
    return {"out": cfg.out, "format": cfg.format, "rows": n}


COMMANDS = [
    Command("instruct", "make instruction conversations from synthetic truth or with a teacher",
            InstructConfig, run, usage=__doc__.split("\n\n")[1]),
    Command("instruct export", "export an instruction folder to ShareGPT, TRL messages or Bedrock JSONL",
            ExportConfig, run_export),
]
