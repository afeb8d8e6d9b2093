"""Ranks in a list run 1, 2, 3 … without gaps or repeats (rule kind ``ranking``: the form and its rank field)."""

from __future__ import annotations

from typing import Any

from service.validate.rules.document import Document, title, values


def check(doc: Document, spec: dict[str, Any]) -> None:
    """RANK_SEQUENCE, naming repeated ranks when there are any."""
    if spec.get("form") != doc.form.id:
        return
    ranks = [v for _p, v in values(doc.record, spec["field"]) if isinstance(v, int)]
    if not ranks:
        return
    expected = list(range(1, len(ranks) + 1))
    if sorted(ranks) != expected:
        dup = sorted({r for r in ranks if ranks.count(r) > 1})
        repeated = {"variant": "duplicates", "duplicates": "、".join(map(str, dup))} if dup else {}
        doc.result.add(doc.problem("RANK_SEQUENCE", path=spec["field"].split("[]")[0],
                                   title=title(doc.form, spec["field"]), count=len(ranks),
                                   ranks="、".join(map(str, ranks)), **repeated))
