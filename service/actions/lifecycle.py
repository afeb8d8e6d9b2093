"""The one place a submission changes state: the transition table (``service.store.lifecycle``) checked, the
actor's right checked, the state, who and why kept on the row, the status worked out again, one audit entry.

Each action (withdraw, dismiss, return_for_changes, reassign, restore) is its own module that calls :func:`move`;
the rules across files run again afterwards for every unit whose counts changed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.actions.actor import Actor
from service.actions.intake import IntakeError, effective_status
from service.actions.notices import notify_transition
from service.forms.catalog import Catalog
from service.store.audit import audit
from service.store.lifecycle import label, states, transitions
from service.store.models import Submission, utcnow


def load(s: Session, submission_id: int, actor: Actor, *, read_only: bool = False) -> Submission:
    """The submission if ``actor`` may act on it (or, ``read_only``, read it: a supervisor reads the units it
    supervises); SUBMISSION_NOT_FOUND otherwise (another unit's looks absent)."""
    sub = s.get(Submission, submission_id) if 0 < submission_id < 2**31 else None
    allowed = sub is not None and (actor.may_read(sub.campaign_id, sub.recommender_id) if read_only
                                   else actor.may_see(sub.recommender_id))
    if not allowed:
        raise IntakeError("SUBMISSION_NOT_FOUND", submission=submission_id)
    return sub


def check(sub: Submission, action: str, actor: Actor) -> None:
    """STATE_NOT_ALLOWED unless ``action`` may start from the submission's status; STATE_FORBIDDEN unless the
    actor is one the table names (staff, or the sender where the action allows it)."""
    t = transitions()[action]
    if sub.status not in t.sources:
        possible = [x.label for x in transitions().values() if sub.status in x.sources] or ["无"]
        raise IntakeError("STATE_NOT_ALLOWED", submission=sub.id, status=label(sub.status), action=t.label,
                          allowed="、".join(possible))
    sender = actor.role == "recommender" and actor.entity_id == sub.recommender_id
    if not (actor.is_staff and "admin" in t.by) and not (sender and t.by & {"sender", "sender_before_deadline"}):
        raise IntakeError("STATE_FORBIDDEN", action=t.label)


def move(s: Session, sub: Submission, action: str, actor: Actor, note: str = "", cat: Catalog | None = None,
         **detail: object) -> str:
    """Apply ``action`` (already checked) and audit it; the new status."""
    t = transitions()[action]
    before = sub.status
    sub.state = t.target or ""
    if t.target:
        sub.state_note, sub.state_by, sub.state_at = note, actor.username, utcnow()
    else:
        sub.state_note, sub.state_by, sub.state_at = "", "", None
    sub.status = sub.state if t.target else effective_status(sub, cat) if cat else before
    assert sub.status in states()
    audit(s, actor.username, action, f"submission:{sub.id}", before=before, after=sub.status, note=note, **detail)
    notify_transition(s, sub, action, actor, note)
    return sub.status
