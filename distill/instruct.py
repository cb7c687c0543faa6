"""Domain instruction sets: exact tasks from synthetic truth, mixed per image into one conversation.

    docfoundry instruct --in data/synth --out data/instr --from truth --per-page 8
    docfoundry instruct --in data/synth --out data/instr --from truth --tasks qa,count,arithmetic
    docfoundry instruct export data/instr --format sharegpt --out data/instr.sharegpt.jsonl

Each row of ``conversations.jsonl`` is one image with a multi-turn conversation: the tasks of that
page plus the caption task ("Describe the image.") placed first or last, as the single-stage
domain post-training recipe prescribes. ``summary.json`` counts tasks per family and phrasing.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt, to_dict
from docfoundry.errors import BadItem, UserError
from docfoundry.records import SPLITS

ROWS = "conversations.jsonl"


@dataclass
class InstructConfig:
    input: str = opt(help="dataset folder with truth (--from truth) or image-caption pairs (--from teacher)",
                     flag="--in")
    out: str = opt(help="output instruction folder (re-run to resume)")
    source: str = opt("truth", "where answers come from", flag="--from", choices=["truth", "teacher"])
    tasks: list[str] = opt(["all"], "task families to make (all, or a comma list; see --help of the docs)")
    per_page: int = opt(8, "tasks per page, besides the caption", min=0)
    weights: dict[str, float] = opt({}, "relative weight per family, e.g. qa=3,extract=1 (default 1 each)", min=0)
    styles: list[str] = opt(["precise", "informative"], "answer styles drawn per task",
                            choices=["precise", "informative"])
    caption_position: str = opt("random", "where the caption task goes", choices=["first", "last", "random", "none"])
    split: str | None = opt(None, "use only this split of the input", choices=list(SPLITS))
    seed: int = opt(0, "seed; (seed, page id) defines the page's tasks")
    teacher: str = opt("", "--from teacher: the synthesizer (vllm:MODEL, openai:URL#MODEL, hf:MODEL)")
    filter: str = opt("", "--from teacher: the consistency-filter teacher (default: the synthesizer)")
    max_tokens: int = opt(512, "--from teacher: tokens per teacher answer", min=1)

    def validate(self) -> None:
        """Cross-field checks (``docfoundry.config.validate`` runs them after the ranges)."""
        if self.source == "truth":
            families(self.tasks)


def families(names: list[str]) -> list[str]:
    """Expand ``all`` and check names against the registry (exit 2 listing the known ones)."""
    from distill.truth_tasks import FAMILIES

    if names == ["all"]:
        return list(FAMILIES)
    bad = [n for n in names if n not in FAMILIES]
    if bad:
        raise UserError(f"unknown task family '{bad[0]}' (known: {', '.join(FAMILIES)})")
    return names


def page_rng(seed: int, sample_id: str) -> random.Random:
    digest = hashlib.blake2b(f"{seed}:{sample_id}:instruct".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def conversation(page: Any, cfg: InstructConfig, chosen: list[str], rng: random.Random) -> list[Any]:
    """The page's task turns in order: weighted families, no repeated question, caption first/last."""
    from distill.truth_tasks import FAMILIES

    pool = [f for f in chosen if f != "caption"]
    weights = [cfg.weights.get(f, 1.0) for f in pool]
    turns, seen, tries = [], set(), 0
    while pool and len(turns) < cfg.per_page and tries < cfg.per_page * 5:
        tries += 1
        task = FAMILIES[rng.choices(pool, weights)[0]](page, rng, rng.choice(cfg.styles))
        if task is not None and task.question not in seen:
            seen.add(task.question)
            turns.append(task)
    if cfg.caption_position != "none":  # the recipe pairs every image with its caption task
        cap = FAMILIES["caption"](page, rng, rng.choice(cfg.styles))
        first = cfg.caption_position == "first" or (cfg.caption_position == "random" and rng.random() < 0.5)
        turns.insert(0 if first else len(turns), cap)
    return turns


def to_row(sample_id: str, image: str, turns: list[Any], source: str) -> dict[str, Any]:
    messages = []
    for t in turns:
        messages += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer}]
    return {
        "id": sample_id,
        "images": [image],
        "messages": messages,
        "source": source,
        "task": "+".join(dict.fromkeys(t.family for t in turns)),
        "turns": [{"family": t.family, "template": t.template, "style": t.style,
                   "params": json.dumps(t.params, ensure_ascii=False)} for t in turns],
    }


