"""Deprecated alias: moved to ``docfoundry.normalize`` (label and eval share it, so it belongs to the core)."""

import sys

from docfoundry import normalize as _moved

sys.modules[__name__] = _moved  # the old name is the same module object, so patches and private names still work
