"""Groups on a list that may not be put forward (the first batch of 示范性职业教育集团, a second batch …): refused,
a near name asked about (rule kind ``excluded_group_fields``: per form, the fields that name a group). The lists
are the campaign's ``excluded_groups`` (one or several); each is named in messages by its own title."""

from __future__ import annotations

from service.validate.rules.document import Document, values
from service.validate.rules.reference import name_index


def check(doc: Document, spec: dict[str, list[str]]) -> None:
    """GROUP_FIRST_BATCH for a group on one of the campaign's excluded lists, GROUP_FIRST_BATCH_NEAR for a near
    name; the first list that holds the name (or a near one) is the one named."""
    sources = doc.campaign.excluded_lists
    paths = spec.get(doc.form.id, [])
    if not sources or not paths:
        return
    for path in paths:
        for ipath, name in values(doc.record, path):
            matches = [(source, name_index(doc.cat, source).match(str(name))) for source in sources]
            exact = next(((s, m) for s, m in matches if m.exact is not None), None)
            if exact is not None:
                source, match = exact
                doc.result.add(doc.problem("GROUP_FIRST_BATCH", **doc.at(ipath), name=name,
                                           list=doc.cat.list_title(source), seq=match.exact.get("seq")))
                continue
            near = next(((s, m) for s, m in matches if m.near), None)
            if near is not None:
                source, match = near
                doc.result.add(doc.problem("GROUP_FIRST_BATCH_NEAR", **doc.at(ipath),
                                           candidates=[r["name"] for r in match.near], name=name,
                                           list=doc.cat.list_title(source),
                                           near="、".join(r["name"] for r in match.near)))
