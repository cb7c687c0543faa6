"""Whether an optional dependency (bitsandbytes, xgrammar, ...) is installed, checked before a stage starts."""

from __future__ import annotations

import importlib


def has_module(name: str) -> bool:
    """True when ``name`` imports (a module set to None in ``sys.modules`` counts as absent)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True
