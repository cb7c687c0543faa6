"""Small truth folders in every layout the eval adapters read, built in a temporary folder."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docfoundry.records import Sample
from docfoundry.store import DatasetWriter

RECEIPTS = {
    "r1": {"store_name": "Corner Market", "date": "03/12/2024", "total": "12.50", "tax": "0.50",
           "items": [{"description": "Tea", "amount": "4.00"}, {"description": "Cake", "amount": "8.00"}]},
    "r2": {"store_name": "Fresh Bakery", "date": "2024-01-05", "total": "7.00", "tax": "",
           "items": [{"description": "Bread", "amount": "7.00"}]},
    "r3": {"store_name": "Deli", "date": "05.02.2024", "total": "1,020.00", "tax": "20.00",
           "items": [{"description": "Catering", "amount": "1,000.00"}]},
}


def png_bytes(color: str = "white", size: tuple[int, int] = (120, 160)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).rectangle([10, 10, 60, 30], fill="black")
    return _png(image)


def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def dataset_folder(root: Path, docs: dict[str, dict[str, Any]] = RECEIPTS, doc_type: str = "receipt",
                   split: str = "test", page: Callable[[dict[str, Any]], bytes] = lambda fields: png_bytes(),
                   fixture: int = 1) -> Path:
    """A docfoundry dataset folder (metadata.jsonl + images/) holding ``docs``; ``page`` draws a doc's image."""
    writer = DatasetWriter(root, stage="test", fingerprint={"fixture": fixture}, config={})
    for doc_id, fields in docs.items():
        writer.add(Sample(doc_id, doc_type, split, fields), page(fields), ext="png")
    writer.finish({"pages": len(docs)})
    return root


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def labels_folder(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    rows = []
    for i, split in enumerate(["train", "test", "test"]):
        (root / "images" / f"f{i}.png").write_bytes(png_bytes())
        rows.append({"id": f"f{i}", "image": f"images/f{i}.png", "split": split,
                     "fields": {"DATE:": f"1{i}/10/98", "TO:": "George"}})
    write_jsonl(root / "labels.jsonl", rows)
    return root


def sroie_folder(root: Path) -> Path:
    """SROIE task 3 layout: train/ and test/ with img/ and entities/ (one broken entity file)."""
    for split, ids in (("train", ["X001", "X002"]), ("test", ["X101", "X102"])):
        (root / split / "img").mkdir(parents=True)
        (root / split / "entities").mkdir(parents=True)
        for i, rid in enumerate(ids):
            (root / split / "img" / f"{rid}.jpg").write_bytes(png_bytes())
            (root / split / "entities" / f"{rid}.txt").write_text(json.dumps(
                {"company": f"SHOP {rid} SDN BHD", "date": "25/12/2018", "address": "1 JALAN",
                 "total": f"{10 + i}.00"}, indent=4))
    (root / "test" / "entities" / "X199.txt").write_text("{not json")
    return root


def funsd_form() -> list[dict[str, Any]]:
    return [
        {"id": 0, "text": "DATE:", "label": "question", "box": [10, 10, 50, 20], "linking": [[0, 1]], "words": []},
        {"id": 1, "text": "12/10/98", "label": "answer", "box": [60, 10, 120, 20], "linking": [[0, 1]], "words": []},
        {"id": 2, "text": "TO:", "label": "question", "box": [10, 40, 40, 50], "linking": [[2, 4], [2, 3]],
         "words": []},
        {"id": 3, "text": "Baroody", "label": "answer", "box": [110, 40, 170, 50], "linking": [[2, 3]], "words": []},
        {"id": 4, "text": "George", "label": "answer", "box": [50, 40, 100, 50], "linking": [[2, 4]], "words": []},
        {"id": 5, "text": "FAX COVER", "label": "header", "box": [10, 0, 90, 8], "linking": [], "words": []},
        {"id": 6, "text": "NOTE:", "label": "question", "box": [10, 70, 40, 80], "linking": [], "words": []},
    ]


def funsd_folder(root: Path) -> Path:
    """FUNSD native layout: training_data/ and testing_data/ with annotations/ and images/."""
    for split, stem in (("training_data", "0001"), ("testing_data", "0002")):
        (root / split / "annotations").mkdir(parents=True)
        (root / split / "images").mkdir(parents=True)
        (root / split / "annotations" / f"{stem}.json").write_text(json.dumps({"form": funsd_form()}))
        (root / split / "images" / f"{stem}.png").write_bytes(png_bytes())
    return root


CORD_GT = [{"gt_parse": {"menu": [{"nm": "Latte", "cnt": "1", "price": "45,000"}],
                         "total": {"total_price": "45,000"}}, "meta": {"image_id": 0}},
           {"gt_parse": {"menu": {"nm": "Tea", "cnt": "2", "price": "20,000"},
                         "sub_total": {"subtotal_price": "20,000"}}, "meta": {"image_id": 1}}]


def cord_dataset(splits: dict[str, list[dict[str, Any]]] | None = None):
    import datasets

    splits = splits or {"train": CORD_GT, "test": CORD_GT[:1]}
    features = datasets.Features({"image": datasets.Image(), "ground_truth": datasets.Value("string")})
    return datasets.DatasetDict({
        name: datasets.Dataset.from_dict(
            {"image": [{"bytes": png_bytes(), "path": None} for _ in gts],
             "ground_truth": [json.dumps(g) for g in gts]}, features=features)
        for name, gts in splits.items()})


def cord_saved(root: Path) -> Path:
    cord_dataset().save_to_disk(str(root))
    return root


def cord_parquet(root: Path) -> Path:
    """The hub snapshot layout: data/<split>-00000-of-00001.parquet."""
    (root / "data").mkdir(parents=True)
    for name, ds in cord_dataset().items():
        ds.to_parquet(str(root / "data" / f"{name}-00000-of-00001.parquet"))
    return root


def text_png(lines: list[str], size: tuple[int, int] = (360, 200)) -> bytes:
    """A page that OCR reads: ``lines`` printed in a large font, one per row (rapidocr finds them)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=22)
    for i, text in enumerate(lines):
        draw.text((16, 12 + i * 44), text, fill="black", font=font)
    return _png(image)


def text_folder(root: Path, docs: dict[str, dict[str, Any]] = RECEIPTS, doc_type: str = "receipt",
                split: str = "test") -> Path:
    """``dataset_folder`` whose pages print their fields (store, items, total), so OCR reads lines."""
    def printed(fields: dict[str, Any]) -> bytes:
        return text_png([fields["store_name"], *(f"{i['description']} {i['amount']}" for i in fields["items"]),
                         f"TOTAL {fields['total']}"])

    return dataset_folder(root, docs, doc_type, split, page=printed, fixture=2)
