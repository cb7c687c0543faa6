"""The example document types shipped in ``templates/examples/`` (folders only, no Python): a
purchase order and a services agreement, read as the README's worked example tells a user to.

Tests write them (or an edited copy) into a temporary ``$DOCFOUNDRY_TEMPLATES`` folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "templates" / "examples"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name / "schema.json").read_text(encoding="utf-8"))


def _layouts(name: str) -> dict[str, Any]:
    return {f.stem: yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted((EXAMPLES / name / "layouts").glob("*.yaml"))}


PURCHASE_ORDER = _schema("purchase_order")
PO_LAYOUTS = _layouts("purchase_order")
AGREEMENT = _schema("agreement")
AGREEMENT_LAYOUTS = _layouts("agreement")


def write_type(root: Path, name: str, schema: dict[str, Any], layouts: dict[str, Any]) -> Path:
    """A type folder ``root/name`` with ``schema.json`` and ``layouts/*.yaml``."""
    folder = root / name
    (folder / "layouts").mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps(schema, indent=2))
    for layout, body in layouts.items():
        (folder / "layouts" / f"{layout}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return folder


@contextmanager
def installed_type(root: Path, name: str, schema: dict[str, Any], layouts: dict[str, Any]) -> Iterator[Path]:
    """The type written under ``root`` and visible through ``$DOCFOUNDRY_TEMPLATES`` (the loaders'
    caches cleared on the way in and out), for a module-scoped fixture to yield from."""
    import pytest

    from docfoundry.doctypes import load_doc_type
    from synth.layout import load_layouts

    write_type(root, name, schema, layouts)
    mp = pytest.MonkeyPatch()
    mp.setenv("DOCFOUNDRY_TEMPLATES", str(root))
    load_doc_type.cache_clear()
    load_layouts.cache_clear()
    try:
        yield root
    finally:
        mp.undo()
        load_doc_type.cache_clear()
        load_layouts.cache_clear()
