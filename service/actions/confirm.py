"""批量确认: one document-level review item (逾期提交 above all: every upload to a past campaign is late) taken in
for a selection of submissions or a whole campaign, with one reason. Each submission gets its own decision row
(who, when, why), exactly as a one-by-one decision would; the action is audited once with what it covered."""

from __future__ import annotations

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.decisions import DOCUMENT_DECISION
from service.actions.intake import (
    IntakeError,
    acknowledged,
    attachment_problems,
    document_level,
    effective_status,
    refresh_related,
)
from service.actions.notices import notify_accepted
from service.forms.catalog import Catalog, catalog
from service.problems.catalogue import entry
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import COUNTED
from service.store.models import ReviewDecision, Submission


def confirm_items(store: Store, campaign_id: str, code: str, reason: str, actor: Actor,
                  submission_ids: list[int] | None = None, cat: Catalog | None = None) -> list[int]:
    """Accept the document-level item ``code`` on every current submission of the campaign that has it (or on
    those of ``submission_ids``); the ids confirmed."""
    cat = cat or catalog()
    if not actor.is_staff:
        raise IntakeError("STATE_FORBIDDEN", action="批量确认")
    if campaign_id not in cat.campaigns:
        raise IntakeError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    try:
        spec = entry(code)
    except LookupError:
        raise IntakeError("BULK_NOT_DOCUMENT_ITEM", code=str(code)[:60]) from None
    if spec.severity != "review" or code.startswith("FIELD_"):
        raise IntakeError("BULK_NOT_DOCUMENT_ITEM", code=code)
    reason = (reason or "").strip()
    if not reason:
        raise IntakeError("BULK_REASON_REQUIRED")
    done: list[int] = []
    units: set[str] = set()
    with store.session.begin() as s:
        query = select(Submission).where(Submission.campaign_id == campaign_id, Submission.is_current.is_(True),
                                         Submission.status.in_(sorted(COUNTED)))
        if submission_ids is not None:
            query = query.where(Submission.id.in_([i for i in submission_ids if isinstance(i, int)]))
        for sub in s.scalars(query.order_by(Submission.id)):
            items = [*sub.report.get("warnings", []), *sub.cross_problems, *attachment_problems(sub, cat)]
            if code in acknowledged(sub.report) or not any(document_level(p) and p["code"] == code for p in items):
                continue
            path = DOCUMENT_DECISION + code
            s.add(ReviewDecision(submission_id=sub.id, path=path, action="accept", original=None, value=None,
                                 note=reason, user=actor.username))
            sub.report = {**sub.report, "decisions": sorted({*sub.report.get("decisions", []), path})}
            sub.status = effective_status(sub, cat)
            notify_accepted(s, sub)
            done.append(sub.id)
            units.add(sub.recommender_id)
        audit(s, actor.username, "confirm", f"campaign:{campaign_id}", code=code, note=reason, submissions=done)
    for unit in sorted(units):
        refresh_related(store, campaign_id, unit, cat)
    return done
