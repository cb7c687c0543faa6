"""A short training run makes a random-init student write JSON it did not write before (issue 17.5):
scored by `docfoundry eval --model` on pages it was not trained on, from the model's real answers.

The pages and their truth are small (two keys, so the answer is a few tokens) to keep the test within
a minute on CPU; ``bench/student.py`` measures the same learning on full synthetic documents.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

KEYS = ("total", "date")


def pages(root: Path, n: int, seed: int) -> list[dict]:
    """``labels.jsonl`` truth (``{"id", "image", "split", "fields"}``) of small printed pages."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        fields = {"total": f"{rng.randrange(1, 99)}.{rng.randrange(100):02d}",
                  "date": f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/20{rng.randrange(10, 30)}"}
        image = Image.new("RGB", (64, 64), "white")
        ImageDraw.Draw(image).text((2, 20), f"{fields['total']}\n{fields['date']}", fill="black")
        name = f"img/p{seed}_{i}.png"
        image.save(root / name)
        rows.append({"id": f"p{seed}_{i}", "image": name, "split": "test", "fields": fields})
    (root / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def conversations(root: Path, rows: list[dict]) -> Path:
    """Training conversations asking exactly what eval asks (its prompt for this truth), answered
    with the truth as JSON."""
    from docfoundry.adapters import TruthRecord
    from eval.predict import prompt_for

    lines = []
    for r in rows:
        prompt = prompt_for(TruthRecord(r["id"], str(root / r["image"]), "test", "", r["fields"]))
        lines.append({"id": r["id"], "images": [r["image"]],
                      "messages": [{"role": "user", "content": prompt},
                                   {"role": "assistant", "content": json.dumps(r["fields"])}]})
    (root / "conversations.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return root


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A micro Idefics3 with the larger init `docfoundry run` gives its tiny student."""
    from docfoundry.tiny import build_tiny, save_tiny

    model, processor = build_tiny("idefics3", "micro", seed=0, init_range=0.15)
    return save_tiny(model, processor, tmp_path_factory.mktemp("student") / "idefics3")


def parse_rate(model: Path, truth: Path, out: Path) -> float:
    from eval.run import EvalConfig, run

    return run(EvalConfig(truth=str(truth), model=str(model), out=str(out), max_new_tokens=40, bootstrap=0,
                          worst=0))["parse_rate"]


def test_a_short_run_raises_the_parse_rate_on_unseen_pages(student, tmp_path):
    from finetune.train import TrainConfig, run

    data = conversations(tmp_path / "train", pages(tmp_path / "train", 12, seed=1))
    unseen = tmp_path / "unseen"
    pages(unseen, 6, seed=2)
    before = parse_rate(student, unseen, tmp_path / "before")

    run(TrainConfig(data=[str(data)], student=str(student), out=str(tmp_path / "run"), method="full", lr=3e-3,
                    max_steps=40, batch=4, grad_accum=1, warmup=0, val_share=0.0, dtype="float32",
                    gradient_checkpointing=False, seed=0))
    after = parse_rate(tmp_path / "run", unseen, tmp_path / "after")
    assert before == 0.0
    assert after >= 80.0, f"parse rate {before} -> {after}"
