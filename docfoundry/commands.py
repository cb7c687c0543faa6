"""The command record every stage registers: a leaf module, so stages never import the CLI.

A stage module lists ``COMMANDS = [Command(...), ...]``; ``docfoundry.cli`` finds them by module name
(vLLM's ``CLISubcommand`` in ``cli/types.py`` plays the same part).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    """A CLI (sub)command: ``name`` may have two words (``eval compare``)."""

    name: str
    help: str
    config: type
    run: Callable[[Any], Any]
    usage: str = ""
