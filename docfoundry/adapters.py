"""Truth adapters: any supported layout -> ``TruthRecord(id, image, split, doc_type, fields)``.

An adapter is a name, a check that a folder has its layout, and a loader; ``load_truth`` tries
them in registry order (``--truth-format auto``) or uses the one named. Layouts:

  dataset  docfoundry dataset folder: ``metadata.jsonl`` + ``images/`` (``ground_truth.gt_parse``)
  labels   ``labels.jsonl`` rows ``{"id", "image", "split", "fields", ["doc_type"]}``
  cord     CORD as a ``datasets`` folder (``save_to_disk``, or the hub's ``data/*.parquet``)
           with ``image`` and ``ground_truth`` JSON strings (``{"gt_parse": ...}``)
  sroie    SROIE task 3: ``img/X.jpg`` + ``entities/X.txt`` (or ``key/``) holding
           ``{"company", "date", "address", "total"}``, optionally under ``train/`` and ``test/``
  funsd    FUNSD: ``annotations/X.json`` + ``images/X.png``, optionally under
           ``training_data/`` and ``testing_data/``; fields are linked question -> answer texts
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docfoundry.errors import BadItem, UserError
from docfoundry.images import IMAGE_SUFFIXES

# Folder names that say which split a native layout's files belong to.
SPLIT_NAMES = {"train": "train", "training_data": "train", "training": "train",
               "test": "test", "testing_data": "test", "testing": "test",
               "val": "validation", "valid": "validation", "validation": "validation", "dev": "validation"}

# (category, kind) of a field pattern, for truth that has no document-type schema.
FieldHint = Callable[[str], "tuple[str, str] | None"]


@dataclass
class TruthRecord:
    """One document of truth (a page, or several). ``image`` is a file path (the first page's), or
    empty when ``image_bytes`` reads it from a dataset file (CORD); ``pages`` lists every page's
    path when the document has several. ``image_problem`` says why the page's image may not be read
    (its path leads out of the truth folder); its truth is still scored against predictions."""

    id: str
    image: str
    split: str
    doc_type: str
    fields: dict[str, Any]
    image_bytes: Callable[[], bytes] | None = None
    image_problem: str = ""
    pages: list[str] = field(default_factory=list)  # every page's image of a multi-page document

    def read_pages_bytes(self) -> list[bytes]:
        """Every page's encoded image, in order (one for a one-page document); see ``read_image_bytes``."""
        if len(self.pages) < 2:
            return [self.read_image_bytes()]
        if self.image_problem:
            raise BadItem(self.image_problem)
        try:
            return [Path(p).read_bytes() for p in self.pages]
        except OSError as e:
            raise BadItem(f"{self.image or self.id}: cannot read a page image ({e.strerror or e})") from None

    def open_images(self) -> list[Any]:
        """Every page as an RGB ``PIL.Image``, in order (see ``open_image``)."""
        from docfoundry.images import open_image

        if len(self.pages) < 2:
            return [self.open_image()]
        return [open_image(data, path, "page image") for data, path in zip(self.read_pages_bytes(), self.pages)]

    def read_image_bytes(self) -> bytes:
        """The page's encoded image; a missing or refused image is a ``BadItem``."""
        if self.image_problem:
            raise BadItem(self.image_problem)
        try:
            return self.image_bytes() if self.image_bytes else Path(self.image).read_bytes()
        except OSError as e:
            raise BadItem(f"{self.image or self.id}: cannot read the page image ({e.strerror or e})") from None

    def open_image(self) -> Any:
        """The page as an RGB ``PIL.Image``; a missing, broken or oversized image is a ``BadItem``
        (a ``UserError``)."""
        from docfoundry.images import open_image

        return open_image(self.read_image_bytes(), self.image or f"{self.id} (embedded image)", "page image")


def _image_at(folder: Path, rel: str | Path, what: str) -> tuple[str, str]:
    """(path, problem) of an image a truth file names relative to ``folder``; a path leading out of
    the folder is kept as a problem of that page, not read."""
    from docfoundry.paths import inside

    try:
        return str(inside(folder, rel, what)), ""
    except BadItem as e:
        return "", str(e)


@dataclass
class TruthSet:
    """What an adapter read: records, per-type field hints, and per-item problems (skipped)."""

    source: str
    adapter: str
    records: list[TruthRecord]
    hints: dict[str, FieldHint] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    all_ids: set[str] = field(default_factory=set)  # before --split / --limit: other ids are unknown


@dataclass(frozen=True)
class Adapter:
    """A truth layout: ``detect(folder)`` says whether it is this one, ``load(folder)`` reads it."""

    name: str
    expects: str
    detect: Callable[[Path], bool]
    load: Callable[[Path], TruthSet]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({getattr(e, 'msg', e)})") from None


def _split_of(folder: Path) -> str:
    """A native folder's split from its name; a folder not named after one is treated as test."""
    return SPLIT_NAMES.get(folder.name.lower(), "test")


# dataset: docfoundry's own folder.

def _detect_dataset(folder: Path) -> bool:
    return (folder / "metadata.jsonl").is_file()


def _load_dataset(folder: Path) -> TruthSet:
    from docfoundry.store import read_samples

    records = []
    for s in read_samples(folder):
        where = f"{folder / 'metadata.jsonl'} row {s.id}: file_name"
        image, problem = _image_at(folder, s.file_name, where)
        pages = [_image_at(folder, name, where) for name in s.pages]
        problem = problem or next((why for _, why in pages if why), "")  # any page leading out refuses the document
        records.append(TruthRecord(s.id, image, s.split, s.doc_type, s.gt_parse, image_problem=problem,
                                   pages=[path for path, _ in pages]))
    return TruthSet(str(folder), "dataset", records)


# labels: one JSON row per page.

def _detect_labels(folder: Path) -> bool:
    return (folder / "labels.jsonl").is_file()


def _load_labels(folder: Path) -> TruthSet:
    path = folder / "labels.jsonl"
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("fields"), dict):
            raise UserError(f"{where}: a labels row needs 'id' and a 'fields' object")
        image, problem = _image_at(folder, str(row["image"]), f"{where}: image") if row.get("image") else ("", "")
        records.append(TruthRecord(str(row["id"]), image, row.get("split") or "test",
                                   row.get("doc_type") or folder.name, row["fields"], image_problem=problem))
    return TruthSet(str(folder), "labels", records)


