"""Prompts built from a document type's schema (Jinja templates, never a hand-kept field list).

A type may override a prompt with ``templates/<type>/prompts/<name>.j2``; otherwise the shared
``templates/prompts/<name>.j2`` is used. Templates see ``doc`` (the DocType) and any keyword given.
"""

from __future__ import annotations

import json
import os
import types
from pathlib import Path
from typing import Any

from docfoundry.doctypes import DocType, templates_root
from docfoundry.errors import UserError

# templates may call json.dumps; the json module itself would hand them json.codecs (codecs.open)
_JSON = types.SimpleNamespace(dumps=json.dumps)


def prompt_file(doc: DocType, name: str) -> Path:
    """The template used for prompt ``name`` of ``doc`` (type override first)."""
    for candidate in (doc.folder / "prompts" / f"{name}.j2", templates_root() / "prompts" / f"{name}.j2"):
        if candidate.is_file():
            return candidate
    raise UserError(f"no prompt template '{name}.j2' for {doc.name} (looked in {doc.folder / 'prompts'} "
                    f"and {templates_root() / 'prompts'})")


def _sandbox() -> Any:
    """A Jinja environment for third-party templates: no code, no writes, no file or module handles."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            # a module, or a path's methods (doc.folder.write_text), would reach files or run code
            if isinstance(obj, types.ModuleType) or isinstance(value, types.ModuleType):
                return False
            if isinstance(obj, os.PathLike) and callable(value):
                return False
            return super().is_safe_attribute(obj, attr, value)

    return Sandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


def render_template(path: Path, **params: Any) -> str:
    """Render a Jinja template file in a sandbox; a template error or unsafe access names the file.

    A document type may come from anyone (``$DOCFOUNDRY_TEMPLATES``): its templates are data, so
    they read the values they are given and cannot call into Python, write, or reach files.
    """
    import jinja2

    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the template ({e})") from None
    try:
        return _sandbox().from_string(source).render(json=_JSON, **params).strip()
    except jinja2.TemplateSyntaxError as e:
        raise UserError(f"{path}:{e.lineno}: {e.message}") from None
    except jinja2.exceptions.SecurityError as e:
        raise UserError(f"{path}: the template tried an unsafe operation ({e})") from None
    except jinja2.TemplateError as e:
        raise UserError(f"{path}: {e.message}") from None
    except Exception as e:  # 1/0, a wrong filter argument ...: a bad template, not a crash
        raise UserError(f"{path}: the template failed ({type(e).__name__}: {e})") from None


def render_prompt(doc: DocType, name: str, **params: Any) -> str:
    """Render prompt ``name`` for ``doc`` (the template sees ``doc`` and ``params``)."""
    return render_template(prompt_file(doc, name), doc=doc, **params)


def extraction_prompt(doc: DocType) -> str:
    """The instruction that asks a model for the type's fields as JSON (teacher, student, eval)."""
    return render_prompt(doc, "extract")
