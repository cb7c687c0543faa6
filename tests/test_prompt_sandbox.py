"""A document type's prompt templates are data: rendered in a sandbox, never able to run code."""

import json
import shutil

import pytest

from docfoundry.errors import UserError

PAYLOADS = [
    # the classic escape: a global's __init__ reaches the os module
    "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "{{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
    # objects the context hands over: the type folder is a Path, json a module (json.codecs.open)
    "{{ doc.folder.joinpath('MARK').write_text('x') }}",
    "{{ (doc.folder / 'MARK').touch() }}",
    "{{ json.codecs.open(doc.folder ~ '/MARK', 'w').write('x') }}",
]


@pytest.fixture
def evil_type(tmp_path, monkeypatch):
    """``write(template) -> (DocType, marker path)``: a $DOCFOUNDRY_TEMPLATES type whose extract.j2 is ``template``."""
    from docfoundry.doctypes import load_doc_type, templates_root

    root = tmp_path / "tpl"
    folder = root / "evil_receipt"
    shutil.copytree(templates_root() / "receipt", folder)
    schema = json.loads((folder / "schema.json").read_text())
    (folder / "schema.json").write_text(json.dumps({**schema, "x-values": "receipt"}))
    (folder / "prompts").mkdir()
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(root))
    monkeypatch.chdir(folder)  # a relative 'touch MARK' lands here too
    load_doc_type.cache_clear()

    def write(template: str):
        (folder / "prompts" / "extract.j2").write_text(template)
        return load_doc_type("evil_receipt"), folder / "MARK"

    yield write
    load_doc_type.cache_clear()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_cannot_run_code_or_write_files(evil_type, payload):
    from docfoundry.prompts import extraction_prompt

    doc, marker = evil_type("Fields:\n" + payload + "\n")
    with pytest.raises(UserError) as e:
        extraction_prompt(doc)
    assert not marker.exists()                      # the side effect did not happen
    msg = str(e.value)
    assert "extract.j2" in msg and "\n" not in msg


def test_template_cannot_change_the_loaded_schema(evil_type):
    from docfoundry.prompts import extraction_prompt

    doc, _ = evil_type("{{ doc.schema.clear() }}{{ doc.leaves.pop() }}")
    n_props, n_leaves = len(doc.schema["properties"]), len(doc.leaves)
    with pytest.raises(UserError, match="extract.j2"):
        extraction_prompt(doc)
    assert (len(doc.schema["properties"]), len(doc.leaves)) == (n_props, n_leaves)


@pytest.mark.parametrize("template, needle", [
    ("{{ no_such_variable }}", "'no_such_variable' is undefined"),
    ("{% for x in doc.leaves %}", "extract.j2:1"),               # syntax error, with its line
    ("{{ 1 // 0 }}", "ZeroDivisionError"),
])
def test_bad_template_is_one_line_naming_the_file(evil_type, template, needle):
    from docfoundry.prompts import extraction_prompt

    doc, _ = evil_type(template)
    with pytest.raises(UserError) as e:
        extraction_prompt(doc)
    msg = str(e.value)
    assert "extract.j2" in msg and needle in msg and "\n" not in msg, msg


def test_ordinary_templates_still_render(evil_type):
    from docfoundry.prompts import extraction_prompt

    doc, _ = evil_type("{{ doc.name }} {{ doc.folder.name }}: {{ json.dumps(doc.leaves | map(attribute='pattern') "
                       "| list) }}{% for leaf in doc.leaves %}{{ loop.index }}{{ cycler('a', 'b').next() }}{% endfor %}")
    text = extraction_prompt(doc)
    assert text.startswith('evil_receipt evil_receipt: ["store_name"') and "1a2a" in text
