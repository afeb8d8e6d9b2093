"""恢复: staff undo a 退回修改, 撤回 or 清除. The status is worked out again from the problems (and decisions) as
if the state had never been set; a version that a newer one has replaced cannot come back."""

from __future__ import annotations

from service.actions.actor import Actor
from service.actions.intake import IntakeError, refresh_related
from service.actions.lifecycle import check, load, move
from service.forms.catalog import Catalog, catalog
from service.store import Store


def restore(store: Store, submission_id: int, actor: Actor, reason: str = "", cat: Catalog | None = None) -> str:
    cat = cat or catalog()
    with store.session.begin() as s:
        sub = load(s, submission_id, actor)
        check(sub, "restore", actor)
        if not sub.is_current:
            raise IntakeError("RESTORE_SUPERSEDED", submission=sub.id, newer=sub.superseded_by)
        status = move(s, sub, "restore", actor, reason.strip(), cat)
        campaign_id, unit = sub.campaign_id, sub.recommender_id
    refresh_related(store, campaign_id, unit, cat)
    return status
