"""`docfoundry models tiny` / `models info`: build a tiny offline VLM, or say what docfoundry knows of one.

    docfoundry models tiny --family smolvlm --size micro --out models/tiny-smolvlm
    docfoundry models info models/tiny-smolvlm
    docfoundry models info HuggingFaceTB/SmolVLM-256M-Instruct --max-image-tokens 1024

The family registry is ``docfoundry.families`` (one module per family), loading is
``docfoundry.loading``, model facts ``docfoundry.info``, tiny models ``docfoundry.tiny``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt
from docfoundry.errors import UserError
from docfoundry.families import FAMILIES
from docfoundry.info import model_info

# Commands.


@dataclass
class TinyConfig:
    family: str = opt(help=f"model family to build: {', '.join(FAMILIES)}", choices=list(FAMILIES))
    out: str = opt(help="folder to write the model, tokenizer and processor to")
    size: str = opt("micro", "micro (0.3-0.6M parameters: tests), mini (~0.7M: bench/student.py's CPU students), "
                    "tiny (2-3M: demos), small (190-205M: benchmarks)",
                    choices=["micro", "mini", "tiny", "small"])
    seed: int = opt(0, "random seed: the same seed gives the same weights and tokenizer")
    init_range: float = opt(0.02, "std of the random text weights (0.15 lets a tiny model overfit fast)", min=0)

    def validate(self) -> None:
        """--out is a new or empty folder, or one a previous ``models tiny`` wrote (it is rebuilt)."""
        from docfoundry.tiny import MARKER

        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out}: is a file; give a folder for the model")
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
            raise UserError(f"--out {out}: folder is not empty and holds no tiny model; give a new or empty folder")


@dataclass
class InfoConfig:
    model: str = opt(help="hub id, model folder or adapter folder", positional=True)
    max_image_tokens: int = opt(0, "apply this image-token budget first (0: the saved setting)")
    trust_remote_code: bool = opt(False, "allow the model's own code from the hub")


def run_tiny(cfg: TinyConfig) -> dict[str, Any]:
    """Build a random-weight model of ``cfg.family`` with a locally trained tokenizer and save it."""
    import os
    import shutil

    from docfoundry.config import validate
    from docfoundry.tiny import build_tiny, save_tiny

    validate(cfg)
    model, processor = build_tiny(cfg.family, cfg.size, seed=cfg.seed, init_range=cfg.init_range)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging, old = (out.parent / f".{out.name}.{kind}-{os.getpid()}" for kind in ("new", "old"))
    try:
        save_tiny(model, processor, staging, family=cfg.family, size=cfg.size, seed=cfg.seed,
                  init_range=cfg.init_range)
        if out.is_dir():  # a previous build: replaced whole, unless it holds files a build does not write
            foreign = sorted({p.name for p in out.iterdir()} - {p.name for p in staging.iterdir()})
            if foreign:
                raise UserError(f"--out {out}: holds files that are not part of a tiny model ({foreign[0]}, ...); "
                                "give a new or empty folder")
            os.replace(out, old)
        os.replace(staging, out)  # a killed build leaves the old folder or the new one, never a mix
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return {"out": str(out), "family": cfg.family, "size": cfg.size,
            "parameters": sum(p.numel() for p in model.parameters())}


def run_info(cfg: InfoConfig) -> dict[str, Any]:
    """Print what docfoundry knows about a model."""
    return model_info(cfg.model, cfg.max_image_tokens or None, cfg.trust_remote_code)


COMMANDS = [
    Command("models tiny", "build a tiny random-weight VLM of a family, offline (tests, demos)",
            TinyConfig, run_tiny,
            "example:\n  docfoundry models tiny --family smolvlm --size micro --out models/tiny-smolvlm"),
    Command("models info", "family, parameters, image tokens per page, LoRA targets, media tokens",
            InfoConfig, run_info,
            "example:\n  docfoundry models info models/tiny-smolvlm --max-image-tokens 256"),
]


# Deprecated: these names lived here before models.py was split; import them from their modules.
from docfoundry.families import GENERIC, Family, family_of, get_family  # noqa: E402,F401
from docfoundry.info import LETTER_PAGE_150DPI, blank_page, count_parameters  # noqa: E402,F401
from docfoundry.loading import (  # noqa: E402,F401
    QUANTIZATION,
    check_image_text_model,
    check_special_tokens,
    load_config,
    load_model,
    load_processor,
    release,
    resolve_source,
    save_processor,
    saved_video_processor,
    video_processor,
)
