"""Qwen2-VL."""

from __future__ import annotations

from typing import Any

from docfoundry.families._qwen import QWEN2_SYSTEM, qwen_family, qwen_ids, qwen_recipe, qwen_text


def _qwen2vl_config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
    return {"model_type": "qwen2_vl", **qwen_ids(ids), "tie_word_embeddings": False,
            "text_config": qwen_text(s, ids, {"rope_theta": 1000000.0}),
            "vision_config": {"depth": s.vision_layers, "embed_dim": s.vision_hidden, "hidden_size": s.hidden,
                              "num_heads": s.vision_heads, "mlp_ratio": s.vision_intermediate // s.vision_hidden,
                              "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}}


FAMILY = qwen_family("qwen2vl", "Qwen2-VL", ("qwen2_vl",), "Qwen2VLProcessor",
                     tiny=qwen_recipe(14, _qwen2vl_config, QWEN2_SYSTEM, "Qwen2VLVideoProcessor"))
