"""Qwen2.5-VL."""

from __future__ import annotations

from typing import Any

from docfoundry.families._qwen import (
    QWEN2_SYSTEM,
    qwen_family,
    qwen_ids,
    qwen_recipe,
    qwen_text,
    spread,
)


def _qwen25vl_config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
    return {"model_type": "qwen2_5_vl", **qwen_ids(ids), "tie_word_embeddings": False,
            "text_config": qwen_text(s, ids, {"rope_theta": 1000000.0}),
            "vision_config": {"depth": s.vision_layers, "hidden_size": s.vision_hidden,
                              "intermediate_size": s.vision_intermediate, "num_heads": s.vision_heads,
                              "out_hidden_size": s.hidden, "patch_size": 14, "spatial_merge_size": 2,
                              "temporal_patch_size": 2, "window_size": 112,
                              "fullatt_block_indexes": spread(s.vision_layers, 4)}}


FAMILY = qwen_family("qwen25vl", "Qwen2.5-VL", ("qwen2_5_vl",), "Qwen2_5_VLProcessor",
                     tiny=qwen_recipe(14, _qwen25vl_config, QWEN2_SYSTEM, "Qwen2VLVideoProcessor"))
