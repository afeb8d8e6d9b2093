"""Groups on an excluded list (the first batch of 示范性职业教育集团 may not be recommended again): refused, a
near name asked about (rule kind ``excluded_group_fields``: per form, the fields that name a group)."""

from __future__ import annotations

from service.problems.report import problem
from service.validate.rules.document import Document, values
from service.validate.rules.reference import name_index


def check(doc: Document, spec: dict[str, list[str]]) -> None:
    """GROUP_FIRST_BATCH for a group on the campaign's ``excluded_groups`` list, GROUP_FIRST_BATCH_NEAR for a near name."""
    source = doc.campaign.data.get("excluded_groups")
    paths = spec.get(doc.form.id, [])
    if not source or not paths:
        return
    index = name_index(doc.cat, source)
    for path in paths:
        for ipath, name in values(doc.record, path):
            match = index.match(str(name))
            if match.exact is not None:
                doc.result.add(problem("GROUP_FIRST_BATCH", **doc.at(ipath), name=name, seq=match.exact.get("seq")))
            elif match.near:
                doc.result.add(problem("GROUP_FIRST_BATCH_NEAR", **doc.at(ipath),
                                       candidates=[r["name"] for r in match.near], name=name,
                                       near="、".join(r["name"] for r in match.near)))
