"""Idefics3 and SmolVLM share one architecture: SigLIP tiles, pixel shuffle, a Llama text model."""

from __future__ import annotations

from typing import Any

from docfoundry.families._base import Family, TileBudget, TinyRecipe


def user_assistant_template(bos: str) -> str:
    """The Idefics3 / SmolVLM chat template: ``User:<image>text<end_of_utterance>\\nAssistant: ...``."""
    return (
        bos + "{% for message in messages %}{{ message['role'] | capitalize }}"
        "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
        "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
        "{% elif part['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
        "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
    )


IDEFICS3_MEDIA = ("<fake_token_around_image>", "<image>", "<global-img>",
                  *(f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)))
def _llama_text(s: Any, ids: dict[str, int], bos: str, eos: str, pad: str) -> dict[str, Any]:
    return {"model_type": "llama", "vocab_size": ids["vocab_size"], "hidden_size": s.hidden,
            "intermediate_size": s.intermediate, "num_hidden_layers": s.layers,
            "num_attention_heads": s.heads, "num_key_value_heads": s.kv_heads, "head_dim": s.head_dim,
            "max_position_embeddings": s.max_positions, "rms_norm_eps": 1e-5, "rope_theta": 100000.0,
            "initializer_range": s.init_range, "tie_word_embeddings": False,
            "bos_token_id": ids[bos], "eos_token_id": ids[eos], "pad_token_id": ids[pad]}


def idefics_recipe(model_type: str, bos: str, pad: str, tiles: dict[str, tuple[int, int, int]],
                    image_processor: str, video_processor: str = "") -> TinyRecipe:
    """Idefics3 and SmolVLM share one architecture: SigLIP tiles, pixel shuffle, a Llama text model.

    ``tiles`` maps a size name to (tile pixels, patch pixels, pixel-shuffle scale).
    """
    eos = "<end_of_utterance>"

    def config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
        image_size, patch, scale = tiles[s.geometry]
        return {"model_type": model_type, "image_token_id": ids["<image>"], "scale_factor": scale,
                "pad_token_id": ids[pad], "tie_word_embeddings": False,
                "text_config": _llama_text(s, ids, bos, eos, pad),
                "vision_config": {"hidden_size": s.vision_hidden, "intermediate_size": s.vision_intermediate,
                                  "num_hidden_layers": s.vision_layers, "num_attention_heads": s.vision_heads,
                                  "image_size": image_size, "patch_size": patch}}

    def image_kwargs(s: Any) -> dict[str, Any]:
        return {"max_image_size": {"longest_edge": tiles[s.geometry][0]}, "do_image_splitting": True}

    def processor_kwargs(s: Any) -> dict[str, Any]:
        image_size, patch, scale = tiles[s.geometry]
        return {"image_seq_len": (image_size // patch) ** 2 // scale ** 2}

    return TinyRecipe(bos=bos, eos=eos, pad=pad, extra_tokens=(bos, pad, eos),
                      chat_template=user_assistant_template(bos), image_processor=image_processor,
                      video_processor=video_processor,
                      image_processor_kwargs=image_kwargs, processor_kwargs=processor_kwargs, config=config)


def idefics_family(name: str, title: str, model_types: tuple[str, ...], processor_class: str,
                   tiny: TinyRecipe) -> Family:
    """A family of the Idefics3 architecture (its media tokens, tile budget and module names)."""
    return Family(name, title, model_types, processor_class, media_tokens=IDEFICS3_MEDIA, image_token="<image>",
                  end_of_turn="<end_of_utterance>", budget=TileBudget(), lm_prefix="text_model",
                  vision_modules=("vision_model", "connector"), tiny=tiny)
