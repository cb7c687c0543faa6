"""Where the tests find the real documents: ``../shared/datasets`` beside the checkout (CI has it)."""

from pathlib import Path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SROIE = DATASETS / "sroie-dev"
FUNSD = DATASETS / "funsd"
