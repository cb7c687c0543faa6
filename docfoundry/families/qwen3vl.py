"""Qwen3-VL."""

from __future__ import annotations

from typing import Any

from docfoundry.families._qwen import qwen_family, qwen_ids, qwen_recipe, qwen_text, spread


def _qwen3vl_config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
    return {"model_type": "qwen3_vl", **qwen_ids(ids), "tie_word_embeddings": False,
            "text_config": qwen_text(s, ids, {"rope_theta": 5000000.0, "mrope_interleaved": True}),
            "vision_config": {"depth": s.vision_layers, "hidden_size": s.vision_hidden,
                              "intermediate_size": s.vision_intermediate, "num_heads": s.vision_heads,
                              "out_hidden_size": s.hidden, "patch_size": 16, "spatial_merge_size": 2,
                              "temporal_patch_size": 2, "num_position_embeddings": s.vision_positions,
                              "deepstack_visual_indexes": spread(s.vision_layers)}}


FAMILY = qwen_family("qwen3vl", "Qwen3-VL", ("qwen3_vl",), "Qwen3VLProcessor",
                     tiny=qwen_recipe(16, _qwen3vl_config, "", "Qwen3VLVideoProcessor"))
