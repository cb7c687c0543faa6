"""Mutated draw rules end in values or in one line naming the file: never a traceback."""

from __future__ import annotations

import itertools
import json
import random

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mutations import mutated_tree
from types_fixtures import AGREEMENT, PURCHASE_ORDER

from docfoundry.doctypes import load_doc_type, templates_root
from docfoundry.errors import UserError
from synth.locales import Locale
from synth.values import ValueContext, split_truth, values_for
from synth.values.schema import check

META_KEYS = list(json.loads((templates_root() / "doctype.schema.json").read_text())["properties"])
RULE_VALUES = [[1, 5], [5, 1], ["2020-01-01", "2021-01-01"], ["2021-01-01", "2020-01-01"], [0, 0], [1], {"one_of": []},
               {"one_of": [3]}, "company", "date_of_birth", {"provider": "address", "lines": 2, "join": ", "},
               {"provider": "pyint", "args": {"min_value": 5, "max_value": 1}}, {"provider": "name", "args": {"x": 1}},
               "PO-{year}-{###}", "{po_number}", "{order_date.year}", "sum(line_items[].amount)", "add(subtotal, tax)",
               "product(quantity, unit_price)", {"rate": ["subtotal", "0.062"]}, "order_date", "po_number", 0.5, 1, 0,
               ["a", "b"], [0, 0], ["x"], "upper", "log", "long", "dd.MM.yyyy", "sentence", "currency", "tax_rate"]
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_names = itertools.count()


def one_line(e: Exception, where: str) -> None:
    text = str(e)
    assert "\n" not in text and where in text, text


@PROPERTY
@given(schema=mutated_tree([PURCHASE_ORDER, AGREEMENT], META_KEYS + ["type", "required", "minItems", "maxItems"],
                           RULE_VALUES), seed=st.integers(0, 2**16))
def test_mutated_rules_give_valid_values_or_one_line(tmp_path_factory, schema, seed):
    folder = tmp_path_factory.mktemp("t") / f"t{next(_names)}"
    folder.mkdir()
    (folder / "schema.json").write_text(json.dumps(schema))
    try:
        doc = load_doc_type.__wrapped__(str(folder))  # uncached: each example is a new folder
        check(doc)
        gt, typed = split_truth(values_for(doc, ValueContext(Locale("de_DE", seed), random.Random(seed))))
    except UserError as e:
        one_line(e, str(folder / "schema.json"))
        event("refused")
        return
    try:
        doc.validate(gt)  # synth turns a refusal here into one line naming the file (generate.render_sample)
        event("valid")
    except ValueError:
        event("drawn value breaks a schema constraint")
