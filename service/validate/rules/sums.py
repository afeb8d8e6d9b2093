"""A total equals the sum of its parts (rule kind ``sums``: per form, the total field and its part fields)."""

from __future__ import annotations

from typing import Any

from service.validate.rules.document import Document, title, where


def check(doc: Document, specs: list[dict[str, Any]]) -> None:
    """SUM_MISMATCH when every part is a number and they do not add up to the total."""
    record, form = doc.record, doc.form
    for spec in specs:
        if spec.get("form") != form.id:
            continue
        total = record.get(spec["total"])
        parts = [record.get(p) for p in spec["parts"]]
        if not isinstance(total, int) or not all(isinstance(p, int) for p in parts):
            continue
        if sum(parts) != total:
            doc.result.add(doc.problem("SUM_MISMATCH", path=spec["total"], title=title(form, spec["total"]),
                                   where=where(doc.result, spec["total"]), total=total, sum=sum(parts),
                                   parts="+".join(title(form, p) for p in spec["parts"])))
