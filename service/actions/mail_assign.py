"""Mail in, the staff's side: which units may send files (and to which campaigns), an e-mail whose sender's address
belongs to no unit assigned to one by a staff member, and the messages as the staff's page lists them.

Assigning records the decision (audited once, with the staff member); the files of the message are then received
for that unit by :func:`service.jobs.mailin.take`, which the surfaces call right after, and which the next
``flask mail fetch`` runs for any assigned message whose files are not received yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.shapes import PAGES, iso
from service.forms.catalog import Catalog, catalog
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import label
from service.store.models import MailMessage

STATES = {"taken": "已收取", "unassigned": "待指定单位", "assigned": "已指定单位", "failed": "未能收取"}
REPLIES = {"": "不回信", "held": "待收取后回信", "pending": "待发送", "sending": "发送中", "sent": "已回信",
           "failed": "回信发送失败"}


def unit_campaigns(unit_id: str, cat: Catalog | None = None) -> list[str]:
    """The campaigns whose submitters list holds the unit, in the catalogue's order."""
    cat = cat or catalog()
    return [c.id for c in cat.campaigns.values()
            if any(row.get("id") == unit_id for row in cat.entities(c.data.get("submitters", "")))]


def submitter_units(cat: Catalog | None = None) -> dict[str, str]:
    """Every unit that sends files to some campaign: id → name."""
    cat = cat or catalog()
    units: dict[str, str] = {}
    for c in cat.campaigns.values():
        for row in cat.entities(c.data.get("submitters", "")):
            if row.get("id"):
                units.setdefault(row["id"], row["name"])
    return units


def assign(store: Store, actor: Actor, mail_id: int, unit_id: str, cat: Catalog | None = None) -> None:
    """Staff say which unit an unassigned message is from; its files are received for that unit next."""
    if not actor.is_staff:
        raise IntakeError("STATE_FORBIDDEN", action="为邮件指定单位")
    units = submitter_units(cat)
    if unit_id not in units:
        raise IntakeError("MAIL_UNIT_UNKNOWN", unit=str(unit_id)[:60])
    with store.session.begin() as s:
        row = s.get(MailMessage, mail_id)
        if row is None:
            raise IntakeError("MAIL_NOT_FOUND", mail=mail_id)
        # One statement decides, so two staff members assigning the same message at once assign it once.
        done = s.execute(update(MailMessage).where(MailMessage.id == mail_id, MailMessage.state == "unassigned")
                         .values(state="assigned", unit=unit_id, assigned_by=actor.username, error="")).rowcount
        if not done:
            s.refresh(row)
            raise IntakeError("MAIL_NOT_UNASSIGNED", mail=mail_id, state=STATES.get(row.state, row.state))
        audit(s, actor.username, "mail_assign", f"mail:{mail_id}", unit=unit_id, sender=row.sender)


def _result(item: dict[str, Any]) -> dict[str, Any]:
    sub = item.get("submission_id")
    return {**item, "status_label": label(item["status"]) if item.get("status") else "已作为附件收下",
            "link": f"{PAGES}/submissions/{sub}" if sub else ""}


def mail_shape(row: MailMessage, units: dict[str, str]) -> dict[str, Any]:
    """A message as the staff's page and its JSON twin show it."""
    return {"id": row.id, "message_id": row.message_id, "sender": row.sender, "sender_name": row.sender_name,
            "subject": row.subject, "received_at": iso(row.received_at), "state": row.state,
            "state_label": STATES.get(row.state, row.state), "unit": row.unit,
            "unit_name": units.get(row.unit or "", row.unit or ""), "assigned_by": row.assigned_by,
            "results": [_result(r) for r in row.results], "error": row.error, "taken": row.taken_at is not None,
            "reply_state": row.reply_state, "reply_label": REPLIES.get(row.reply_state, row.reply_state),
            "reply_error": row.reply_error}


def mail_rows(store: Store, limit: int = 300, cat: Catalog | None = None) -> list[dict[str, Any]]:
    """The latest messages, the ones waiting for a unit first."""
    units = submitter_units(cat)
    with store.session() as s:
        waiting = list(s.scalars(select(MailMessage).where(MailMessage.state == "unassigned")
                                 .order_by(MailMessage.received_at, MailMessage.id).limit(limit)))
        rest = list(s.scalars(select(MailMessage).where(MailMessage.state != "unassigned")
                              .order_by(MailMessage.id.desc()).limit(limit)))
        return [mail_shape(row, units) for row in waiting + rest]


def mail_row(store: Store, mail_id: int, cat: Catalog | None = None) -> dict[str, Any]:
    """One message as listed; IntakeError MAIL_NOT_FOUND when there is none."""
    with store.session() as s:
        row = s.get(MailMessage, mail_id)
        if row is None:
            raise IntakeError("MAIL_NOT_FOUND", mail=mail_id)
        return mail_shape(row, submitter_units(cat))
