"""Qwen2-VL, Qwen2.5-VL and Qwen3-VL share ChatML, the vision wrappers, mrope and the pixel budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from docfoundry.families._base import Family, PixelBudget, TinyRecipe

QWEN2_SYSTEM = "You are a helpful assistant."  # Qwen2/2.5-VL templates add it when no system turn is given

_CHATML = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' and default_system %}"
    "<|im_start|>system\n{{ default_system }}<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def chatml_template(default_system: str = "") -> str:
    """The Qwen-VL chat template (ChatML with vision wrappers), with an optional default system turn."""
    return "{% set default_system = " + json.dumps(default_system) + " %}" + _CHATML


QWEN_MEDIA = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")

def qwen_ids(ids: dict[str, int]) -> dict[str, int]:
    return {"image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"],
            "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"]}


def qwen_text(s: Any, ids: dict[str, int], rope: dict[str, Any]) -> dict[str, Any]:
    # mrope splits the rotary half-dimension across (time, height, width): it must sum to head_dim / 2
    half = s.head_dim // 2
    section = [half - 2 * (3 * half // 8), 3 * half // 8, 3 * half // 8]
    return {"vocab_size": ids["vocab_size"], "hidden_size": s.hidden, "intermediate_size": s.intermediate,
            "num_hidden_layers": s.layers, "num_attention_heads": s.heads, "num_key_value_heads": s.kv_heads,
            "head_dim": s.head_dim, "max_position_embeddings": s.max_positions, "initializer_range": s.init_range,
            "rope_parameters": {"rope_type": "default", "mrope_section": section, **rope},
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"], "tie_word_embeddings": False}


def spread(depth: int, n: int = 3) -> list[int]:
    """``n`` distinct vision layer indexes spread over ``depth`` layers (deepstack, full attention)."""
    return sorted({min(depth - 1, (i + 1) * depth // n - 1) for i in range(n)} | {depth - 1})[-n:]


def qwen_recipe(patch: int, config: Callable, default_system: str, video: str) -> TinyRecipe:
    factor = patch * 2  # pixels per image token side: patch * spatial merge

    def image_kwargs(s: Any) -> dict[str, Any]:
        return {"patch_size": patch, "merge_size": 2, "temporal_patch_size": 2,
                "min_pixels": 4 * factor * factor, "max_pixels": s.page_tokens * factor * factor}

    return TinyRecipe(bos="<|endoftext|>", eos="<|im_end|>", pad="<|endoftext|>",
                      extra_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
                      chat_template=chatml_template(default_system), image_processor="Qwen2VLImageProcessorPil",
                      video_processor=video,
                      image_processor_kwargs=image_kwargs, processor_kwargs=lambda s: {}, config=config)


def qwen_family(name: str, title: str, model_types: tuple[str, ...], processor_class: str,
                tiny: TinyRecipe) -> Family:
    """A family of the Qwen-VL line (its media tokens, pixel budget and module names)."""
    return Family(name, title, model_types, processor_class, media_tokens=QWEN_MEDIA, image_token="<|image_pad|>",
                  end_of_turn="<|im_end|>", budget=PixelBudget(), lm_prefix="language_model",
                  vision_modules=("visual",), tiny=tiny)
