"""Facts about a model without loading its weights: family, parameters, image tokens per page."""

from __future__ import annotations

from typing import Any

from docfoundry.families import family_of
from docfoundry.loading import (
    check_image_text_model,
    is_local,
    load_config,
    load_processor,
    resolve_source,
)

LETTER_PAGE_150DPI = (1275, 1650)  # width, height in pixels: the page size image budgets are quoted for


def count_parameters(config: Any) -> int:
    """Parameter count of the model ``config`` describes (built on the meta device: no memory)."""
    import torch
    from transformers import AutoModelForImageTextToText

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    return sum(p.numel() for p in model.parameters())


def blank_page() -> Any:
    """A white letter page at 150 DPI (the page image budgets are quoted for)."""
    from PIL import Image

    return Image.new("RGB", LETTER_PAGE_150DPI, "white")


def model_info(name_or_path: str, max_image_tokens: int | None = None,
               trust_remote_code: bool = False) -> dict[str, Any]:
    """Family, parameter count, image tokens per page, LoRA targets and media tokens of a model."""
    import torch
    from transformers import AutoModelForImageTextToText

    base, adapter = resolve_source(str(name_or_path))
    config = load_config(base, trust_remote_code=trust_remote_code)
    check_image_text_model(config, f"{base}/config.json" if is_local(base) else base)
    family = family_of(config)
    processor = load_processor(adapter or base, family, trust_remote_code=trust_remote_code)
    if max_image_tokens:
        family.set_image_budget(processor, max_image_tokens)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    lora = family.lora_modules(model)
    vocab = processor.tokenizer.get_vocab()
    media = family.media_tokens or tuple(t for t, _ in sorted(
        ((t, i) for t, i in vocab.items() if i in family.media_token_ids(processor)), key=lambda x: x[1]))
    return {
        "model": str(name_or_path),
        "family": family.name,
        "title": family.title,
        "model_type": config.model_type,
        "parameters": sum(p.numel() for p in model.parameters()),
        "image_tokens_per_page": family.image_tokens(processor, blank_page()),
        "page": f"{LETTER_PAGE_150DPI[0]}x{LETTER_PAGE_150DPI[1]} px (letter, 150 DPI)",
        "resolution": family.budget.describe(processor),
        "lora_targets": family.lora_targets,
        "lora_modules": len(lora),
        "vision_modules": list(family.vision_modules),
        "media_tokens": {t: vocab.get(t) for t in media},
    }

