"""改派: staff move a file filed under the wrong unit (a bulk ingest under the wrong name, a unit that uploaded
another's letter) to the unit it belongs to.

The file is read again as the target unit's (its deadline, its quota), filed there as a new submission that
keeps the original upload and receipt time (superseding that unit's current version of the same form, as an
upload would), with its attachments and any decisions whose values still hold; the source row stays, marked
已改派 and pointing at the new one. The rules across files run again for both units.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.decisions import carry_decisions
from service.actions.intake import IntakeError, effective_status, file_submission, refresh_related
from service.actions.lifecycle import check, load, move
from service.forms.catalog import Catalog, catalog
from service.parse.pipeline import parse
from service.store import Store
from service.store.models import Attachment, Submission


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite keeps no offset; stored as UTC


def reassign(store: Store, submission_id: int, to_unit: str, actor: Actor, reason: str = "",
             cat: Catalog | None = None) -> int:
    """Move the submission to ``to_unit``; the id of its submission there."""
    cat = cat or catalog()
    with store.session() as s:
        sub = load(s, submission_id, actor)
        check(sub, "reassign", actor)
        campaign = cat.campaign(sub.campaign_id)
        units = {row["id"]: row["name"] for row in cat.entities(campaign.data.get("submitters", ""))}
        if to_unit not in units:
            raise IntakeError("REASSIGN_TARGET_UNKNOWN", unit=str(to_unit)[:60])
        if to_unit == sub.recommender_id:
            raise IntakeError("REASSIGN_SAME_UNIT", submission=sub.id, unit=units[to_unit])
        sha, name, received, source_unit = sub.sha256, sub.original_name, _utc(sub.received_at), sub.recommender_id
    result = parse(store.files.get(sha), name, campaign=campaign.id, received_at=received, cat=cat, submitter=to_unit)
    with store.session.begin() as s:
        sub = load(s, submission_id, actor)
        check(sub, "reassign", actor)  # again, inside the transaction that changes it
        there = s.scalar(select(Submission).where(Submission.campaign_id == sub.campaign_id,
                                                  Submission.recommender_id == to_unit, Submission.sha256 == sha))
        if there is not None:  # it was that unit's before (reassigned back): the same row comes back
            there.state, there.state_note, there.state_by, there.state_at = "", "", "", None
            there.status = effective_status(there, cat)
            new_id = there.id
        else:
            got = file_submission(s, store, result, sha=sha, upload_id=sub.upload_id, filename=name,
                                  campaign_id=sub.campaign_id, recommender_id=to_unit, uploader=actor.username,
                                  received=received, cat=cat)
            new = s.get(Submission, got.submission_id)
            for att in sub.attachments:
                new.attachments.append(Attachment(kind=att.kind, sha256=att.sha256, original_name=att.original_name,
                                                  media=att.media))
            s.flush()
            carry_decisions(s, sub, new, cat)
            new.status = effective_status(new, cat)
            new_id = new.id
        sub.reassigned_to = new_id
        move(s, sub, "reassign", actor, reason.strip(), cat, to=to_unit, submission=new_id)
    refresh_related(store, campaign.id, source_unit, cat)
    refresh_related(store, campaign.id, to_unit, cat)
    return new_id
