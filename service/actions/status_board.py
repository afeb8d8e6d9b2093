"""Where every submitting unit of a campaign stands: its current submissions by status, the uploads that count for
no one, the forms it has not sent. One table for the staff dashboard and a supervisor's overview alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.shapes import submission_summary
from service.forms.catalog import Catalog, catalog
from service.store import Store
from service.store.lifecycle import COUNTED, UPLOADS
from service.store.models import Submission

# The statuses a unit's submissions count in (the board's columns); uploads that are not submissions
# (unreadable, misdirected) are counted apart, and withdrawn, dismissed or reassigned files not at all.
STATUSES = ("accepted", "needs_review", "late", "returned", "rejected")


def status_board(store: Store, campaign_id: str, actor: Actor, cat: Catalog | None = None,
                 with_submissions: bool = False) -> list[dict[str, Any]]:
    """One row per unit on the campaign's list: counts by status, uploads, late marks, missing forms (and, on
    request, the current submissions themselves). Staff and the campaign's supervisors may read it."""
    cat = cat or catalog()
    if campaign_id not in cat.campaigns:
        raise IntakeError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    if not (actor.is_staff or actor.supervises(campaign_id)):
        raise IntakeError("STATE_FORBIDDEN", action="查看各单位的报送情况")
    campaign = cat.campaign(campaign_id)
    with store.session() as s:
        subs = list(s.scalars(select(Submission).where(Submission.campaign_id == campaign_id,
                                                       Submission.is_current.is_(True)).order_by(Submission.id)))
    rows = []
    for entity in cat.entities(campaign.data.get("submitters", "")):
        everything = [x for x in subs if x.recommender_id == entity["id"]]
        mine = [x for x in everything if x.status in COUNTED]
        counts = {st: sum(1 for x in mine if x.status == st) for st in STATUSES}
        missing = [f.title.replace("示范性职业教育集团（联盟）", "") for f in campaign.forms.values()
                   if not any(x.form_id == f.id for x in mine)]
        row = {"id": entity["id"], "name": entity["name"], "submitted": len(mine), **counts,
               "uploads": sum(1 for x in everything if x.status in UPLOADS),
               "late_marks": sum(1 for x in mine if x.late), "missing": missing}
        if with_submissions:
            row["submissions"] = [submission_summary(x, cat) for x in mine]
        rows.append(row)
    return rows