def link_image(src: Path, dst: Path) -> None:
    """Hard-link the page image into the instruction folder (copy across file systems)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def summarize(folder: Path, skipped: dict[str, int]) -> dict[str, Any]:
    """Counts per family and phrasing, distinct questions; written to ``summary.json``."""
    from docfoundry.store import iter_rows

    per_family: Counter[str] = Counter()
    per_template: Counter[str] = Counter()
    questions: set[str] = set()
    rows = 0
    for row in iter_rows(folder, ROWS):
        rows += 1
        for turn, msg in zip(row["turns"], row["messages"][::2]):
            per_family[turn["family"]] += 1
            per_template[f"{turn['family']}#{turn['template']}"] += 1
            questions.add(msg["content"])
    summary = {"conversations": rows, "tasks": sum(per_family.values()), "per_family": dict(per_family),
               "per_template": dict(sorted(per_template.items())), "distinct_questions": len(questions),
               "skipped": skipped}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def run_truth(cfg: InstructConfig) -> dict[str, Any]:
    """Tasks from the ground truth of a dataset folder (synthetic pages)."""
    from distill.truth_tasks import Page
    from docfoundry.doctypes import load_doc_type
    from docfoundry.images import image_size
    from docfoundry.paths import inside
    from docfoundry.progress import track
    from docfoundry.store import DatasetWriter, read_samples

    chosen = families(cfg.tasks)
    src = Path(cfg.input)
    samples = list(read_samples(src, cfg.split))
    if cfg.split and not samples:  # a split the folder does not have is a mistake, not 0 conversations
        present = sorted({s.split for s in read_samples(src)})
        raise UserError(f"--split {cfg.split}: no page of {src} is in that split "
                        f"({'its splits: ' + ', '.join(present) if present else 'it holds no pages'})")
    keep = ("input", "source", "tasks", "per_page", "weights", "styles", "caption_position", "split", "seed")
    writer = DatasetWriter(cfg.out, stage="instruct", fingerprint={k: v for k, v in to_dict(cfg).items() if k in keep},
                           config=to_dict(cfg), rows_file=ROWS)
    skipped: Counter[str] = Counter()
    for sample in track(samples, len(samples), "instruct", unit="pages"):
        if sample.id in writer.done:
            continue
        try:
            image = inside(src, sample.file_name, f"{src / 'metadata.jsonl'} row {sample.id}: file_name")
        except BadItem as e:
            print(f"warning: {e}; skipped", file=sys.stderr)
            skipped["image_outside_folder"] += 1
            continue
        if not image.is_file():
            skipped["missing_image"] += 1
            continue
        if not sample.gt_parse:
            skipped["no_truth"] += 1
            continue
        try:
            width, height = image_size(image, str(image), "page image")
        except BadItem as e:  # a broken or oversized page is skipped, the others go on
            print(f"warning: {e}; skipped", file=sys.stderr)
            skipped["unreadable_image"] += 1
            continue
        page = Page(sample, load_doc_type(sample.doc_type), width, height)
        turns = conversation(page, cfg, chosen, page_rng(cfg.seed, sample.id))
        if not turns:
            skipped["no_task"] += 1
            continue
        rel = f"images/{Path(sample.file_name).name}"
        link_image(image, writer.folder / rel)
        writer.append(to_row(sample.id, rel, turns, "truth"))
    summary = summarize(writer.folder, dict(skipped))
    writer.finish({"conversations": summary["conversations"], "tasks": summary["tasks"], **skipped})
    return {"out": cfg.out, **{k: summary[k] for k in ("conversations", "tasks", "distinct_questions")},
            "per_family": summary["per_family"], "skipped": dict(skipped)}


def run(cfg: InstructConfig) -> dict[str, Any]:
    """Make an instruction folder from truth or with a teacher."""
    from docfoundry.config import validate

    validate(cfg)  # ranges, choices and task families, also for a config built in Python
    if cfg.source == "truth":
        return run_truth(cfg)
    from distill.synthesize import run_teacher

    return run_teacher(cfg)


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
