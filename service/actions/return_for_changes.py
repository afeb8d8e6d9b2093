"""退回修改: staff send a submission back to its unit with a message saying what to change. The unit sees the
message on its report and in the marked copy; its next version of the same form replaces this one (and carries
over the decisions whose values did not change)."""

from __future__ import annotations

from service.actions.actor import Actor
from service.actions.intake import IntakeError, refresh_related
from service.actions.lifecycle import check, load, move
from service.forms.catalog import Catalog, catalog
from service.store import Store

MAX_MESSAGE = 2000


def return_for_changes(store: Store, submission_id: int, actor: Actor, message: str,
                       cat: Catalog | None = None) -> str:
    cat = cat or catalog()
    message = (message or "").strip()
    if not message:
        raise IntakeError("RETURN_MESSAGE_REQUIRED")
    if len(message) > MAX_MESSAGE:
        raise IntakeError("COMMENT_TOO_LONG", limit=MAX_MESSAGE, length=len(message))
    with store.session.begin() as s:
        sub = load(s, submission_id, actor)
        check(sub, "return", actor)
        status = move(s, sub, "return", actor, message, cat)
        campaign_id, unit = sub.campaign_id, sub.recommender_id
    refresh_related(store, campaign_id, unit, cat)
    return status