# cord: a Hugging Face datasets folder with ground_truth JSON strings.

def _parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) + sorted(folder.glob("data/*.parquet"))


def _detect_cord(folder: Path) -> bool:
    return ((folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()
            or bool(_parquet_files(folder)))


def _cord_gt(text: Any, where: str) -> dict[str, Any]:
    gt = json.loads(text) if isinstance(text, str) else text
    if not isinstance(gt, dict) or not isinstance(gt.get("gt_parse"), dict):
        raise ValueError(f"{where}: ground_truth has no 'gt_parse' object")
    return gt["gt_parse"]


def _load_cord(folder: Path) -> TruthSet:
    splits = _cord_splits(folder)
    records, problems = [], []
    for split, (ground_truths, image_at) in splits.items():
        for index, text in enumerate(ground_truths):
            rid = f"{split}_{index:04d}"
            try:
                fields = _cord_gt(text, f"{folder} [{split}][{index}]")
            except (ValueError, TypeError) as e:
                problems.append(str(e))
                continue
            records.append(TruthRecord(rid, "", split, "cord", fields,
                                       image_bytes=lambda f=image_at, i=index: f(i)))
    return TruthSet(str(folder), "cord", records, hints={"cord": _cord_hint}, problems=problems)


def _cord_splits(folder: Path) -> dict[str, tuple[list[Any], Callable[[int], bytes]]]:
    """split -> (ground_truth strings, image reader by row); images are read only when needed."""
    files = _parquet_files(folder)
    if files and not (folder / "dataset_dict.json").is_file() and not (folder / "state.json").is_file():
        return _cord_parquet_splits(files)
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except (FileNotFoundError, ValueError) as e:
        raise UserError(f"{folder}: not a readable datasets folder ({e})") from None
    parts = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {str(loaded.split or "test"): loaded}
    out = {}
    for split, ds in parts.items():
        if "ground_truth" not in ds.column_names:
            raise UserError(f"{folder}: split '{split}' has no 'ground_truth' column "
                            f"(columns: {', '.join(ds.column_names)})")
        if "image" in ds.column_names:
            ds = ds.cast_column("image", datasets.Image(decode=False))
        out[SPLIT_NAMES.get(split, split)] = (ds["ground_truth"], lambda i, d=ds: _image_cell(d[i]["image"]))
    return out


def _image_cell(cell: Any) -> bytes:
    if isinstance(cell, dict) and cell.get("bytes"):
        return cell["bytes"]
    if isinstance(cell, dict) and cell.get("path"):
        return Path(cell["path"]).read_bytes()
    raise OSError("no image in this row")


def _cord_parquet_splits(files: list[Path]) -> dict[str, tuple[list[Any], Callable[[int], bytes]]]:
    import pyarrow.parquet as pq

    by_split: dict[str, list[Path]] = {}
    for f in files:  # hub shards are named <split>-00000-of-00004.parquet
        by_split.setdefault(SPLIT_NAMES.get(f.name.split("-")[0], f.name.split("-")[0]), []).append(f)
    out = {}
    for split, shard_files in by_split.items():
        gts: list[Any] = []
        shards: list[tuple[int, Path]] = []
        for f in shard_files:
            try:
                column = pq.read_table(f, columns=["ground_truth"]).column("ground_truth").to_pylist()
            except (KeyError, OSError) as e:
                raise UserError(f"{f}: not a CORD parquet file with a 'ground_truth' column ({e})") from None
            shards.append((len(gts), f))
            gts += column
        out[split] = (gts, _ParquetImages(shards).read)
    return out


class _ParquetImages:
    """Reads one image cell by global row index, loading a shard's image column on first use."""

    def __init__(self, shards: list[tuple[int, Path]]) -> None:
        self.shards = shards
        self.columns: dict[Path, list[Any]] = {}

    def read(self, index: int) -> bytes:
        import pyarrow.parquet as pq

        start, f = max((s for s in self.shards if s[0] <= index), key=lambda s: s[0])
        if f not in self.columns:
            self.columns[f] = pq.read_table(f, columns=["image"]).column("image").to_pylist()
        return _image_cell(self.columns[f][index - start])


def _cord_hint(pattern: str) -> tuple[str, str] | None:
    """CORD keys: category is the top-level group (menu, sub_total, total); prices are amounts."""
    top = pattern.split(".")[0].removesuffix("[]")
    leaf = pattern.rsplit(".", 1)[-1]
    kind = "amount" if leaf.endswith("price") else "number" if leaf.endswith("cnt") else "text"
    return top, kind


# Native layouts of one truth file per page next to an image folder (SROIE, FUNSD): one pairing base.

@dataclass(frozen=True)
class PairedLayout:
    """Per split folder (the folder itself or its subfolders), truth files in ``truth_dirs`` (the first
    that exists) paired by file stem with an image in ``image_dir``. ``parse`` reads one truth file
    (``ValueError`` naming it when it is not this layout's), ``fields`` turns it into the page's fields."""

    name: str                                  # adapter name and the records' doc_type
    truth_dirs: tuple[str, ...]
    truth_glob: str
    image_dir: str
    parse: Callable[[Path], Any]
    fields: Callable[[Any], dict[str, str]]
    hints: dict[str, FieldHint] = field(default_factory=dict)

    def parts(self, folder: Path) -> list[tuple[Path, Path, str]]:
        """(truth folder, image folder, split) for the folder itself and its split subfolders."""
        out = []
        for base in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
            truth = next((base / n for n in self.truth_dirs if (base / n).is_dir()), None)
            if truth is not None and (base / self.image_dir).is_dir():
                out.append((truth, base / self.image_dir, _split_of(base)))
        return out

    def detect(self, folder: Path) -> bool:
        return any(any(t.glob(self.truth_glob)) for t, _, _ in self.parts(folder))

    def load(self, folder: Path) -> TruthSet:
        records, problems = [], []
        for truth_dir, images, split in self.parts(folder):
            for truth in sorted(truth_dir.glob(self.truth_glob)):
                image = next((images / f"{truth.stem}{s}" for s in IMAGE_SUFFIXES
                              if (images / f"{truth.stem}{s}").is_file()), None)
                try:
                    data = self.parse(truth)
                    if image is None:
                        raise ValueError(f"{truth}: no image named {truth.stem}.* in {images}")
                    fields = self.fields(data)
                except (ValueError, KeyError, TypeError) as e:
                    problems.append(str(e) if isinstance(e, ValueError) else f"{truth}: malformed entity ({e!r})")
                    continue
                path, problem = _image_at(folder, image.relative_to(folder), "image")  # a symlink may lead out
                records.append(TruthRecord(truth.stem, path, split, self.name, fields, image_problem=problem))
        return TruthSet(str(folder), self.name, records, hints=dict(self.hints), problems=problems)


# sroie: img/ + entities/ (or key/) folders of one JSON .txt per receipt.

SROIE_FIELDS = {"company": ("vendor", "text"), "address": ("vendor", "text"),
                "date": ("document", "date"), "total": ("totals", "amount")}


def _sroie_entities(path: Path) -> dict[str, Any]:
    entities = _read_json(path)
    if not isinstance(entities, dict):
        raise ValueError(f"{path}: expected a JSON object of entities")
    return entities


SROIE = PairedLayout("sroie", ("entities", "key"), "*.txt", "img", _sroie_entities,
                     lambda entities: {k: str(v) for k, v in entities.items()}, {"sroie": SROIE_FIELDS.get})


# funsd: annotations/ (entities with question -> answer links) + images/.

def funsd_fields(form: list[dict[str, Any]]) -> dict[str, str]:
    """Question text -> its linked answers' text, answers in reading order (top, then left),
    joined by a space; a question text printed twice gathers the answers of both."""
    by_id = {e["id"]: e for e in form}
    answers: dict[str, list[tuple[int, int, str]]] = {}
    for q in (e for e in form if e.get("label") == "question"):
        for a, b in q.get("linking") or []:
            other = by_id.get(b if a == q["id"] else a)
            if other is not None and other.get("label") == "answer" and other.get("text", "").strip():
                x0, y0 = other.get("box", [0, 0])[:2]
                answers.setdefault(q["text"].strip(), []).append((y0, x0, other["text"].strip()))
    return {q: " ".join(t for _, _, t in sorted(parts)) for q, parts in answers.items()}


def _funsd_form(path: Path) -> list[dict[str, Any]]:
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("form"), list):
        raise ValueError(f"{path}: not a FUNSD annotation (no 'form' list)")
    return data["form"]


