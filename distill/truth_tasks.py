"""Instruction tasks whose answers come from synthetic truth, so they are right by construction.

Each family is a function ``(page, rng, style) -> Task | None`` registered in ``FAMILIES``; its
phrasings live in ``templates/instruct/truth.yaml``. Every task keeps the parameters it was made
from, so its answer can be recomputed from the ground truth alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from docfoundry.checks import evaluate_checks
from docfoundry.doctypes import DocType, Leaf, available, load_doc_type, templates_root
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

    def box_1000(self, box: list[int]) -> list[int]:
        """A pixel box in the 0-1000 page space used by grounding tasks."""
        x0, y0, x1, y1 = box
        return [round(x0 * 1000 / self.width), round(y0 * 1000 / self.height),
                round(x1 * 1000 / self.width), round(y1 * 1000 / self.height)]


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
    box = str(page.box_1000(f.box))
    label = field_name(page.leaf(f.path))
    if style == "informative":
        return _make("ground_text_to_box", rng, style, box, {"path": f.path}, label=label, value=f.text, box=box)
    return _make("ground_text_to_box", rng, style, box, {"path": f.path}, label=label)


def task_ground_box_to_text(page: Page, rng: random.Random, style: str) -> Task | None:
    f = _boxed_field(page, rng)
    if f is None:
        return None
    return _make("ground_box_to_text", rng, style, f.text, {"path": f.path},
                 box=str(page.box_1000(f.box)), label=field_name(page.leaf(f.path)))


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
