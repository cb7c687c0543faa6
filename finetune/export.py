"""What a run leaves behind: the processor next to the adapter, and the merged model.

    docfoundry train merge runs/smol --out models/smol-merged
    model, processor = load_model("models/smol-merged")

Merging always loads the base in bf16, never in 4 bits: folding LoRA deltas into quantized weights
loses them (a QLoRA run is merged into the unquantized base it was trained from).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError


def run_config(run_dir: Path) -> dict[str, Any]:
    """The training config saved in a run folder."""
    path = run_dir / "train_config.json"
    if not path.is_file():
        raise UserError(f"{run_dir}: not a training run (no train_config.json); run `docfoundry train` first")
    return json.loads(path.read_text())


def merge(run_dir: Path, out: Path) -> dict[str, Any]:
    """Fold the run's adapter into a bf16 copy of its base and save model + processor to ``out``."""
    import torch

    from docfoundry.families import family_of
    from docfoundry.loading import load_model, save_processor

    cfg = run_config(run_dir)
    if not (run_dir / "adapter_config.json").is_file():
        raise UserError(f"{run_dir}: no adapter here (a full fine-tune is already a whole model: load the folder)")
    model, processor = load_model(cfg["student"], dtype=torch.bfloat16, adapter=str(run_dir))
    merged = model.merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    save_processor(processor, family_of(merged), out)
    # the merged model keeps the run's settings, so eval asks it with the OCR context it was trained on
    (out / "train_config.json").write_text((run_dir / "train_config.json").read_text())
    (out / "merged_from.json").write_text(json.dumps({"run": str(run_dir.resolve()), "base": cfg["student"],
                                                      "method": cfg["method"], "dtype": "bfloat16"}, indent=2) + "\n")
    return {"out": str(out), "base": cfg["student"], "adapter": str(run_dir),
            "parameters": sum(p.numel() for p in merged.parameters())}