FUNSD = PairedLayout("funsd", ("annotations",), "*.json", "images", _funsd_form, funsd_fields)


ADAPTERS: dict[str, Adapter] = {a.name: a for a in [
    Adapter("dataset", "metadata.jsonl (a docfoundry dataset folder)", _detect_dataset, _load_dataset),
    Adapter("labels", "labels.jsonl rows {id, image, split, fields}", _detect_labels, _load_labels),
    Adapter("cord", "a datasets folder (dataset_dict.json / state.json, or data/*.parquet) "
            "with a ground_truth column", _detect_cord, _load_cord),
    Adapter("sroie", "img/ and entities/ (or key/) with one JSON .txt per receipt, "
            "optionally under train/ and test/", SROIE.detect, SROIE.load),
    Adapter("funsd", "annotations/*.json and images/, optionally under training_data/ and "
            "testing_data/", FUNSD.detect, FUNSD.load),
]}


def load_truth(source: str | Path, fmt: str = "auto", split: str | None = None,
               doc_type: str | None = None, limit: int = 0) -> TruthSet:
    """Read truth from ``source`` with adapter ``fmt`` (``auto`` picks the first that fits).

    ``split`` keeps one split, ``doc_type`` overrides every record's type (``--schema``), ``limit``
    keeps the first N records (0 = all). Errors name the folder and what was expected there.
    """
    folder = Path(source)
    if folder.is_file() and folder.name in ("labels.jsonl", "metadata.jsonl"):
        fmt, folder = ("labels" if folder.name == "labels.jsonl" else "dataset"), folder.parent
    if not folder.is_dir():
        raise UserError(f"{folder}: truth folder not found")
    if fmt == "auto":
        adapter = next((a for a in ADAPTERS.values() if a.detect(folder)), None)
        if adapter is None:
            looked = "; ".join(f"{a.name}: {a.expects}" for a in ADAPTERS.values())
            raise UserError(f"{folder}: no known truth layout here (looked for {looked})")
    elif fmt not in ADAPTERS:
        raise UserError(f"unknown truth format '{fmt}' (known: auto, {', '.join(ADAPTERS)})")
    else:
        adapter = ADAPTERS[fmt]
        if not adapter.detect(folder):
            raise UserError(f"{folder}: not a {adapter.name} folder (expected {adapter.expects})")
    truth = adapter.load(folder)
    truth.all_ids = {r.id for r in truth.records}
    if split:
        present = sorted({r.split for r in truth.records})
        truth.records = [r for r in truth.records if r.split == split]
        if not truth.records:
            raise UserError(f"{folder}: no truth records in split '{split}' "
                            f"(splits present: {', '.join(present) or 'none'})")
    if not truth.records:
        raise UserError(f"{folder}: the {adapter.name} layout is there but holds no records"
                        + (f" ({len(truth.problems)} unreadable, first: {truth.problems[0]})"
                           if truth.problems else ""))
    if doc_type:
        for r in truth.records:
            r.doc_type = doc_type
    if limit:
        truth.records = truth.records[:limit]
    _check_unique_ids(truth)
    return truth


def _check_unique_ids(truth: TruthSet) -> None:
    seen: set[str] = set()
    for r in truth.records:
        if r.id in seen:
            raise UserError(f"{truth.source}: id '{r.id}' appears twice in the truth "
                            "(pick one split with --split, or fix the ids)")
        seen.add(r.id)


def split_counts(truth: TruthSet) -> dict[str, int]:
    """Records per split, for summaries."""
    counts: dict[str, int] = {}
    for r in truth.records:
        counts[r.split] = counts.get(r.split, 0) + 1
    return dict(sorted(counts.items()))
