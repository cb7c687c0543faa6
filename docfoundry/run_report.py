"""Deprecated alias: the run_report moved to ``docfoundry.orchestration.run_report`` (the layer that imports stages)."""

import sys

from docfoundry.orchestration import run_report as _moved

sys.modules[__name__] = _moved  # the old name is the same module object, so patches and private names still work
