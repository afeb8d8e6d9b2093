"""Whether a user may queue another job: a cap per user, so that no one can fill the queue (probe finding 5).

The runner's fair order (:func:`service.jobs.runner.fair_order`) bounds how long one user's jobs delay another's;
this cap bounds how many a user can have waiting at all. Checked where jobs are made, in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select

from service.actions.intake import IntakeError
from service.store.models import Job, User

UNFINISHED = ("queued", "spooling", "running")
MAX_WAITING = {"admin": 20}  # jobs a user may have unfinished at once, by role
MAX_WAITING_DEFAULT = 3


def admit(s, created_by: str) -> None:
    """Refuse a new job when its user already has as many unfinished jobs as the role allows (JOBS_QUEUE_FULL).

    Jobs started on the server's command line (no account: ``cli``) are the operator's and not capped."""
    role = s.scalar(select(User.role).where(User.username == created_by))
    if role is None:
        return
    limit = MAX_WAITING.get(role or "", MAX_WAITING_DEFAULT)
    waiting = s.scalar(select(func.count()).select_from(Job).where(Job.created_by == created_by,
                                                                   Job.state.in_(UNFINISHED)))
    if waiting >= limit:
        raise IntakeError("JOBS_QUEUE_FULL", limit=limit)
