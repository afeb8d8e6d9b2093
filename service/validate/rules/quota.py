"""How many groups a recommender may put forward, by its type (rule kind ``quota``): the rows of its list
(``list_form``), and the 推荐书 it sent (``count_form``, checked over its files together)."""

from __future__ import annotations

from typing import Any

from service.forms.catalog import Campaign, Catalog
from service.forms.names import normalize_name
from service.problems.report import ParseResult
from service.validate.rules.document import Document, campaign_problem
from service.validate.rules.recommender import recommender_of


def quota_of(cat: Catalog, campaign: Campaign, record: dict) -> tuple[int, str] | None:
    """(quota, type label) of the record's recommender, or None when it is not on the list."""
    row = recommender_of(cat, campaign, record)
    if row is None:
        return None
    rtype = campaign.recommender_type(row.get("type", ""))
    return (rtype["quota"], rtype["label"]) if rtype else None


def check_list(doc: Document, spec: dict[str, Any]) -> None:
    """QUOTA_EXCEEDED when the list form has more rows than the recommender's quota."""
    if spec.get("list_form") != doc.form.id:
        return
    quota = quota_of(doc.cat, doc.campaign, doc.record)
    items = doc.record.get(spec["list"]) or []
    if quota and len(items) > quota[0]:
        doc.result.add(doc.problem("QUOTA_EXCEEDED", path=spec["list"], kind=quota[1], quota=quota[0],
                                   count=len(items)))


def check_letters(files: list[ParseResult], cat: Catalog, campaign: Campaign, spec: dict[str, Any]) -> None:
    """QUOTA_EXCEEDED on every letter when one recommender sent letters for more groups than its quota."""
    letters = [f for f in files if f.form == spec["count_form"]]
    if not letters:
        return
    quota = quota_of(cat, campaign, letters[0].record)
    groups = {normalize_name(str(f.record.get("group_name", ""))) for f in letters}
    if quota and len(groups) > quota[0]:
        for f in letters:
            f.add(campaign_problem(campaign, "QUOTA_EXCEEDED", variant="letters", kind=quota[1], quota=quota[0]))
