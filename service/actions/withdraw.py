"""撤回: a submission taken back. Its sender may do it until the deadline (with any extension it has), the staff
at any time. The original and its history stay; the file no longer counts for its unit, so the quota and the
rules across units run again. A staff member can restore it."""

from __future__ import annotations

import datetime as dt

from service.actions.actor import Actor
from service.actions.intake import IntakeError, refresh_related
from service.actions.lifecycle import check, load, move
from service.forms.catalog import Catalog, catalog
from service.store import Store
from service.store.models import utcnow
from service.validate.rules.deadline import deadline_day, deadline_of


def withdraw(store: Store, submission_id: int, actor: Actor, reason: str = "", *, now: dt.datetime | None = None,
             cat: Catalog | None = None) -> str:
    cat = cat or catalog()
    with store.session.begin() as s:
        sub = load(s, submission_id, actor)
        check(sub, "withdraw", actor)
        campaign = cat.campaign(sub.campaign_id)
        if not actor.is_staff and (now or utcnow()) > deadline_of(campaign, sub.recommender_id):
            raise IntakeError("WITHDRAW_PAST_DEADLINE", deadline=deadline_day(campaign, sub.recommender_id))
        status = move(s, sub, "withdraw", actor, reason.strip(), cat)
        campaign_id, unit = sub.campaign_id, sub.recommender_id
    refresh_related(store, campaign_id, unit, cat)
    return status
