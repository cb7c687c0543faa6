"""`docfoundry` command line: thin entry points over the stage functions.

Each stage module exposes ``COMMANDS``: a name, a config dataclass and the library function that
takes it. This file only finds the command, builds its flags from the dataclass and calls it.
Stage modules keep heavy imports (torch, vllm, augraphy) inside functions, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import fields
from typing import Any

from docfoundry import __version__
from docfoundry.commands import Command  # cli.Command is deprecated: docfoundry.commands
from docfoundry.errors import UserError

# Modules that register commands; a stage adds itself here (light imports only at module level).
COMMAND_MODULES = [
    "synth.generate",
    "distill.label",
    "distill.review.commands",
    "synth.degrade_folder",
    "synth.scaffold",
    "docfoundry.models",
    "distill.instruct",
    "docfoundry.orchestration.pipeline",
    "eval.run",
    "eval.gap.run",
    "finetune.train",
]


def all_commands() -> dict[str, Command]:
    """Every registered command by name, in registration order."""
    out: dict[str, Command] = {}
    for mod_name in COMMAND_MODULES:
        for cmd in importlib.import_module(mod_name).COMMANDS:
            out[cmd.name] = cmd
    return out


def _top_help(commands: dict[str, Command]) -> str:
    width = max(len(n) for n in commands)
    lines = [
        f"docfoundry {__version__}: synthetic documents, teacher labels and small-VLM distillation",
        "",
        "usage: docfoundry COMMAND [options]      (docfoundry COMMAND --help for its options)",
        "",
        "commands:",
    ]
    lines += [f"  {n:<{width}}  {c.help}" for n, c in commands.items()]
    return "\n".join(lines)


def _find(commands: dict[str, Command], argv: list[str]) -> tuple[Command, list[str]]:
    if len(argv) >= 2 and f"{argv[0]} {argv[1]}" in commands:
        return commands[f"{argv[0]} {argv[1]}"], argv[2:]
    if argv[0] in commands:
        return commands[argv[0]], argv[1:]
    raise UserError(f"unknown command '{argv[0]}' (known: {', '.join(commands)})")


def _print_summary(summary: Any) -> None:
    if summary is None:
        return
    print(json.dumps(summary, indent=2, default=str) if isinstance(summary, dict) else summary)


def run_command(cmd: Command, argv: list[str]) -> int:
    """Parse ``argv`` into the command's config and call its function; returns the exit code."""
    from docfoundry.config import add_arguments, from_namespace, load_yaml, validate

    parser = argparse.ArgumentParser(
        prog=f"docfoundry {cmd.name}",
        description=cmd.help,
        epilog=cmd.usage or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, cmd.config)
    own_config_flag = any(f.name == "config" for f in fields(cmd.config))
    if not own_config_flag:
        parser.add_argument("--config", dest="_config_file", metavar="YAML", default=None,
                            help="read options from a YAML file; flags given here win")
    ns = parser.parse_args(argv)
    config_file = getattr(ns, "_config_file", None)
    base = load_yaml(config_file) if config_file else {}
    cfg = validate(from_namespace(cmd.config, ns, base))  # flags and --config keys checked alike, up front
    summary = cmd.run(cfg)
    _print_summary(summary)
    return int(summary.get("exit_code", 0)) if isinstance(summary, dict) else 0


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        commands = all_commands()
        if not argv or argv[0] in ("-h", "--help", "help"):
            print(_top_help(commands))
            return 0
        if argv[0] in ("-V", "--version"):
            print(__version__)
            return 0
        cmd, rest = _find(commands, argv)
        return run_command(cmd, rest)
    except UserError as e:
        print("error: " + " ".join(str(e).splitlines()), file=sys.stderr)  # one line, whatever it quotes
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
