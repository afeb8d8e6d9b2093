"""The 推荐排序名单 and the 汇总表 made from the letters.

A recommender puts its current 推荐书 in order (the notice asks for a ranked list); the platform then fills the
推荐名单汇总表 from them, one row per letter in that order (group, lead units, founding date, member count, legal
person, contact taken from the letter as it now stands, decisions applied), for the unit to check, stamp and send
back. The order is kept by group, so a new version of a letter keeps its place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.shapes import submission_summary
from service.forms.catalog import Catalog, catalog
from service.render.form import render
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import COUNTED
from service.store.models import LetterOrder, Submission, utcnow


def _forms(cat: Catalog, campaign_id: str) -> tuple[str, str]:
    """(the letter form, the ranked-list form) of a campaign that has both, else SUMMARY_NOT_AVAILABLE."""
    if campaign_id not in cat.campaigns:
        raise IntakeError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    rules = cat.campaign(campaign_id).data.get("rules", {})
    letter, table = (rules.get("quota") or {}).get("count_form"), (rules.get("ranking") or {}).get("form")
    if not letter or not table:
        raise IntakeError("SUMMARY_NOT_AVAILABLE", campaign=campaign_id)
    return letter, table


def _unit(actor: Actor, unit: str | None) -> str:
    """The unit whose letters are ordered: a recommender's own; staff name one."""
    if actor.is_staff:
        if not unit:
            raise IntakeError("RECOMMENDER_REQUIRED")
        return unit
    if unit and unit != actor.entity_id:
        raise IntakeError("SUBMISSION_NOT_FOUND", submission=unit)
    return actor.entity_id or ""


def ordered_letters(store: Store, campaign_id: str, actor: Actor, unit: str | None = None,
                    cat: Catalog | None = None) -> list[Submission]:
    """The unit's current, counted letters: in its saved order, then any not yet placed (oldest first)."""
    cat = cat or catalog()
    letter_form, _ = _forms(cat, campaign_id)
    unit = _unit(actor, unit)
    with store.session() as s:
        letters = list(s.scalars(select(Submission).where(
            Submission.campaign_id == campaign_id, Submission.recommender_id == unit,
            Submission.form_id == letter_form, Submission.is_current.is_(True),
            Submission.status.in_(sorted(COUNTED))).order_by(Submission.id)))
        saved = s.get(LetterOrder, (campaign_id, unit))
        keys = saved.entity_keys if saved else []
    place = {key: i for i, key in enumerate(keys)}
    return sorted(letters, key=lambda x: (place.get(x.entity_key, len(place)), x.id))


def letter_order(store: Store, campaign_id: str, actor: Actor, unit: str | None = None,
                 cat: Catalog | None = None) -> dict[str, Any]:
    cat = cat or catalog()
    letters = ordered_letters(store, campaign_id, actor, unit, cat)
    return {"campaign": campaign_id, "recommender": _unit(actor, unit),
            "letters": [{"rank": i + 1, **submission_summary(x, cat)} for i, x in enumerate(letters)]}


def set_letter_order(store: Store, campaign_id: str, actor: Actor, submission_ids: list[int],
                     unit: str | None = None, cat: Catalog | None = None) -> dict[str, Any]:
    """Save the order (every current letter once, first is rank 1); audited once."""
    cat = cat or catalog()
    unit = _unit(actor, unit)
    letters = {x.id: x for x in ordered_letters(store, campaign_id, actor, unit, cat)}
    if sorted(submission_ids) != sorted(letters) or len(set(submission_ids)) != len(submission_ids):
        raise IntakeError("LETTER_ORDER_INVALID")
    keys = [letters[i].entity_key for i in submission_ids]
    with store.session.begin() as s:
        row = s.get(LetterOrder, (campaign_id, unit))
        if row is None:
            row = LetterOrder(campaign_id=campaign_id, recommender_id=unit)
            s.add(row)
        row.entity_keys, row.updated_by, row.updated_at = keys, actor.username, utcnow()
        audit(s, actor.username, "order_letters", f"recommender:{unit}", campaign=campaign_id,
              submissions=submission_ids)
    return letter_order(store, campaign_id, actor, unit, cat)


def _row(rank: int, record: dict[str, Any]) -> dict[str, Any]:
    """A 汇总表 row from a letter's record (as it now stands)."""
    lead = record.get("lead_units")
    phone = record.get("contact_phone") or record.get("contact_mobile")
    row = {"rank": rank, "group_name": record.get("group_name"),
           "lead_units": "、".join(lead) if isinstance(lead, list) else lead, "founded": record.get("founded"),
           "member_count": record.get("members_total"), "legal_person": record.get("legal_person"),
           "contact_name": record.get("contact_name"), "contact_phone": phone}
    return {k: v for k, v in row.items() if v not in (None, "")}


def prefilled_summary(store: Store, campaign_id: str, actor: Actor, unit: str | None = None,
                      cat: Catalog | None = None) -> tuple[bytes, str]:
    """The 推荐名单汇总表 filled from the unit's letters in its order: (xlsx bytes, file name)."""
    cat = cat or catalog()
    _, table_form = _forms(cat, campaign_id)
    unit = _unit(actor, unit)
    letters = ordered_letters(store, campaign_id, actor, unit, cat)
    record = {"rows": [_row(i + 1, x.record) for i, x in enumerate(letters)]}
    rendered = render(campaign_id, table_form, record, entity_id=unit, cat=cat)
    with store.session.begin() as s:
        audit(s, actor.username, "download_prefilled_summary", f"recommender:{unit}", campaign=campaign_id,
              letters=[x.id for x in letters])
    return rendered.content, rendered.filename
