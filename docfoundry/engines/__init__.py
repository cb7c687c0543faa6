"""The inference engines the teachers and ``eval --model`` share: one way to start each one.

``docfoundry.engines.hf.HfEngine`` loads a model (hub id, folder, adapter) for transformers
``generate`` and answers one chat; ``docfoundry.engines.vllm.start_engine`` starts vLLM's offline
engine (CPU defaults, the family's image budget, an adapter as a LoRA, one clear error). The chat
they are given comes from ``docfoundry.chat.page_chat``.
"""

from __future__ import annotations

from docfoundry.errors import UserError


class EngineUnavailable(UserError):
    """An engine cannot start (its library is missing, or the model does not load)."""
