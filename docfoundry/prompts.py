"""Prompts built from a document type's schema (Jinja templates, never a hand-kept field list).

A type may override a prompt with ``templates/<type>/prompts/<name>.j2``; otherwise the shared
``templates/prompts/<name>.j2`` is used. Templates see ``doc`` (the DocType) and any keyword given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docfoundry.doctypes import DocType, templates_root
from docfoundry.errors import UserError


def prompt_file(doc: DocType, name: str) -> Path:
    """The template used for prompt ``name`` of ``doc`` (type override first)."""
    for candidate in (doc.folder / "prompts" / f"{name}.j2", templates_root() / "prompts" / f"{name}.j2"):
        if candidate.is_file():
            return candidate
    raise UserError(f"no prompt template '{name}.j2' for {doc.name} (looked in {doc.folder / 'prompts'} "
                    f"and {templates_root() / 'prompts'})")


def render_template(path: Path, **params: Any) -> str:
    """Render a Jinja template file; a template error names the file."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    try:
        return env.from_string(path.read_text()).render(json=json, **params).strip()
    except jinja2.TemplateError as e:
        raise UserError(f"{path}: {e.message}") from None


def render_prompt(doc: DocType, name: str, **params: Any) -> str:
    """Render prompt ``name`` for ``doc`` (the template sees ``doc`` and ``params``)."""
    return render_template(prompt_file(doc, name), doc=doc, **params)


def extraction_prompt(doc: DocType) -> str:
    """The instruction that asks a model for the type's fields as JSON (teacher, student, eval)."""
    return render_prompt(doc, "extract")
