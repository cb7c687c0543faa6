"""The Label Studio labeling config of a document type, generated from its JSON Schema.

    docfoundry review config --schema receipt > receipt.xml

One control per field: a ``TextArea`` per leaf (a ``Choices`` where the schema lists the values,
``enum``, or the leaf is a checkbox, ``x-kind: check``), and per list (``line_items``) one
``TextArea`` whose entries are its items, one per line, each ``column: value | column: value``.
Every field box is a rectangle region labeled with the field's pattern (``line_items[].amount``:
line items are repeated regions) with its transcription. Export and import both read the
controls from here, so the config, the tasks and the corrections cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

IMAGE = "image"          # the object tag the controls point at
BOX = "field_box"        # RectangleLabels: a field's box, labeled with its pattern
BOX_TEXT = "box_text"    # the per-region transcription of a box
CELL_SEP = " | "         # between the cells of one list item's entry
CHECKED = "X"            # how a checked ``x-kind: check`` box is written (empty when unchecked)


@dataclass(frozen=True)
class Control:
    """The control of one field: a leaf (``text`` / ``choices``) or a whole list (``list``)."""

    name: str                       # the control's name in the config
    pattern: str                    # schema leaf pattern, or the list's path for a list control
    kind: str                       # text | choices | list
    description: str
    choices: tuple[str, ...] = ()   # choices controls: the values offered
    columns: tuple[str, ...] = ()   # list controls: leaf patterns inside an item (``amount``)


def control_name(pattern: str) -> str:
    """A field pattern as a control name (letters, digits and ``_`` only: ``items[].amount`` ->
    ``items__amount``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", pattern.replace("[]", "_"))


def _node(schema: dict[str, Any], pattern: str) -> dict[str, Any]:
    node = schema
    for part in pattern.replace("[]", ".[]").split("."):
        node = node.get("items", {}) if part == "[]" else node.get("properties", {}).get(part, {})
    return node


def list_path(pattern: str) -> str:
    """The outermost list a leaf pattern is in (``line_items[].amount`` -> ``line_items``; "" if none)."""
    return pattern.split("[]", 1)[0] if "[]" in pattern else ""


def controls(doc: Any) -> list[Control]:
    """The controls of document type ``doc`` in schema order (a list where its first leaf is)."""
    out: list[Control] = []
    lists: dict[str, list[str]] = {}
    for leaf in doc.leaves:
        parent = list_path(leaf.pattern)
        if parent:
            if parent not in lists:
                lists[parent] = []
                out.append(Control(control_name(parent), parent, "list", _node(doc.schema, parent).get("description", "")))
            lists[parent].append(leaf.pattern[len(parent) + 3:])
            continue
        node = _node(doc.schema, leaf.pattern)
        enum = tuple(str(v) for v in node.get("enum", []) if str(v))
        if leaf.kind == "check" and not enum:
            enum = (CHECKED,)
        out.append(Control(control_name(leaf.pattern), leaf.pattern, "choices" if enum else "text",
                           leaf.description, choices=enum))
    out = [Control(c.name, c.pattern, c.kind, c.description, c.choices, tuple(lists.get(c.pattern, ())))
           if c.kind == "list" else c for c in out]
    names = [c.name for c in out]
    clash = next((n for n in names if names.count(n) > 1 or n in (IMAGE, BOX, BOX_TEXT)), None)
    if clash:
        from docfoundry.errors import UserError

        raise UserError(f"{doc.source}: two fields share the Label Studio control name '{clash}'; rename one")
    return out


def schema_digest(doc: Any) -> str:
    """What ties tasks and exports to one schema version (an export of another schema is refused)."""
    return hashlib.sha256(json.dumps(doc.schema, sort_keys=True).encode()).hexdigest()[:16]


def item_entry(item: dict[str, Any], columns: tuple[str, ...]) -> str:
    """One list item as its ``TextArea`` entry: ``description: Tea | amount: 3.50`` (empty cells left out)."""
    return CELL_SEP.join(f"{c}: {item[c]}" for c in columns if str(item.get(c, "")).strip())


def parse_entry(entry: str, columns: tuple[str, ...], where: str) -> dict[str, str]:
    """A list item back from its entry; an unknown column is a ``UserError`` naming ``where``."""
    from docfoundry.errors import UserError

    item: dict[str, str] = {}
    for cell in (c.strip() for c in entry.split(CELL_SEP.strip())):
        if not cell:
            continue
        column, sep, value = cell.partition(":")
        if not sep or column.strip() not in columns:
            raise UserError(f"{where}: item entry {entry!r}: '{cell}' is not 'column: value' with a column "
                            f"of {', '.join(columns)}")
        item[column.strip()] = value.strip()
    return item


def _header(text: str) -> str:
    return f"<Header value={quoteattr(text)} size=\"6\"/>"


def _control_xml(c: Control) -> list[str]:
    title = f"{c.pattern}: {c.description}" if c.description else c.pattern
    if c.kind == "choices":
        options = "".join(f"<Choice value={quoteattr(v)}/>" for v in c.choices)
        return [_header(title), f"<Choices name={quoteattr(c.name)} toName=\"{IMAGE}\" choice=\"single\" "
                                f"showInline=\"true\">{options}</Choices>"]
    if c.kind == "list":
        hint = CELL_SEP.join(f"{col}: ..." for col in c.columns)
        return [_header(f"{title} (one item per entry: {hint})"),
                f"<TextArea name={quoteattr(c.name)} toName=\"{IMAGE}\" editable=\"true\" rows=\"1\" "
                f"placeholder={quoteattr(hint)}/>"]
    return [_header(title), f"<TextArea name={quoteattr(c.name)} toName=\"{IMAGE}\" editable=\"true\" "
                            f"maxSubmissions=\"1\" rows=\"1\"/>"]


def labeling_config(doc: Any) -> str:
    """The Label Studio labeling config (XML) of ``doc``: the page, its fields, its field boxes."""
    cs = controls(doc)
    labels = "".join(f"<Label value={quoteattr(leaf.pattern)}/>" for leaf in doc.leaves)
    lines = [
        f"<View>  <!-- docfoundry review: document type {doc.name}, schema {schema_digest(doc)} -->",
        "  <Header value=\"$title\"/>",
        "  <View style=\"display: flex; gap: 1em\">",
        "    <View style=\"flex: 55%\">",
        f"      <Image name=\"{IMAGE}\" value=\"$image\" zoom=\"true\" zoomControl=\"true\"/>",
        f"      <RectangleLabels name=\"{BOX}\" toName=\"{IMAGE}\" showInline=\"false\">{labels}</RectangleLabels>",
        f"      <TextArea name=\"{BOX_TEXT}\" toName=\"{IMAGE}\" perRegion=\"true\" editable=\"true\" "
        "maxSubmissions=\"1\" rows=\"1\" placeholder=\"text in the box\"/>",
        "    </View>",
        "    <View style=\"flex: 45%\">",
        *(f"      {x}" for c in cs for x in _control_xml(c)),
        "    </View>",
        "  </View>",
        "</View>",
    ]
    return "\n".join(lines) + "\n"
