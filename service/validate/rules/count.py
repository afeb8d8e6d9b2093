"""How many items a field holds (rule kind ``count``): the rows of a table, the lines of a list, the names of a
text written with its separator (``x-separator``). Each rule names its form, ``field``, ``min`` and/or ``max``,
and may word its ``message``."""

from __future__ import annotations

from typing import Any

from service.validate.rules.document import Document


def items(doc: Document, path: str) -> int:
    """How many items the field at ``path`` holds (0 when nothing is written)."""
    value = doc.record.get(path)
    if isinstance(value, list):
        return len([v for v in value if v not in (None, "", {})])
    if isinstance(value, str) and value.strip():
        separator = next((f.separator for f in doc.form.fields if f.path == path), None)
        return len([v for v in value.split(separator) if v.strip()]) if separator else 1
    return 0 if value in (None, "") else 1


def check(doc: Document, specs: list[dict[str, Any]]) -> None:
    """RULE_COUNT when a field holds fewer than ``min`` or more than ``max`` items."""
    for spec in specs:
        if spec.get("form") != doc.form.id:
            continue
        count = items(doc, spec["field"])
        bounds = {"min": spec.get("min"), "max": spec.get("max")}
        if bounds["min"] is not None and count < bounds["min"]:
            variant, limit = "too_few", bounds["min"]
        elif bounds["max"] is not None and count > bounds["max"]:
            variant, limit = "too_many", bounds["max"]
        else:
            continue
        doc.result.add(doc.problem("RULE_COUNT", variant=variant, own=spec.get("message"), **doc.at(spec["field"]),
                                   limit=limit, count=count, more=bounds))
