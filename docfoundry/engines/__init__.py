"""The inference engines the teachers and ``eval --model`` share: one way to start each one.

``docfoundry.engines.vllm.start_engine`` starts vLLM's offline engine (CPU defaults, the family's
image budget, one clear error); hf models load with ``docfoundry.loading.load_model``.
"""

from __future__ import annotations

from docfoundry.errors import UserError


class EngineUnavailable(UserError):
    """An engine cannot start (its library is missing, or the model does not load)."""
