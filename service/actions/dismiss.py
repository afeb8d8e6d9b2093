"""清除: an upload that is not a submission of its unit (unreadable, or refused for who sent it) put aside. The
bytes and the upload row stay; it leaves the unit's lists and the dashboard. Staff can restore it."""

from __future__ import annotations

from service.actions.actor import Actor
from service.actions.lifecycle import check, load, move
from service.forms.catalog import Catalog, catalog
from service.store import Store


def dismiss(store: Store, submission_id: int, actor: Actor, reason: str = "", cat: Catalog | None = None) -> str:
    cat = cat or catalog()
    with store.session.begin() as s:
        sub = load(s, submission_id, actor)
        check(sub, "dismiss", actor)
        return move(s, sub, "dismiss", actor, reason.strip(), cat)
