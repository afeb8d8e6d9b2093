"""Groups that must be on an eligible list (Liaoning's 14 groups), issued to them, with their lead school as
listed (rule kind ``eligible_group_fields``: per form, the fields that name a group). The list is the campaign's
``eligible_groups``, any reference list, named in messages by its own title."""

from __future__ import annotations

from typing import Any

from service.forms.names import normalize_name
from service.validate.rules.document import Document, title, values, where
from service.validate.rules.reference import entity_name, name_index


def check(doc: Document, spec: dict[str, list[str]]) -> None:
    """GROUP_NOT_ELIGIBLE (with the list), GROUP_NEAR_ELIGIBLE, ENTITY_MISMATCH, LEAD_SCHOOL_MISMATCH."""
    result = doc.result
    source = doc.campaign.data.get("eligible_groups")
    paths = spec.get(doc.form.id, [])
    if not source or not paths:
        return
    index = name_index(doc.cat, source)
    names = "、".join(r["name"] for r in doc.cat.entities(source))
    listed = doc.cat.list_title(source)
    for path in paths:
        for ipath, name in values(result.record, path):
            match = index.match(str(name))
            at = doc.at(ipath)
            if match.exact is None:
                if match.near:
                    result.add(doc.problem("GROUP_NEAR_ELIGIBLE", **at, candidates=[r["name"] for r in match.near],
                                           name=name, list=listed, near="、".join(r["name"] for r in match.near)))
                else:
                    result.add(doc.problem("GROUP_NOT_ELIGIBLE", **at, name=name, list=listed, names=names))
                continue
            row = match.exact
            if result.entity and result.entity != row.get("id"):
                result.add(doc.problem("ENTITY_MISMATCH", variant="group", **at,
                                       entity=entity_name(doc.cat, source, result.entity), name=name))
            _entity_fields_agree(doc, row)


def _entity_fields_agree(doc: Document, row: dict) -> None:
    """Fields prefilled from the reference row (e.g. 牵头学校) must still name the same units."""
    result, form = doc.result, doc.form
    spec = form.settings.get("entity", {})
    for path, attr in spec.get("prefill", {}).items():
        if attr == "name" or attr not in row or path not in result.record:
            continue
        expected, given = row[attr], result.record[path]
        if _name_set(expected) != _name_set(given):
            shown = "、".join(expected) if isinstance(expected, list) else expected
            written = "、".join(given) if isinstance(given, list) else given
            result.add(doc.problem("LEAD_SCHOOL_MISMATCH", path=path, title=title(form, path),
                                   where=where(result, path), written=written, listed=shown))


def _name_set(value: Any) -> set[str]:
    return {normalize_name(str(x)) for x in (value if isinstance(value, list) else [value])}
