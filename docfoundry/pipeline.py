"""Deprecated alias: the pipeline moved to ``docfoundry.orchestration.pipeline`` (the layer that imports stages)."""

import sys

from docfoundry.orchestration import pipeline as _moved

sys.modules[__name__] = _moved  # the old name is the same module object, so patches and private names still work
