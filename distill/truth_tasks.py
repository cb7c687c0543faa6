"""Instruction tasks whose answers come from synthetic truth, so they are right by construction.

Each family is a function ``(page, rng, style) -> Task | None`` registered in ``FAMILIES``; its
phrasings live in ``templates/instruct/truth.yaml``. Every task keeps the parameters it was made
from, so its answer can be recomputed from the ground truth alone.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from distill.conversations import Conversation, page_rng
from docfoundry.checks import evaluate_checks
from docfoundry.doctypes import DocType, Leaf, available, load_doc_type, templates_root
from docfoundry.errors import BadItem, UserError
from docfoundry.records import Sample, flatten

LETTERS = "ABCD"


@dataclass
class Page:
    """One synthetic page as the task makers see it."""

    sample: Sample
    doc: DocType
    width: int
    height: int

    @property
    def values(self) -> dict[str, str]:
        return {k: v for k, v in flatten(self.sample.gt_parse).items() if isinstance(v, str) and v.strip()}

    def scalar_paths(self) -> list[str]:
        """Non-empty leaves outside lists (the page's key fields)."""
        return [p for p in self.values if not any(part.isdigit() for part in p.split("."))
                and self.leaf(p).kind != "check"]

    def leaf(self, path: str) -> Leaf:
        return self.doc.leaf(path)

    def lists(self) -> dict[str, int]:
        """List fields with their item counts (``line_items`` -> 3)."""
        out: dict[str, int] = {}
        for name, node in self.doc.schema.get("properties", {}).items():
            if node.get("type") == "array":
                out[name] = len(self.sample.gt_parse.get(name) or [])
        return out

    def box_text(self, fb: Any) -> str:
        """A field box as the grounding tasks write it: ``[x0, y0, x1, y1]`` in 0-1000 page space,
        after ``page N`` on a document of several pages (every page the same size)."""
        box = str(self.box_1000(fb.box))
        return f"page {fb.page + 1} {box}" if self.sample.page_count > 1 else box

    def box_1000(self, box: list[int]) -> list[int]:
        """A pixel box in the 0-1000 page space used by grounding tasks (and the layout OCR context)."""
        from docfoundry.chat import quantized

        return quantized(box, (self.width, self.height))


@dataclass
class Task:
    """One question/answer turn and what it was made from."""

    family: str
    template: int
    question: str
    answer: str
    style: str
    params: dict[str, Any] = field(default_factory=dict)


@cache
def phrasings() -> dict[str, dict[str, Any]]:
    import yaml

    return yaml.safe_load((templates_root() / "instruct" / "truth.yaml").read_text())


def field_name(leaf: Leaf) -> str:
    """How a question names a field: its description without formulas or notes, lower-cased
    unless it starts with a name ("Line total = quantity x unit price" -> "line total")."""
    d = leaf.description.rstrip(".")
    for cut in (" = ", " (", ", one line"):
        d = d.split(cut)[0]
    return d[0].lower() + d[1:] if d[:1].isupper() and d[1:2].islower() and not d.startswith("Box") else d


def list_name(doc: DocType, name: str) -> str:
    return doc.schema["properties"][name].get("description", name).split("(")[0].strip().lower()


def _make(family: str, rng: random.Random, style: str, answer: str, params: dict[str, Any], **fmt: Any) -> Task:
    spec = phrasings()[family]
    template = rng.randrange(len(spec["questions"]))
    question = spec["questions"][template].format(**fmt)
    if style == "informative" and "informative" in spec:
        answer = spec["informative"].format(**{**fmt, "value": answer})
    return Task(family, template, question, answer, style, params)


def task_qa(page: Page, rng: random.Random, style: str) -> Task | None:
    paths = page.scalar_paths()
    if not paths:
        return None
    path = rng.choice(paths)
    return _make("qa", rng, style, page.values[path], {"path": path},
                 label=field_name(page.leaf(path)), doc=page.doc.name)


def task_extract(page: Page, rng: random.Random, style: str) -> Task | None:
    from docfoundry.prompts import extraction_prompt

    answer = json.dumps(page.sample.gt_parse, ensure_ascii=False)
    return _make("extract", rng, "precise", answer, {}, prompt=extraction_prompt(page.doc))


def task_subset(page: Page, rng: random.Random, style: str) -> Task | None:
    paths = page.scalar_paths()
    if len(paths) < 2:
        return None
    chosen = sorted(rng.sample(paths, min(len(paths), rng.randint(2, 4))), key=paths.index)
    answer = json.dumps({p: page.values[p] for p in chosen}, ensure_ascii=False)
    return _make("subset", rng, "precise", answer, {"paths": chosen},
                 fields=", ".join(chosen), doc=page.doc.name)


def task_table(page: Page, rng: random.Random, style: str) -> Task | None:
    lists = [name for name, n in page.lists().items() if n > 0]
    if not lists:
        return None
    name = rng.choice(lists)
    row = rng.randrange(page.lists()[name])
    cells = {p.split(".", 2)[2]: v for p, v in page.values.items() if p.startswith(f"{name}.{row}.")}
    if len(cells) < 2:
        return None
    key_col = next(iter(cells))
    col = rng.choice([c for c in cells if c != key_col])
    path = f"{name}.{row}.{col}"
    return _make("table", rng, style, cells[col], {"path": path}, list=list_name(page.doc, name),
                 col=field_name(page.leaf(path)), row=row + 1, key=cells[key_col])


def task_count(page: Page, rng: random.Random, style: str) -> Task | None:
    lists = page.lists()
    if not lists:
        return None
    name = rng.choice(sorted(lists))
    n = lists[name]
    return _make("count", rng, style, str(n), {"list": name}, list=list_name(page.doc, name),
                 doc=page.doc.name, n=n)


def _explain(page: Page, check: Any) -> str:
    printed = flatten(page.sample.gt_parse)
    names = [printed.get(p, p) for p, _ in check.operands]
    symbol = {"add": " + ", "sum": " + ", "subtract": " - ", "product": " x ", "rate": " x ", "percent": " x "}[check.op]
    expr = symbol.join(names) + (" %" if check.op == "percent" else "")
    verdict = "so it is consistent" if check.holds else "so it does not match"
    return f"{expr} = {check.computed}, and the page states {printed[check.target]}, {verdict}."


def task_arithmetic(page: Page, rng: random.Random, style: str) -> Task | None:
    checks = evaluate_checks(page.doc, page.sample.gt_typed or {})
    if not checks:
        return None
    check = rng.choice(checks)
    reasoning = _explain(page, check)
    answer = ("Yes" if check.holds else "No") if style == "precise" else ("Yes. " if check.holds else "No. ") + reasoning
    return _make("arithmetic", rng, "precise", answer, {"check": check.name, "holds": check.holds},
                 check=check.name, doc=page.doc.name, reasoning=reasoning)


def _boxed_field(page: Page, rng: random.Random) -> Any:
    boxes = [f for f in page.sample.field_boxes if "\n" not in f.text]
    return rng.choice(boxes) if boxes else None


def task_ground_text_to_box(page: Page, rng: random.Random, style: str) -> Task | None:
    f = _boxed_field(page, rng)
    if f is None:
        return None
    box = page.box_text(f)
    label = field_name(page.leaf(f.path))
    if style == "informative":
        return _make("ground_text_to_box", rng, style, box, {"path": f.path}, label=label, value=f.text, box=box)
    return _make("ground_text_to_box", rng, style, box, {"path": f.path}, label=label)


def task_ground_box_to_text(page: Page, rng: random.Random, style: str) -> Task | None:
    f = _boxed_field(page, rng)
    if f is None:
        return None
    return _make("ground_box_to_text", rng, style, f.text, {"path": f.path},
                 box=page.box_text(f), label=field_name(page.leaf(f.path)))


def distractors(page: Page, path: str, rng: random.Random, k: int) -> list[str]:
    """Other printed values of the same kind on the page, else small edits of the true value."""
    true = page.values[path]
    kind = page.leaf(path).kind
    pool = sorted({v for p, v in page.values.items() if v != true and page.leaf(p).kind == kind})
    rng.shuffle(pool)
    out = pool[:k]
    digits = [i for i, ch in enumerate(true) if ch.isdigit()]
    while len(out) < k and digits:
        i = rng.choice(digits)
        fake = true[:i] + str((int(true[i]) + rng.randint(1, 9)) % 10) + true[i + 1:]
        if fake not in out and fake != true:
            out.append(fake)
        digits = digits if len(set(out)) < 20 else []
    while len(out) < k:
        out.append(f"{true} {len(out) + 1}")
    return out


def task_yesno(page: Page, rng: random.Random, style: str) -> Task | None:
    paths = page.scalar_paths()
    if not paths:
        return None
    path = rng.choice(paths)
    value = page.values[path]
    truth = rng.random() < 0.5
    claim = value if truth else distractors(page, path, rng, 1)[0]
    label = field_name(page.leaf(path))
    verdict = f"Yes, the {label} is {value}." if truth else f"No, the {label} is {value}, not {claim}."
    answer = ("Yes" if truth else "No") if style == "precise" else verdict
    return _make("yesno", rng, "precise", answer, {"path": path, "claim": claim, "truth": truth},
                 label=label, claim=claim, doc=page.doc.name, verdict=verdict)


def task_choice(page: Page, rng: random.Random, style: str) -> Task | None:
    paths = page.scalar_paths()
    if not paths:
        return None
    path = rng.choice(paths)
    options = [page.values[path], *distractors(page, path, rng, 3)]
    rng.shuffle(options)
    letter = LETTERS[options.index(page.values[path])]
    shown = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
    return _make("choice", rng, style, letter if style == "precise" else page.values[path],
                 {"path": path, "options": options, "letter": letter},
                 label=field_name(page.leaf(path)), options=shown, letter=letter)


def task_classify(page: Page, rng: random.Random, style: str) -> Task | None:
    names = available()
    shown = ", ".join(rng.sample(names, len(names)))
    value = page.doc.name if style == "precise" else load_doc_type(page.doc.name).schema.get("description", page.doc.name)
    return _make("classify", rng, "precise", value if style == "precise" else f"This is {value[0].lower()}{value[1:]}",
                 {"doc_type": page.doc.name}, options=shown)


def caption(page: Page, detailed: bool) -> str:
    """A description of the page made from its truth (the caption task's answer)."""
    doc, values = page.doc, page.values
    head = doc.schema.get("description", doc.name).rstrip(".")
    scalars = page.scalar_paths()
    texts = [values[p].replace("\n", ", ") for p in scalars if page.leaf(p).kind == "text"][:2]
    amounts = [(Decimal(str(flatten(page.sample.gt_typed or {}).get(p, 0) or 0)), p) for p in scalars
               if page.leaf(p).kind == "amount"]
    lists = ", ".join(f"{n} {list_name(doc, k)}" for k, n in page.lists().items() if n)
    short = head + (f" ({'; '.join(texts)})" if texts else "") + (f" with {lists}" if lists else "")
    if amounts:
        top = max(amounts)[1]
        short += f"; the {field_name(page.leaf(top))} is {values[top]}"
    if not detailed:
        return short + "."
    lines = [short + ".", "Fields:"]
    lines += [f"- {field_name(page.leaf(p))}: {values[p].replace(chr(10), ', ')}" for p in scalars]
    for name, n in page.lists().items():
        for i in range(n):
            row = [v for p, v in values.items() if p.startswith(f"{name}.{i}.")]
            lines.append(f"- {list_name(doc, name)} {i + 1}: {' | '.join(row)}")
    return "\n".join(lines)


def task_caption(page: Page, rng: random.Random, style: str) -> Task | None:
    spec = phrasings()["caption"]
    template = rng.randrange(len(spec["questions"]))
    detailed = template == 2 or style == "informative"
    return Task("caption", template, spec["questions"][template], caption(page, detailed), style,
                {"detailed": detailed})


FAMILIES: dict[str, Callable[[Page, random.Random, str], Task | None]] = {
    "qa": task_qa, "extract": task_extract, "subset": task_subset, "table": task_table,
    "count": task_count, "arithmetic": task_arithmetic, "ground_text_to_box": task_ground_text_to_box,
    "ground_box_to_text": task_ground_box_to_text, "yesno": task_yesno, "choice": task_choice,
    "classify": task_classify, "caption": task_caption,
}


def families(names: list[str]) -> list[str]:
    """Expand ``all`` and check names against the registry (exit 2 listing the known ones)."""
    if names == ["all"]:
        return list(FAMILIES)
    bad = [n for n in names if n not in FAMILIES]
    if bad:
        raise UserError(f"unknown task family '{bad[0]}' (known: {', '.join(FAMILIES)})")
    return names


def conversation(page: Page, cfg: Any, chosen: list[str], rng: random.Random) -> tuple[list[Task], Task | None]:
    """The page's tasks (weighted families, no repeated question) and its caption task (None: no caption)."""
    pool = [f for f in chosen if f != "caption"]
    weights = [cfg.weights.get(f, 1.0) for f in pool]
    turns: list[Task] = []
    seen: set[str] = set()
    tries = 0
    while pool and len(turns) < cfg.per_page and tries < cfg.per_page * 5:
        tries += 1
        task = FAMILIES[rng.choices(pool, weights)[0]](page, rng, rng.choice(cfg.styles))
        if task is not None and task.question not in seen:
            seen.add(task.question)
            turns.append(task)
    # the recipe pairs every image with its caption task
    cap = FAMILIES["caption"](page, rng, rng.choice(cfg.styles)) if cfg.caption_position != "none" else None
    return turns, cap


class TruthSource:
    """``instruct --from truth``: exact tasks from the ground truth of a dataset folder (synthetic pages)."""

    name = "truth"  # the config fields marked output="truth" define this source's output

    def __init__(self, cfg: Any) -> None:
        from docfoundry.store import read_samples

        self.cfg = cfg
        self.chosen = families(cfg.tasks)
        self.src = Path(cfg.input)
        self.samples = list(read_samples(self.src, cfg.split))
        if cfg.split and not self.samples:  # a split the folder does not have is a mistake, not 0 conversations
            present = sorted({s.split for s in read_samples(self.src)})
            raise UserError(f"--split {cfg.split}: no page of {self.src} is in that split "
                            f"({'its splits: ' + ', '.join(present) if present else 'it holds no pages'})")
        self.counts: Counter[str] = Counter()

    def pages(self, done: set[str], folder: Path) -> Iterator[Conversation]:
        from docfoundry.images import image_size
        from docfoundry.paths import inside
        from docfoundry.progress import track

        src, skipped = self.src, self.counts
        for sample in track(self.samples, len(self.samples), "instruct", unit="pages"):
            if sample.id in done:
                continue
            try:  # every page of a document of several pages
                images = [inside(src, name, f"{src / 'metadata.jsonl'} row {sample.id}: file_name")
                          for name in sample.page_files]
            except BadItem as e:
                print(f"warning: {e}; skipped", file=sys.stderr)
                skipped["image_outside_folder"] += 1
                continue
            image = images[0]
            if not all(p.is_file() for p in images):
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
            rng = page_rng(self.cfg.seed, sample.id)
            tasks, cap = conversation(page, self.cfg, self.chosen, rng)
            if not tasks and cap is None:
                skipped["no_task"] += 1
                continue
            yield Conversation(sample.id, image, Path(sample.file_name).name, tasks, cap, rng,
                               [(p, Path(name).name) for p, name in zip(images[1:], sample.page_files[1:])])

    def finish_counts(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {"conversations": summary["conversations"], "tasks": summary["tasks"], **self.counts}

    def result(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {"out": self.cfg.out, **{k: summary[k] for k in ("conversations", "tasks", "distinct_questions")},
                "per_family": summary["per_family"], "skipped": dict(self.counts)}

    def close(self) -> None:
        pass


SOURCE = TruthSource
