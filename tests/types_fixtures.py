"""Document types written as folders only (no Python): a purchase order and a two-page agreement.

Tests write them into a temporary ``$DOCFOUNDRY_TEMPLATES`` folder; nothing here is a rule of the
generator, only a type a user could have written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def leaf(category: str, kind: str = "text", labels: list[str] | None = None, **draw: Any) -> dict[str, Any]:
    """A string leaf with its annotations; ``draw`` holds x- keys without the prefix (x_faker -> x-faker)."""
    node: dict[str, Any] = {"type": "string", "x-category": category, "x-kind": kind}
    if labels:
        node["x-labels"] = labels
    node.update({"x-" + k.replace("_", "-"): v for k, v in draw.items()})
    return node


def obj(props: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "additionalProperties": False,
            "required": [k for k in props if k not in optional]}


PURCHASE_ORDER = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "purchase_order",
    "description": "A purchase order from a buyer to a supplier.",
    **obj({
        "po_number": leaf("document", "id", ["PO Number", "Order No."], pattern=["PO-{year}-{#####}", "{AA}{######}"]),
        "order_date": leaf("document", "date", ["Order Date", "Date"], range=["2019-01-01", "2026-06-30"],
                           format=["medium", "short"]),
        "delivery_date": leaf("document", "date", ["Delivery Date", "Deliver By"], after="order_date",
                              days=[3, 45]),
        "currency": leaf("payment", "code", ["Currency"], locale="currency"),
        "buyer": obj({"name": leaf("buyer", "text", ["Buyer", "Ordered By"], faker="company"),
                      "address": leaf("buyer", "text", faker={"provider": "address", "lines": 3})}),
        "supplier": obj({"name": leaf("supplier", "text", ["Supplier", "Vendor"],
                                      faker=[{"provider": "company", "weight": 3}, {"provider": "name"}]),
                         "address": leaf("supplier", "text", faker={"provider": "address", "lines": 3}),
                         "phone": leaf("supplier", "text", ["Phone", "Tel."], faker="phone_number",
                                       optional=0.3)}, optional=("phone",)),
        "line_items": {"type": "array", "minItems": 1, "maxItems": 6, "items": obj({
            "sku": leaf("line_items", "id", ["SKU", "Item No."], pattern="{AA}-{####}"),
            "description": leaf("line_items", "text", ["Description", "Item"],
                                choices=["Steel bolts", "Packing tape", "Safety gloves", "Pallet wrap",
                                         "Copy paper", "Cable ties", "Label rolls", "Work boots"]),
            "quantity": leaf("line_items", "number", ["Qty", "Quantity"], range=[1, 60]),
            "unit_price": leaf("line_items", "amount", ["Unit Price", "Price"], range=[0.5, 900],
                               distribution="log"),
            "amount": leaf("line_items", "amount", ["Amount", "Line Total"], derive="product(quantity, unit_price)"),
        })},
        "subtotal": leaf("totals", "amount", ["Subtotal", "Net"], derive="sum(line_items[].amount)"),
        "tax_rate": leaf("totals", "percent", ["Tax Rate", "VAT %"], locale="tax_rate"),
        "tax": leaf("totals", "amount", ["Tax", "VAT"], derive={"percent": ["subtotal", "tax_rate"]}),
        "total": leaf("totals", "amount", ["Total", "Order Total"], derive="add(subtotal, tax)", symbol=0.5),
        "terms": leaf("payment", "text", ["Terms", "Payment Terms"], choices=["Net 30", "Net 60", "Prepaid"],
                      weights=[5, 2, 1]),
        "notes": leaf("document", "text", ["Notes", "Remarks"], text="sentence", optional=0.4),
    }, optional=("notes",)),
}

PO_LAYOUTS = {
    "classic": {"page": "letter", "blocks": [
        {"type": "title", "text": {"one_of": ["PURCHASE ORDER", "Purchase Order"]}, "scale": 2.0},
        {"type": "row", "blocks": [
            {"type": "party", "heading_from": "buyer.name", "fields": ["buyer.name", "buyer.address"]},
            {"type": "kv", "style": "grid", "fields": ["po_number", "order_date", "delivery_date", "currency"]}]},
        {"type": "party", "heading_from": "supplier.name",
         "fields": ["supplier.name", "supplier.address", {"field": "supplier.phone", "label": True}]},
        {"type": "table", "list": "line_items",
         "columns": ["sku", {"field": "description", "width": 2.5}, "quantity", "unit_price", "amount"]},
        {"type": "row", "blocks": [
            {"type": "kv", "style": "stacked", "fields": ["terms", "notes"]},
            {"type": "kv", "style": "lines", "value_align": "right",
             "fields": ["subtotal", "tax_rate", "tax", {"field": "total", "bold": True}]}]},
    ]},
    "banner": {"page": {"one_of": ["a4", "letter"]}, "fonts": ["Helvetica", "Times-Roman"], "blocks": [
        {"type": "title", "text": "PURCHASE ORDER", "banner": True},
        {"type": "kv", "style": "inline", "fields": ["po_number", "order_date", "delivery_date"]},
        {"type": "row", "swap": {"one_of": [True, False]}, "blocks": [
            {"type": "party", "heading": "Supplier", "fields": ["supplier.name", "supplier.address", "supplier.phone"]},
            {"type": "party", "heading": "Ship to", "fields": ["buyer.name", "buyer.address"]}]},
        {"type": "table", "list": "line_items", "style": "striped",
         "columns": [{"field": "description", "width": 2.5}, "sku", "unit_price", "quantity", "amount"]},
        {"type": "kv", "style": "grid", "value_align": "right",
         "fields": ["currency", "subtotal", "tax_rate", "tax", "total"]},
        {"type": "kv", "style": "inline", "fields": ["terms", "notes"]},
    ]},
}


def write_type(root: Path, name: str, schema: dict[str, Any], layouts: dict[str, Any]) -> Path:
    """A type folder ``root/name`` with ``schema.json`` and ``layouts/*.yaml``."""
    folder = root / name
    (folder / "layouts").mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps(schema, indent=2))
    for layout, body in layouts.items():
        (folder / "layouts" / f"{layout}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return folder


PARTY = obj({
    "name": leaf("parties", "text", ["Party"], faker="company"),
    "address": leaf("parties", "text", ["Address"], faker={"provider": "address", "lines": 2}),
    "signatory": leaf("parties", "text", ["Name"], faker="name"),
    "title": leaf("parties", "text", ["Title"], choices=["Director", "Managing Director", "CEO", "Partner",
                                                          "Head of Operations"]),
})

AGREEMENT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "agreement",
    "description": "A services agreement between two parties.",
    **obj({
        "agreement_number": leaf("document", "id", ["Agreement No."], pattern="AGR-{year}-{####}"),
        "signing_date": leaf("document", "date", ["Date"], range=["2020-01-01", "2026-06-30"], format="long"),
        "effective_date": leaf("document", "date", ["Effective Date"], after="signing_date", days=[0, 30],
                               format="long"),
        "parties": {"type": "array", "minItems": 2, "maxItems": 2, "items": PARTY},
        "term_months": leaf("terms", "number", ["Term"], choices=[6, 12, 24, 36]),
        "fee": leaf("terms", "amount", ["Fee"], range=[500, 50000], distribution="log", symbol=1.0),
        "payment_days": leaf("terms", "number", ["Payment Days"], choices=[14, 30, 45]),
        "notice_days": leaf("terms", "number", ["Notice"], choices=[30, 60, 90]),
        "governing_city": leaf("terms", "text", ["Governing Law"], faker="city"),
    }),
}

BOILERPLATE = ("Each party shall perform its obligations under this Agreement with reasonable skill, care and "
               "diligence, in accordance with good industry practice and all applicable laws and regulations. ")

AGREEMENT_LAYOUTS = {
    "services": {"page": {"one_of": ["letter", "a4"]}, "fonts": ["Times-Roman", "Helvetica"], "size": [10, 11],
                 "margin": [54, 66], "blocks": [
        {"type": "heading", "text": {"one_of": ["SERVICES AGREEMENT", "Agreement for Services"]}, "align": "center"},
        {"type": "paragraph", "text": "Agreement No. {agreement_number}"},
        {"type": "paragraph", "text": (
            "This Services Agreement is made on {signing_date} between {parties[0].name}, of {parties[0].address} "
            "(the \"Client\"), and {parties[1].name}, of {parties[1].address} (the \"Provider\"). It takes "
            "effect on {effective_date}.")},
        {"type": "clause", "heading": "Services", "text": "The Provider shall supply the services described in "
         "the schedule. " + BOILERPLATE * 2},
        {"type": "clause", "heading": "Term", "text": "This Agreement runs for {term_months} months from the "
         "effective date and renews for the same period unless terminated. " + BOILERPLATE},
        {"type": "clause", "heading": "Fees and payment", "text": "The Client shall pay the Provider a fee of "
         "{fee}, invoiced monthly and payable within {payment_days} days of the invoice date. " + BOILERPLATE},
        {"type": "clause", "heading": "Confidentiality", "text": BOILERPLATE * 4},
        {"type": "clause", "heading": "Liability", "text": BOILERPLATE * 4},
        {"type": "clause", "heading": "Termination", "text": "Either party may terminate this Agreement by giving "
         "{notice_days} days' written notice to the other party. " + BOILERPLATE * 2},
        {"type": "clause", "heading": "Governing law", "text": "This Agreement is governed by the laws in force "
         "in {governing_city}, whose courts have exclusive jurisdiction. " + BOILERPLATE * 2},
        {"type": "paragraph", "text": "Signed by the parties on the date first written above."},
        {"type": "signatures", "label": {"one_of": ["Signature", "Signed"]},
         "groups": [["parties.0.signatory", "parties.0.title"], ["parties.1.signatory", "parties.1.title"]]},
    ]},
}
