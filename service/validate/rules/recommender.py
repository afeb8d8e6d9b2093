"""The recommender a form names: on the campaign's list of submitters, the entity the form was issued to, of
the type it says (rule kind ``recommender``: the forms that name one, and which fields)."""

from __future__ import annotations

from typing import Any

from service.forms.catalog import Campaign, Catalog
from service.validate.rules.document import Document, title, where
from service.validate.rules.reference import entity_name, name_index


def recommender_of(cat: Catalog, campaign: Campaign, record: dict) -> dict | None:
    """The reference row of the record's recommender (by name), or None."""
    spec = campaign.data.get("rules", {}).get("recommender")
    source = campaign.data.get("submitters")
    if not spec or not source or source not in cat.reference:
        return None
    name = record.get(spec["name_field"])
    if not name:
        return None
    return name_index(cat, source).match(str(name)).exact


def check(doc: Document, spec: dict[str, Any]) -> None:
    """RECOMMENDER_UNKNOWN (with near names), ENTITY_MISMATCH, RECOMMENDER_TYPE_MISMATCH."""
    result, form = doc.result, doc.form
    if form.id not in spec.get("forms", []):
        return
    name = result.record.get(spec["name_field"])
    if not name:
        return
    source = doc.campaign.data["submitters"]
    match = name_index(doc.cat, source).match(str(name))
    at = doc.at(spec["name_field"])
    if match.exact is None:
        near = {"variant": "near", "near": "、".join(r["name"] for r in match.near)} if match.near else {}
        result.add(doc.problem("RECOMMENDER_UNKNOWN", **at, candidates=[r["name"] for r in match.near], name=name,
                               **near))
        return
    row = match.exact
    if result.entity and result.entity != row.get("id"):
        result.add(doc.problem("ENTITY_MISMATCH", **at, entity=entity_name(doc.cat, source, result.entity), name=name))
    rtype = doc.campaign.recommender_type(row.get("type", ""))
    type_value = result.record.get(spec.get("type_field", ""))
    if rtype and type_value and type_value != rtype["label"]:
        tpath = spec["type_field"]
        result.add(doc.problem("RECOMMENDER_TYPE_MISMATCH", path=tpath, title=title(form, tpath),
                               where=where(result, tpath), name=name, type=rtype["label"], written=type_value))
