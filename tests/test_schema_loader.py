"""The schema loader reads the file it is given and answers a malformed schema with one line."""

from __future__ import annotations

import json

import pytest

from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type, templates_root
from docfoundry.errors import UserError

FIELD = {"type": "string", "x-category": "totals", "x-kind": "amount", "description": "Total"}


def schema(**properties) -> dict:
    return {"type": "object", "title": "custom", "properties": properties}


def test_a_custom_schema_file_is_the_one_validated(tmp_path):
    """``--schema other/custom.json`` is checked against custom.json, not other/schema.json."""
    (tmp_path / "schema.json").write_text((templates_root() / "receipt" / "schema.json").read_text())
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps({**schema(amount_due=FIELD), "required": ["amount_due"],
                                  "additionalProperties": False}))
    doc = load_doc_type.__wrapped__(str(custom))
    assert [leaf.pattern for leaf in doc.leaves] == ["amount_due"] and doc.source == custom
    doc.validate({"amount_due": "1.00"})                           # valid under custom.json
    with pytest.raises(ValueError, match="amount_due"):
        doc.validate({"total": "1.00"})                            # a receipt, but not this schema


def test_a_custom_schema_file_without_a_sibling_schema_json(tmp_path):
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps(schema(total=FIELD)))
    load_doc_type.__wrapped__(str(custom)).validate({"total": "1.00"})


@pytest.mark.parametrize("body, needle", [
    (schema(a=True), "field 'a' is true; each field is a schema object"),
    (schema(a=False), "field 'a' is false"),
    (schema(items={"type": "array", "items": True}), "field 'items[]' is true"),
    (schema(items={"type": "array"}), "field 'items' is an array without an 'items' schema"),
    (schema(a={**FIELD, "x-category": 5}), "field 'a' has x-category 5; expected a name"),
    (schema(a={**FIELD, "x-kind": ["amount"]}), "field 'a' has unknown x-kind [\"amount\"]"),
    (schema(a={**FIELD, "x-labels": "Total"}), "field 'a' has x-labels \"Total\"; expected a list of strings"),
    (True, "the top level must be an object schema"),
    ({"type": "object", "properties": {"a": {"$ref": "#/nope"}}}, "field 'a' has no x-category"),
])
def test_malformed_schema_is_one_line_naming_the_file(tmp_path, body, needle):
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps(body))
    with pytest.raises(UserError) as e:
        load_doc_type.__wrapped__(str(custom))
    msg = str(e.value)
    assert msg.startswith(f"{custom}: ") and needle in msg and "\n" not in msg, msg


@pytest.mark.parametrize("data, needle", [
    (b"\x80\x81{}", "not UTF-8 text"),
    (b'{"type": "object", "x": ' + b"1" * 5000 + b"}", "not valid JSON"),
    (b"[" * 100_000, "not valid JSON"),
])
def test_unreadable_schema_is_one_line(tmp_path, data, needle):
    custom = tmp_path / "custom.json"
    custom.write_bytes(data)
    with pytest.raises(UserError, match=needle):
        load_doc_type.__wrapped__(str(custom))


def test_a_ref_to_nowhere_is_one_line_when_values_are_checked(tmp_path):
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps(schema(a={**FIELD, "$ref": "#/$defs/missing"})))
    doc = load_doc_type.__wrapped__(str(custom))
    with pytest.raises(UserError, match=f"{custom}: cannot check values against this schema"):
        doc.validate({"a": "1"})


def test_cli_boolean_subschema_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "tpl" / "booltype"
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps(schema(a=True)))
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(tmp_path / "tpl"))
    load_doc_type.cache_clear()
    try:
        code = main(["synth", "--n", "1", "--out", str(tmp_path / "o"), "--doc-types", "booltype"])
    finally:
        load_doc_type.cache_clear()
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "field 'a' is true" in err, err
